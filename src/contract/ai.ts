import Type, { type Static } from 'typebox';
import type { ErrorBody } from './errors.js';
import { Page, PageQuery } from './paging.js';
import { User } from './users.js';

/**
 * A model as requests name it: `provider/model` as listed by `GET /ai/models`, or a provider name
 * alone (`deepseek`), which stands for that provider's default model.
 */
export const AiModelId = Type.String({
  minLength: 1,
  maxLength: 200,
  pattern: '^[^/\\s]+(/\\S+)?$',
  description: '`provider/model` as listed by `GET /ai/models`, or a provider name alone (`deepseek`) for its default model',
});

export const AiModel = Type.Object({
  id: Type.String({ description: '`provider/model`, what requests pass as `model`' }),
  provider: Type.String(),
  model: Type.String(),
  /** The model a request naming none uses. */
  default: Type.Boolean(),
});
export type AiModel = Static<typeof AiModel>;

export const AiProvider = Type.Object({
  /** What requests may pass alone as `model`. */
  name: Type.String({ description: 'Provider name; passed alone as `model` it means `defaultModel`' }),
  defaultModel: Type.String({ description: '`provider/model` used when a request names the provider alone' }),
  models: Type.Array(Type.String(), { description: 'Every `provider/model` this provider offers' }),
});
export type AiProvider = Static<typeof AiProvider>;

export const AiModelList = Type.Object({
  items: Type.Array(AiModel),
  /** `provider/model` used when neither the request nor the conversation names a model. */
  default: Type.String({ description: '`provider/model` used when neither the request nor the conversation names a model' }),
  providers: Type.Array(AiProvider),
});
export type AiModelList = Static<typeof AiModelList>;
/** Longest user message to the AI, in characters (the context budget usually bites first). */
export const MAX_AI_CONTENT_CHARS = 20_000;

export const AiUsage = Type.Object({
  inputTokens: Type.Integer(),
  outputTokens: Type.Integer(),
  totalTokens: Type.Integer(),
  /** True when the provider reported no usage and Parley estimated it (docs/protocol.md, token counting). */
  estimated: Type.Boolean(),
});
export type AiUsage = Static<typeof AiUsage>;

export const AiMessage = Type.Object({
  id: Type.String(),
  conversationId: Type.String(),
  role: Type.Union([Type.Literal('user'), Type.Literal('assistant')]),
  content: Type.String(),
  /** `streaming` while the reply is being written, then `complete`, or `failed` (retry it). */
  status: Type.Union([Type.Literal('streaming'), Type.Literal('complete'), Type.Literal('failed')]),
  model: Type.Union([Type.String(), Type.Null()]),
  error: Type.Union([Type.Object({ code: Type.String(), message: Type.String() }), Type.Null()]),
  usage: Type.Union([AiUsage, Type.Null()]),
  createdAt: Type.String(),
  completedAt: Type.Union([Type.String(), Type.Null()]),
});
export type AiMessage = Static<typeof AiMessage>;

export const AiConversation = Type.Object({
  id: Type.String(),
  title: Type.String(),
  /** Model used when a request names none; null: the server default. */
  model: Type.Union([Type.String(), Type.Null()]),
  systemPrompt: Type.Union([Type.String(), Type.Null()]),
  createdAt: Type.String(),
  updatedAt: Type.String(),
});
export type AiConversation = Static<typeof AiConversation>;

/** Socket `ai_chat`: without `conversationId` a new conversation is started. */
export const AiChatPayload = Type.Object(
  {
    conversationId: Type.Optional(Type.String({ minLength: 1, maxLength: 36 })),
    content: Type.String({ minLength: 1, maxLength: MAX_AI_CONTENT_CHARS }),
    model: Type.Optional(AiModelId),
  },
  { additionalProperties: false },
);
export type AiChatPayload = Static<typeof AiChatPayload>;

export const AiCancelPayload = Type.Object({ requestId: Type.String({ minLength: 1, maxLength: 64 }) }, { additionalProperties: false });
export type AiCancelPayload = Static<typeof AiCancelPayload>;

export interface AiChatAck {
  requestId: string;
  conversationId: string;
  /** The stored user message and the id of the assistant message being written. */
  userMessage: AiMessage;
  messageId: string;
}

export interface AiChunkEvent {
  requestId: string;
  conversationId: string;
  messageId: string;
  delta: string;
}

export interface AiDoneEvent {
  requestId: string;
  message: AiMessage;
  usage: AiUsage;
}

export interface AiErrorEvent {
  requestId: string;
  /** The failed assistant message id (retry it with `POST /ai/conversations/:id/messages/:messageId/retry`). */
  messageId: string;
  error: ErrorBody;
}

export const AiCreateConversationBody = Type.Object(
  {
    model: Type.Optional(AiModelId),
    title: Type.Optional(Type.String({ minLength: 1, maxLength: 200 })),
    systemPrompt: Type.Optional(Type.String({ minLength: 1, maxLength: 8000 })),
  },
  { additionalProperties: false },
);
export type AiCreateConversationBody = Static<typeof AiCreateConversationBody>;

export const AiConversationListQuery = Type.Object({
  cursor: Type.Optional(Type.String({ minLength: 1, maxLength: 512 })),
  limit: PageQuery.limit,
});
export type AiConversationListQuery = Static<typeof AiConversationListQuery>;
export const AiConversationPage = Page(AiConversation);

/** An AI conversation's messages, newest first, paged like every list. */
export const AiMessageListQuery = AiConversationListQuery;
export type AiMessageListQuery = Static<typeof AiMessageListQuery>;
export const AiMessagePage = Page(AiMessage);

/** `GET /ai/conversations/:id`: the conversation with its messages. */
export const AiConversationWithMessages = Type.Intersect([AiConversation, Type.Object({ messages: Type.Array(AiMessage) })]);
export type AiConversationWithMessages = Static<typeof AiConversationWithMessages>;

export const AiAskBody = Type.Object(
  {
    content: Type.String({ minLength: 1, maxLength: MAX_AI_CONTENT_CHARS }),
    model: Type.Optional(AiModelId),
  },
  { additionalProperties: false },
);
export type AiAskBody = Static<typeof AiAskBody>;

export const AiRetryBody = Type.Object({ model: Type.Optional(AiModelId) }, { additionalProperties: false });
export type AiRetryBody = Static<typeof AiRetryBody>;

/** The whole reply, when the request did not ask for `text/event-stream`. */
export const AiReplyResult = Type.Object({ userMessage: Type.Union([AiMessage, Type.Null()]), message: AiMessage, usage: AiUsage });
export type AiReplyResult = Static<typeof AiReplyResult>;

export const SuggestionsBody = Type.Object({ conversationId: Type.String({ minLength: 1, maxLength: 80 }), model: Type.Optional(AiModelId) }, { additionalProperties: false });
export type SuggestionsBody = Static<typeof SuggestionsBody>;
export const SuggestionsResult = Type.Object({ suggestions: Type.Array(Type.String(), { minItems: 3, maxItems: 3 }) });
export type SuggestionsResult = Static<typeof SuggestionsResult>;

/** `GET /ai/assistant`: the assistant's user and the caller's chat with it. */
export const AssistantInfo = Type.Object({ user: User, conversationId: Type.String() });
export type AssistantInfo = Static<typeof AssistantInfo>;
