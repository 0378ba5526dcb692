import Type, { type Static } from 'typebox';
import { CallSummary } from './calls.js';
import { GroupRole } from './groups.js';
import { Page, PageQuery } from './paging.js';

/** Longest message content accepted, in characters (code points). */
export const MAX_CONTENT_CHARS = 10_000;

export const MessageType = Type.Union([
  Type.Literal('text'),
  Type.Literal('emoji'),
  Type.Literal('image'),
  Type.Literal('file'),
  Type.Literal('audio'),
  Type.Literal('video'),
  Type.Literal('call'),
  Type.Literal('system'),
]);
export type MessageType = Static<typeof MessageType>;

export const Attachment = Type.Object(
  {
    fileId: Type.String({ minLength: 1, maxLength: 64 }),
    filename: Type.Optional(Type.String({ maxLength: 255 })),
    contentType: Type.Optional(Type.String({ maxLength: 127 })),
    size: Type.Optional(Type.Integer({ minimum: 0 })),
    width: Type.Optional(Type.Integer({ minimum: 0 })),
    height: Type.Optional(Type.Integer({ minimum: 0 })),
    durationSec: Type.Optional(Type.Number({ minimum: 0 })),
    thumbnailUrl: Type.Optional(Type.String({ maxLength: 1024 })),
    // Closed like every payload: a misspelt field in a sent attachment is refused, not dropped.
  },
  { additionalProperties: false },
);
export type Attachment = Static<typeof Attachment>;

export const Reaction = Type.Object({ emoji: Type.String(), count: Type.Integer(), userIds: Type.Array(Type.String()) });
export type Reaction = Static<typeof Reaction>;

/**
 * What the server found at the first http(s) link of a message (Open Graph tags, else the page's
 * <title> and meta description). Fetched after the message was delivered and added by
 * `message_updated`; gone when the message is recalled or edited to another link.
 */
export const LinkPreview = Type.Object({
  /** The link as found in the message, normalised. */
  url: Type.String(),
  title: Type.Union([Type.String(), Type.Null()]),
  description: Type.Union([Type.String(), Type.Null()]),
  /**
   * og:image as an absolute http(s) URL. The server never fetches it; a client
   * loading it tells that site who reads the conversation (the reference web client does not).
   */
  image: Type.Union([Type.String(), Type.Null()]),
  /** og:site_name, when the page gives one. */
  siteName: Type.Union([Type.String(), Type.Null()]),
});
export type LinkPreview = Static<typeof LinkPreview>;

/** The origin of a forwarded message: the original sender (and their nickname then) and the original send time. */
export const ForwardedFrom = Type.Object({
  senderId: Type.String(),
  senderName: Type.String(),
  sentAt: Type.String({ format: 'date-time' }),
});
export type ForwardedFrom = Static<typeof ForwardedFrom>;
/** What a group `system` message records; clients word it in the reader's language. */
export const SystemEventKind = Type.Union([
  Type.Literal('group_created'),
  Type.Literal('member_added'),
  Type.Literal('member_joined'),
  Type.Literal('member_removed'),
  Type.Literal('member_left'),
  Type.Literal('role_changed'),
  Type.Literal('group_dissolved'),
  Type.Literal('message_removed'),
]);
export type SystemEventKind = Static<typeof SystemEventKind>;

/**
 * A group event as data: `actorId` did it (the creator, the adder, the one who left or accepted an
 * invitation), `userIds` are the members it concerns (empty when none), `role` the new role of
 * `role_changed`. `message_removed`: the owner or an admin (`actorId`) removed a message of `userIds[0]`.
 */
export const SystemEvent = Type.Object(
  {
    kind: SystemEventKind,
    actorId: Type.String(),
    userIds: Type.Array(Type.String()),
    role: Type.Optional(GroupRole),
  },
  { additionalProperties: false },
);
export type SystemEvent = Static<typeof SystemEvent>;

/**
 * Whom a text message mentions, resolved by the server when it is sent and again when it is
 * edited (clients never parse `@` themselves): `@username` of a member of the conversation (others
 * and the sender are ignored), and `@all` in a group when the sender may use it (MENTION_ALL).
 * A reader is mentioned when `all` is true or `userIds` holds their id (and they are not the sender).
 */
