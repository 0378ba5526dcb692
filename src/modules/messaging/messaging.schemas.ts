import Type, { type Static } from 'typebox';
import { Message, SendMessage } from '../../contract/messages.js';
import { Id, IsoTime, PageQuery, User } from '../users/index.js';

export const GroupSummary = Type.Object({ id: Type.String(), name: Type.String(), memberCount: Type.Integer() });

export const Conversation = Type.Object({
  id: Type.String(),
  type: Type.Union([Type.Literal('private'), Type.Literal('group')]),
  peer: Type.Optional(User),
  group: Type.Optional(GroupSummary),
  lastMessage: Type.Union([Type.Null(), Message]),
  unreadCount: Type.Integer(),
  lastReadMessageId: Type.Union([Type.Null(), Type.String()]),
  updatedAt: IsoTime,
});
export type Conversation = Static<typeof Conversation>;

export const ConversationPage = Type.Object({ items: Type.Array(Conversation), nextCursor: Type.Union([Type.Null(), Type.String()]) });

/** Exactly one of the two (checked by the service). */
export const OpenConversationBody = Type.Object({ peerId: Type.Optional(Id), groupId: Type.Optional(Id) }, { additionalProperties: false });
export type OpenConversationBody = Static<typeof OpenConversationBody>;

const MessageIdString = Type.String({ pattern: '^[0-9]{1,19}$' });

/**
 * `cursor` (the previous page's nextCursor) continues a walk in the direction it started; `before`
 * or `after` (a message id) starts one: newest first below it, or oldest first above it. A cursor
 * already holds its position, so it is refused together with either.
 */
export const HistoryQuery = Type.Object({
  before: Type.Optional(MessageIdString),
  after: Type.Optional(MessageIdString),
  ...PageQuery,
});
export type HistoryQuery = Static<typeof HistoryQuery>;

export const MessagePage = Type.Object({ items: Type.Array(Message), nextCursor: Type.Union([Type.Null(), Type.String()]) });

/** REST send body: the socket `chat` payload without the conversation id (it is in the path). */
export const SendMessageBody = Type.Omit(SendMessage, ['conversationId']);
export type SendMessageBody = Static<typeof SendMessageBody>;

export const ReadBody = Type.Object({ messageId: MessageIdString }, { additionalProperties: false });
export const EditBody = Type.Object({ content: Type.String({ minLength: 1, maxLength: 20_000 }) }, { additionalProperties: false });

export const ConversationParams = Type.Object({ id: Type.String({ minLength: 1, maxLength: 80 }) });
export const MessageParams = Type.Object({ id: MessageIdString });
export const ReactionParams = Type.Object({ id: MessageIdString, emoji: Type.String({ minLength: 1, maxLength: 64 }) });

/** Newest first; `before` (a message id) starts below it, `cursor` continues; not both. */
export const SearchQuery = Type.Object({
  q: Type.String({ minLength: 1, maxLength: 200 }),
  conversationId: Type.Optional(Type.String({ minLength: 1, maxLength: 80 })),
  before: Type.Optional(MessageIdString),
  ...PageQuery,
});
export type SearchQuery = Static<typeof SearchQuery>;
export const ConversationListQuery = Type.Object({ ...PageQuery });
