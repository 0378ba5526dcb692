import Type, { type Static } from 'typebox';
import type { AiCancelPayload, AiChatAck, AiChatPayload, AiChunkEvent, AiDoneEvent, AiErrorEvent } from './ai.js';
import type {
  CallActionPayload,
  CallActionResult,
  CallPeerEvent,
  CallRequestEvent,
  CallRequestPayload,
  CallRequestResult,
  CallStateEvent,
  IceCandidateEvent,
  IceCandidatePayload,
  SdpEvent,
  SdpPayload,
} from './calls.js';
import type { Ack } from './errors.js';
import type { FileTransferEvent } from './files.js';
import type { FriendRequest } from './friends.js';
import type { GroupInvitationEvent, GroupRole } from './groups.js';
import { type Message, type MessageDelivery, SendMessage } from './messages.js';
import type { PresenceStatus } from './presence.js';
import type { UserUpdatedEvent } from './users.js';

export * from './ai.js';
export * from './calls.js';
export * from './files.js';

const ConversationId = Type.String({ minLength: 1, maxLength: 80 });
const MessageId = Type.String({ minLength: 1, maxLength: 20, pattern: '^[0-9]+$' });

export const TypingPayload = Type.Object({ conversationId: ConversationId, typing: Type.Boolean() }, { additionalProperties: false });
export type TypingPayload = Static<typeof TypingPayload>;

export const ReadPayload = Type.Object({ conversationId: ConversationId, messageId: MessageId }, { additionalProperties: false });
export type ReadPayload = Static<typeof ReadPayload>;

export const SetStatusPayload = Type.Object({ status: Type.Union([Type.Literal('online'), Type.Literal('away'), Type.Literal('invisible')]) }, { additionalProperties: false });
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

export type { PresenceStatus } from './presence.js';
export { SendMessage };

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
  role?: GroupRole;
  mutedUntil?: string | null;
}

/**
 * A friend request changed: sent (`pending`, to both users' devices), accepted (to both), rejected
 * (to the addressee's devices only: the sender is not told).
 */
export interface FriendRequestEvent {
  request: FriendRequest;
}

/** A friendship ended by unfriending (to both users' devices); `userId` is the other user. */
export interface FriendRemovedEvent {
  userId: string;
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
  /** Calls `toUserId`; the ack's state is `ringing`, or `missed`/`busy` when the call ended at once. */
  call_request: Handler<CallRequestPayload, CallRequestResult>;
  call_accept: Handler<CallActionPayload, CallActionResult>;
  call_reject: Handler<CallActionPayload, CallActionResult>;
  call_cancel: Handler<CallActionPayload, CallActionResult>;
  call_hangup: Handler<CallActionPayload, CallActionResult>;
  /** Relayed to the other party's call device only, once the call is accepted. */
  webrtc_offer: Handler<SdpPayload, null>;
  webrtc_answer: Handler<SdpPayload, null>;
  ice_candidate: Handler<IceCandidatePayload, null>;
  /** Asks the AI; the reply streams as `ai_chunk`… then `ai_done` or `ai_error` to the caller's devices. */
  ai_chat: Handler<AiChatPayload, AiChatAck>;
  /** Stops a reply in progress; it ends with `ai_error` code AI_CANCELLED. `cancelled` false: nothing was running. */
  ai_cancel: Handler<AiCancelPayload, { cancelled: boolean }>;
}

/** Events the server sends. */
export interface ServerToClientEvents {
  /** A new message; `notify` says whether it should alert the receiving user (see MessageDelivery). */
  chat: (message: MessageDelivery) => void;
  message_updated: (event: { message: Message }) => void;
  typing: (event: TypingEvent) => void;
  read: (event: ReadEvent) => void;
  user_status: (event: UserStatusEvent) => void;
  /**
   * A user changed their nickname, avatar, bio or status line: to their own devices and to everyone
   * who hears their presence (friends, group co-members; never across a block).
   */
  user_updated: (event: UserUpdatedEvent) => void;
  /** Group membership changed for the receiving user or in one of their groups. */
  group_member: (event: MembershipEvent) => void;
  /** An invitation to a group reached the receiving user, or was answered on one of their devices. */
  group_invitation: (event: GroupInvitationEvent) => void;
  friend_request: (event: FriendRequestEvent) => void;
  friend_removed: (event: FriendRemovedEvent) => void;
  /** The connection's session ended (logout, revocation); the socket is closed right after. */
  session_revoked: (event: { reason: string }) => void;
  /**
   * This server process is stopping (deploy, restart): events from now on are refused with
   * UNAVAILABLE, acks of events already running still arrive, then the connection closes without a
   * Socket.IO disconnect, so the client reconnects on its own (to another process behind a balancer)
   * and should `sync` to fetch what it missed.
   */
  server_shutdown: (event: { reason: string; reconnect: true }) => void;
  /** An incoming call, to every device of the callee. */
  call_request: (event: CallRequestEvent) => void;
  /** Every call transition, to every device of both parties. */
  call_state: (event: CallStateEvent) => void;
  /** A party's call device dropped (the call waits CALL_RECONNECT_GRACE seconds) or came back. */
  call_peer: (event: CallPeerEvent) => void;
  webrtc_offer: (event: SdpEvent) => void;
  webrtc_answer: (event: SdpEvent) => void;
  ice_candidate: (event: IceCandidateEvent) => void;
  /** Progress of the user's own tus uploads, to every device of the uploader. */
  file_transfer: (event: FileTransferEvent) => void;
  /** A piece of an AI reply, in order, to every device of the user who asked. */
  ai_chunk: (event: AiChunkEvent) => void;
  ai_done: (event: AiDoneEvent) => void;
  ai_error: (event: AiErrorEvent) => void;
}

export const CLIENT_EVENTS = [
  'chat',
  'typing',
  'read',
  'user_status',
  'sync',
  'auth_refresh',
  'call_request',
  'call_accept',
  'call_reject',
  'call_cancel',
  'call_hangup',
  'webrtc_offer',
  'webrtc_answer',
  'ice_candidate',
  'ai_chat',
  'ai_cancel',
] as const;
