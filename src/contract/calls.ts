import Type, { type Static } from 'typebox';

/** Opaque call ids (UUIDs today); bounded so junk is refused early. */
const CallId = Type.String({ minLength: 1, maxLength: 64 });
const Reason = Type.String({ minLength: 1, maxLength: 64 });

export const CallMedia = Type.Union([Type.Literal('audio'), Type.Literal('video')]);
export type CallMedia = Static<typeof CallMedia>;

/** States a call moves through; the last five are final. `answered_elsewhere` is sent, never stored. */
export type CallStateName = 'ringing' | 'accepted' | 'rejected' | 'busy' | 'missed' | 'cancelled' | 'ended';
export type CallStateEventName = CallStateName | 'answered_elsewhere';
export const FINAL_CALL_STATES: readonly CallStateName[] = ['rejected', 'busy', 'missed', 'cancelled', 'ended'];

export const CallRequestPayload = Type.Object(
  { toUserId: Type.String({ minLength: 1, maxLength: 36 }), media: CallMedia },
  { additionalProperties: false },
);
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
