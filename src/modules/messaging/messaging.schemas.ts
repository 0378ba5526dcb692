import Type from 'typebox';
import { MessageIdString } from '../../contract/messages.js';

// The wire types live in the contract, which the SDK shares; routes and services take them from here.
export {
  Conversation,
  ConversationListQuery,
  ConversationPage,
  HistoryQuery,
  OpenConversationBody,
  ReadBody,
  ReadPositionPage,
  ReadPositionQuery,
} from '../../contract/conversations.js';
export { GroupSummary } from '../../contract/groups.js';
export { EditBody, MessagePage, SearchQuery, SendMessageBody } from '../../contract/messages.js';

export const ConversationParams = Type.Object({ id: Type.String({ minLength: 1, maxLength: 80 }) });
export const MessageParams = Type.Object({ id: MessageIdString });
export const ReactionParams = Type.Object({ id: MessageIdString, emoji: Type.String({ minLength: 1, maxLength: 64 }) });
