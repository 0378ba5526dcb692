import Type, { type Static } from 'typebox';
import { Id } from './common.js';
import { Page, PageQuery } from './paging.js';
import { User } from './users.js';

/** Opaque call ids (UUIDs today); bounded so junk is refused early. */
const CallId = Type.String({ minLength: 1, maxLength: 64 });
const Reason = Type.String({ minLength: 1, maxLength: 64 });

export const CallMedia = Type.Union([Type.Literal('audio'), Type.Literal('video')]);
export type CallMedia = Static<typeof CallMedia>;

/** How a call ended: the final states. */
export const CallOutcome = Type.Union([Type.Literal('rejected'), Type.Literal('busy'), Type.Literal('missed'), Type.Literal('cancelled'), Type.Literal('ended')]);
export type CallOutcome = Static<typeof CallOutcome>;

/** States a call moves through; the last five are final. `answered_elsewhere` is sent, never stored. */
export const CallStateName = Type.Union([Type.Literal('ringing'), Type.Literal('accepted'), ...CallOutcome.anyOf]);
export type CallStateName = Static<typeof CallStateName>;
export type CallStateEventName = CallStateName | 'answered_elsewhere';
export const FINAL_CALL_STATES: readonly CallStateName[] = ['rejected', 'busy', 'missed', 'cancelled', 'ended'];

/**
 * What a `call` message says, as data: clients render it in their own language (`content` keeps
 * an English summary for clients that do not know this field: `calls.text.ts`).
 */
export const CallSummary = Type.Object({
  /** The call (for folded missed calls: the first of them). */
  callId: Type.String(),
  /** `missed` for several folded unanswered calls. */
  state: CallOutcome,
  media: CallMedia,
  /** Seconds between answer and end; 0 for a call that was never answered. */
  durationSec: Type.Integer({ minimum: 0 }),
  /** Unanswered calls folded into this message (1 for a single call). */
  count: Type.Integer({ minimum: 1 }),
});
export type CallSummary = Static<typeof CallSummary>;

export const CallRequestPayload = Type.Object({ toUserId: Type.String({ minLength: 1, maxLength: 36 }), media: CallMedia }, { additionalProperties: false });
export type CallRequestPayload = Static<typeof CallRequestPayload>;

/** `call_accept`, `call_reject`, `call_cancel`, `call_hangup`. */
export const CallActionPayload = Type.Object({ callId: CallId, reason: Type.Optional(Reason) }, { additionalProperties: false });
export type CallActionPayload = Static<typeof CallActionPayload>;

/** An SDP offer or answer; browsers' are a few KB, 64 KB leaves room for many tracks. */
export const SdpPayload = Type.Object({ callId: CallId, sdp: Type.String({ minLength: 1, maxLength: 65_536 }) }, { additionalProperties: false });
export type SdpPayload = Static<typeof SdpPayload>;

/** RTCIceCandidateInit as `RTCIceCandidate.toJSON()` gives it (an empty `candidate` ends the candidates). */
export const IceCandidate = Type.Object(
  {
    candidate: Type.String({ maxLength: 1024 }),
    sdpMid: Type.Optional(Type.Union([Type.String({ maxLength: 64 }), Type.Null()])),
    sdpMLineIndex: Type.Optional(Type.Union([Type.Integer({ minimum: 0, maximum: 1024 }), Type.Null()])),
    usernameFragment: Type.Optional(Type.Union([Type.String({ maxLength: 256 }), Type.Null()])),
  },
  { additionalProperties: false },
);
export type IceCandidate = Static<typeof IceCandidate>;

export const IceCandidatePayload = Type.Object({ callId: CallId, candidate: IceCandidate }, { additionalProperties: false });
export type IceCandidatePayload = Static<typeof IceCandidatePayload>;

/** The caller as the callee's devices see them on `call_request`. */
export interface CallParty {
  id: string;
  username: string;
  nickname: string;
  avatarUrl: string | null;
  isGuest: boolean;
}

export interface CallRequestEvent {
  callId: string;
  from: CallParty;
  media: CallMedia;
  /** When the call started ringing (ISO-8601). */
  startedAt: string;
}

export interface CallStateEvent {
  callId: string;
  state: CallStateEventName;
  /** The user whose action caused the transition (absent for timeouts and refusals by the server). */
  by?: string;
  reason?: string;
  /** Present on the first `ringing`: who calls whom, with what. */
  callerId?: string;
  calleeId?: string;
  media?: CallMedia;
  /** Seconds between answer and end, on `ended`. */
  durationSec?: number;
}

/** One side's device lost its connection during a call (`lost`) or came back in time (`resumed`). */
export interface CallPeerEvent {
  callId: string;
  userId: string;
  connection: 'lost' | 'resumed';
}

export interface SdpEvent {
  callId: string;
  sdp: string;
  from: string;
}

export interface IceCandidateEvent {
  callId: string;
  candidate: IceCandidate;
  from: string;
}

export interface CallRequestResult {
  callId: string;
  /** `ringing`, or already final: `missed` (callee offline) or `busy`. */
  state: CallStateName;
}

/** What the other call events acknowledge with: the call's state after the action. */
export interface CallActionResult {
  callId: string;
  state: CallStateName;
}

/** A call as `GET /calls` and `GET /calls/:id` show it to one of its parties. */
export const CallRecord = Type.Object({
  id: Type.String(),
  callerId: Type.String(),
  calleeId: Type.String(),
  /** The other party, as the caller of this route sees it. */
  peer: Type.Union([User, Type.Null()]),
  direction: Type.Union([Type.Literal('outgoing'), Type.Literal('incoming')]),
  media: CallMedia,
  /** `ringing` or `accepted` while the call goes on, then its final state. */
  state: CallStateName,
  /** Why it ended: `hangup`, `timeout`, `offline`, `busy`, `declined`, `connection_lost`, or what the client sent. */
  endReason: Type.Union([Type.String(), Type.Null()]),
  endedBy: Type.Union([Type.String(), Type.Null()]),
  startedAt: Type.String({ format: 'date-time' }),
  answeredAt: Type.Union([Type.String({ format: 'date-time' }), Type.Null()]),
  endedAt: Type.Union([Type.String({ format: 'date-time' }), Type.Null()]),
  /** Seconds between answer and end; 0 for a call that was never answered. */
  durationSec: Type.Integer({ minimum: 0 }),
  /** The `call` message the call left in the private conversation (its `clientMsgId` is `call:<id>`). */
  messageId: Type.Union([Type.String(), Type.Null()]),
});
export type CallRecord = Static<typeof CallRecord>;
export const CallPage = Page(CallRecord);
export const CallListQuery = Type.Object({ ...PageQuery });
export const CallParams = Type.Object({ id: Id });

export const IceServer = Type.Object({
  urls: Type.Array(Type.String()),
  username: Type.Optional(Type.String()),
  credential: Type.Optional(Type.String()),
});
export type IceServer = Static<typeof IceServer>;

/** `GET /calls/ice-servers`: STUN and TURN servers for RTCPeerConnection. */
export const IceServers = Type.Object({
  iceServers: Type.Array(IceServer),
  /** Seconds the TURN credential stays valid: fetch a new list before then. */
  ttl: Type.Integer(),
});
export type IceServers = Static<typeof IceServers>;
