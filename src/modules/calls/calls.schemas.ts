import Type, { type Static } from 'typebox';
import { Id, IsoTime, PageQuery, User } from '../users/index.js';

const CallStateName = Type.Union([
  Type.Literal('ringing'),
  Type.Literal('accepted'),
  Type.Literal('rejected'),
  Type.Literal('busy'),
  Type.Literal('missed'),
  Type.Literal('cancelled'),
  Type.Literal('ended'),
]);

export const CallRecord = Type.Object({
  id: Type.String(),
  callerId: Type.String(),
  calleeId: Type.String(),
  /** The other party, as the caller of this route sees it. */
  peer: Type.Union([User, Type.Null()]),
  direction: Type.Union([Type.Literal('outgoing'), Type.Literal('incoming')]),
  media: Type.Union([Type.Literal('audio'), Type.Literal('video')]),
  /** `ringing` or `accepted` while the call goes on, then its final state. */
  state: CallStateName,
  /** Why it ended: `hangup`, `timeout`, `offline`, `busy`, `declined`, `connection_lost`, or what the client sent. */
  endReason: Type.Union([Type.String(), Type.Null()]),
  endedBy: Type.Union([Type.String(), Type.Null()]),
  startedAt: IsoTime,
  answeredAt: Type.Union([IsoTime, Type.Null()]),
  endedAt: Type.Union([IsoTime, Type.Null()]),
  /** Seconds between answer and end; 0 for a call that was never answered. */
  durationSec: Type.Integer({ minimum: 0 }),
  /** The `call` message the call left in the private conversation (its `clientMsgId` is `call:<id>`). */
  messageId: Type.Union([Type.String(), Type.Null()]),
});

export type CallRecord = Static<typeof CallRecord>;

export const CallPage = Type.Object({ items: Type.Array(CallRecord), nextCursor: Type.Union([Type.String(), Type.Null()]) });

export const CallListQuery = Type.Object({ ...PageQuery });

export const CallParams = Type.Object({ id: Id });

export const IceServer = Type.Object({
  urls: Type.Array(Type.String()),
  username: Type.Optional(Type.String()),
  credential: Type.Optional(Type.String()),
});

export const IceServers = Type.Object({
  iceServers: Type.Array(IceServer),
  /** Seconds the TURN credential stays valid: fetch a new list before then. */
  ttl: Type.Integer(),
});
