import Type, { type Static } from 'typebox';
import type { Ack } from './errors.js';
import { type Message, SendMessage } from './messages.js';

const ConversationId = Type.String({ minLength: 1, maxLength: 80 });
const MessageId = Type.String({ minLength: 1, maxLength: 20, pattern: '^[0-9]+$' });

export const TypingPayload = Type.Object({ conversationId: ConversationId, typing: Type.Boolean() }, { additionalProperties: false });
export type TypingPayload = Static<typeof TypingPayload>;

export const ReadPayload = Type.Object({ conversationId: ConversationId, messageId: MessageId }, { additionalProperties: false });
export type ReadPayload = Static<typeof ReadPayload>;

export const SetStatusPayload = Type.Object(
  { status: Type.Union([Type.Literal('online'), Type.Literal('away'), Type.Literal('invisible')]) },
  { additionalProperties: false },
);
export type SetStatusPayload = Static<typeof SetStatusPayload>;

/** `since` maps conversation ids to the last message id the client holds ('0' for none). */
export const SyncPayload = Type.Object(
  {
    // TypeBox drops constraints on a Record's key schema: propertyNames is what bounds the keys.
    since: Type.Record(Type.String(), MessageId, { maxProperties: 500, propertyNames: { maxLength: 80 } }),
    limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 1000 })),
  },
  { additionalProperties: false },
);
export type SyncPayload = Static<typeof SyncPayload>;

export const RefreshTokenPayload = Type.Object({ token: Type.String({ minLength: 1, maxLength: 4096 }) }, { additionalProperties: false });
export type RefreshTokenPayload = Static<typeof RefreshTokenPayload>;

export { SendMessage };

export type PresenceStatus = 'online' | 'away' | 'offline';

export interface UserStatusEvent {
  userId: string;
  status: PresenceStatus;
  lastSeenAt: string | null;
}

export interface TypingEvent {
  conversationId: string;
  userId: string;
  typing: boolean;
}

export interface ReadEvent {
  conversationId: string;
  userId: string;
  messageId: string;
}

export interface SyncResult {
  /** Missed messages per conversation, oldest first. */
  messages: Record<string, Message[]>;
  /** Conversations with more missed messages than `limit`: page the rest with REST `after=`. */
  truncated: string[];
}

export interface MembershipEvent {
  groupId: string;
  conversationId: string;
  userId: string;
  change: 'added' | 'removed' | 'left' | 'dissolved' | 'role' | 'muted';
  role?: string;
  mutedUntil?: string | null;
}

type Handler<P, R> = (payload: P, ack: (response: Ack<R>) => void) => void;

/** Events a client sends; each takes one payload and an acknowledgement callback. */
export interface ClientToServerEvents {
  chat: Handler<SendMessage, Message>;
  typing: Handler<TypingPayload, null>;
  read: Handler<ReadPayload, null>;
  user_status: Handler<SetStatusPayload, { status: SetStatusPayload['status'] }>;
  sync: Handler<SyncPayload, SyncResult>;
  /** Replaces the connection's access token before it expires, keeping rooms and state. */
  auth_refresh: Handler<RefreshTokenPayload, { expiresAt: string }>;
}

/** Events the server sends. */
export interface ServerToClientEvents {
  chat: (message: Message) => void;
  message_updated: (event: { message: Message }) => void;
  typing: (event: TypingEvent) => void;
  read: (event: ReadEvent) => void;
  user_status: (event: UserStatusEvent) => void;
  /** Group membership changed for the receiving user or in one of their groups. */
  group_member: (event: MembershipEvent) => void;
  /** The connection's session ended (logout, revocation); the socket is closed right after. */
  session_revoked: (event: { reason: string }) => void;
}

export const CLIENT_EVENTS = ['chat', 'typing', 'read', 'user_status', 'sync', 'auth_refresh'] as const;