export const Mentions = Type.Object({
  /** Members mentioned by `@username`, in order of first appearance; never the sender. */
  userIds: Type.Array(Type.String()),
  /** `@all`: every member of the group but the sender is mentioned. */
  all: Type.Boolean(),
});
export type Mentions = Static<typeof Mentions>;

export const Message = Type.Object({
  id: Type.String(),
  conversationId: Type.String(),
  senderId: Type.String(),
  type: MessageType,
  /** Empty once the message is recalled. */
  content: Type.String(),
  clientMsgId: Type.String(),
  replyToId: Type.Union([Type.String(), Type.Null()]),
  attachments: Type.Array(Attachment),
  reactions: Type.Array(Reaction),
  createdAt: Type.String({ format: 'date-time' }),
  editedAt: Type.Union([Type.String({ format: 'date-time' }), Type.Null()]),
  recalledAt: Type.Union([Type.String({ format: 'date-time' }), Type.Null()]),
  /**
   * On `call` messages (not recalled): the call as data, for clients to render in their language.
   * `content` then holds an English summary of it, for clients that do not read this field.
   */
  call: Type.Optional(CallSummary),
  /** When the message was pinned in its conversation, and by whom; absent while it is not pinned. */
  pinnedAt: Type.Optional(Type.String({ format: 'date-time' })),
  pinnedBy: Type.Optional(Type.String()),
  /** On a forwarded message: whose message it copies and when that was sent (never where it was sent). */
  forwardedFrom: Type.Optional(ForwardedFrom),
  /** On text messages whose first link has a preview (see LinkPreview). */
  preview: Type.Optional(LinkPreview),
  /**
   * On `system` messages: the group event as data (no words in any language); `content` holds the
   * same object as JSON, for clients that do not read this field.
   */
  system: Type.Optional(SystemEvent),
  /** On text messages that mention someone (see Mentions); absent when they mention nobody, and once recalled. */
  mentions: Type.Optional(Mentions),
});
export type Message = Static<typeof Message>;

/**
 * A new message as the `chat` event delivers it: the message, plus `notify` for the receiving user
 * (whether it should alert them: their notification setting for the conversation, mentions, blocks;
 * see `PUT /conversations/:id/notifications`). Always false on the sender's own devices.
 */
export type MessageDelivery = Message & { notify?: boolean };

/** Body of the socket `chat` event and of `POST /conversations/:id/messages` (minus the id). */
export const SendMessage = Type.Object(
  {
    conversationId: Type.String({ minLength: 1, maxLength: 80 }),
    type: MessageType,
    // Length in characters is checked by the service (PAYLOAD_TOO_LARGE); this bound stops abuse early.
    content: Type.String({ maxLength: MAX_CONTENT_CHARS * 2 }),
    clientMsgId: Type.String({ minLength: 1, maxLength: 64 }),
    replyToId: Type.Optional(Type.String({ minLength: 1, maxLength: 20 })),
    attachments: Type.Optional(Type.Array(Attachment, { maxItems: 20 })),
  },
  { additionalProperties: false },
);
export type SendMessage = Static<typeof SendMessage>;
export const MessagePage = Page(Message);

/** A message id in paths, bodies and queries: the decimal string of an increasing integer. */
export const MessageIdString = Type.String({ pattern: '^[0-9]{1,19}$' });

/** REST send body: the socket `chat` payload without the conversation id (it is in the path). */
export const SendMessageBody = Type.Omit(SendMessage, ['conversationId']);
export type SendMessageBody = Static<typeof SendMessageBody>;

export const EditBody = Type.Object({ content: Type.String({ minLength: 1, maxLength: 20_000 }) }, { additionalProperties: false });
export type EditBody = Static<typeof EditBody>;

/** Newest first; `before` (a message id) starts below it, `cursor` continues; not both. */
export const SearchQuery = Type.Object({
  q: Type.String({ minLength: 1, maxLength: 200 }),
  conversationId: Type.Optional(Type.String({ minLength: 1, maxLength: 80 })),
  before: Type.Optional(MessageIdString),
  ...PageQuery,
});
export type SearchQuery = Static<typeof SearchQuery>;
