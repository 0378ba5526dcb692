import Type from 'typebox';

// The wire types live in the contract, which the SDK shares; routes and services take them from here.
export {
  AiAskBody as AskBody,
  AiConversation,
  AiConversationListQuery as ConversationListQuery,
  AiConversationPage as ConversationPage,
  AiConversationWithMessages as ConversationWithMessages,
  AiCreateConversationBody as CreateConversationBody,
  AiMessage,
  AiMessageListQuery as MessageListQuery,
  AiMessagePage as MessagePage,
  AiModel,
  AiModelList,
  AiProvider,
  AiReplyResult as ReplyResult,
  AiRetryBody as RetryBody,
  AiUsage,
  AssistantInfo,
  SuggestionsBody,
  SuggestionsResult,
} from '../../contract/ai.js';

export const ConversationParams = Type.Object({ id: Type.String({ minLength: 1, maxLength: 36 }) });
export const RetryParams = Type.Object({ id: Type.String({ minLength: 1, maxLength: 36 }), messageId: Type.String({ pattern: '^[0-9]{1,18}$' }) });
