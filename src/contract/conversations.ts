import Type, { type Static } from 'typebox';
import { Id, IsoTime } from './common.js';
import { GroupRole, GroupSummary } from './groups.js';
import { Message, MessageIdString } from './messages.js';
import { Page, PageQuery } from './paging.js';
import { User } from './users.js';

/** `unreadCount` is exact below this and equals it for this many or more: a client shows "99+". */
export const UNREAD_COUNT_CAP = 100;

/** What alerts the user in a conversation: every message from others, only mentions of them (or @all), or nothing. */
export const NotificationLevel = Type.Union([Type.Literal('all'), Type.Literal('mentions'), Type.Literal('none')]);
export type NotificationLevel = Static<typeof NotificationLevel>;

/** The caller's notification setting in a conversation; `until` (when set) is when it reverts to 'all'. */
export const NotificationSettings = Type.Object({
  level: NotificationLevel,
  /** Null: until changed. Always null for 'all'; a setting whose time has passed reads as `{level: 'all', until: null}`. */
  until: Type.Union([IsoTime, Type.Null()]),
});
export type NotificationSettings = Static<typeof NotificationSettings>;

/** Body of `PUT /conversations/:id/notifications`: `until` must lie in the future and is refused with 'all'. */
export const NotificationSettingsBody = Type.Object({ level: NotificationLevel, until: Type.Optional(IsoTime) }, { additionalProperties: false });
export type NotificationSettingsBody = Static<typeof NotificationSettingsBody>;

/** A chat as the caller's conversation list shows it: `peer` for private chats, `group` for groups. */
export const Conversation = Type.Object({
  id: Type.String(),
  type: Type.Union([Type.Literal('private'), Type.Literal('group')]),
  peer: Type.Optional(User),
  group: Type.Optional(GroupSummary),
  /** Groups: the caller's role, so a client offers what it allows (pins, removing others' messages, `@all`) and not what would be refused. */
  myRole: Type.Optional(GroupRole),
  lastMessage: Type.Union([Type.Null(), Message]),
  unreadCount: Type.Integer({
    minimum: 0,
    maximum: UNREAD_COUNT_CAP,
    description: 'Messages from others after the read position, recalled ones left out: exact up to 99, 100 means "99+".',
  }),
  unreadMentionCount: Type.Integer({
    minimum: 0,
    maximum: UNREAD_COUNT_CAP,
    description: 'Messages after the read position that mention the caller (by name or @all), capped like unreadCount.',
  }),
  /** The caller's notification setting here (see NotificationSettings). */
  notifications: NotificationSettings,
  lastReadMessageId: Type.Union([Type.Null(), Type.String()]),
  /**
   * Private chats: the newest message the peer has read, so a client shows "Read" after a reload
   * or on another device. Null in groups (see `GET /conversations/:id/reads`), before the peer has
   * read anything, and when the peer may not reach the caller (a block, friends-only).
   */
  peerLastReadMessageId: Type.Union([Type.Null(), Type.String()]),
  updatedAt: IsoTime,
});
export type Conversation = Static<typeof Conversation>;
export const ConversationPage = Page(Conversation);
export const ConversationListQuery = Type.Object({ ...PageQuery });

/** Exactly one of the two (checked by the service). */
export const OpenConversationBody = Type.Object({ peerId: Type.Optional(Id), groupId: Type.Optional(Id) }, { additionalProperties: false });
export type OpenConversationBody = Static<typeof OpenConversationBody>;

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

export const ReadBody = Type.Object({ messageId: MessageIdString }, { additionalProperties: false });
export type ReadBody = Static<typeof ReadBody>;

/** One other member's read position in a conversation: everything up to `lastReadMessageId` is read. */
export const ReadPosition = Type.Object({
  userId: Type.String(),
  lastReadMessageId: Type.String(),
  readAt: IsoTime,
});
export type ReadPosition = Static<typeof ReadPosition>;
/** Ordered by user id; the caller and members blocked either way with them are left out. */
export const ReadPositionPage = Page(ReadPosition);
export const ReadPositionQuery = Type.Object({ ...PageQuery });
export type ReadPositionQuery = Static<typeof ReadPositionQuery>;
