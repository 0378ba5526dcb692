import Type, { type Static } from 'typebox';
import { AiConversation, AiMessage, AiModel, AiModelId, AiModelList, AiProvider, AiUsage, MAX_AI_CONTENT_CHARS } from '../../contract/ai.js';
import { User } from '../users/index.js';

export { AiConversation, AiMessage, AiModel, AiModelList, AiProvider, AiUsage };

export const CreateConversationBody = Type.Object(
  {
    model: Type.Optional(AiModelId),
    title: Type.Optional(Type.String({ minLength: 1, maxLength: 200 })),
    systemPrompt: Type.Optional(Type.String({ minLength: 1, maxLength: 8000 })),
  },
  { additionalProperties: false },
);
export type CreateConversationBody = Static<typeof CreateConversationBody>;

export const ConversationListQuery = Type.Object({
  cursor: Type.Optional(Type.String({ minLength: 1, maxLength: 512 })),
  limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 200, default: 50 })),
});
export type ConversationListQuery = Static<typeof ConversationListQuery>;

export const ConversationPage = Type.Object({ items: Type.Array(AiConversation), nextCursor: Type.Union([Type.String(), Type.Null()]) });
/** An AI conversation's messages, newest first, paged like every list. */
export const MessageListQuery = ConversationListQuery;
export type MessageListQuery = Static<typeof MessageListQuery>;
export const MessagePage = Type.Object({ items: Type.Array(AiMessage), nextCursor: Type.Union([Type.String(), Type.Null()]) });

export const ConversationWithMessages = Type.Intersect([AiConversation, Type.Object({ messages: Type.Array(AiMessage) })]);

export const ConversationParams = Type.Object({ id: Type.String({ minLength: 1, maxLength: 36 }) });
export const RetryParams = Type.Object({ id: Type.String({ minLength: 1, maxLength: 36 }), messageId: Type.String({ pattern: '^[0-9]{1,18}$' }) });

export const AskBody = Type.Object(
  {
    content: Type.String({ minLength: 1, maxLength: MAX_AI_CONTENT_CHARS }),
    model: Type.Optional(AiModelId),
  },
  { additionalProperties: false },
);
export type AskBody = Static<typeof AskBody>;

export const RetryBody = Type.Object({ model: Type.Optional(AiModelId) }, { additionalProperties: false });
export type RetryBody = Static<typeof RetryBody>;

/** The whole reply, when the request did not ask for `text/event-stream`. */
export const ReplyResult = Type.Object({ userMessage: Type.Union([AiMessage, Type.Null()]), message: AiMessage, usage: AiUsage });

export const SuggestionsBody = Type.Object({ conversationId: Type.String({ minLength: 1, maxLength: 80 }), model: Type.Optional(AiModelId) }, { additionalProperties: false });
export const SuggestionsResult = Type.Object({ suggestions: Type.Array(Type.String(), { minItems: 3, maxItems: 3 }) });

export const AssistantInfo = Type.Object({ user: User, conversationId: Type.String() });
