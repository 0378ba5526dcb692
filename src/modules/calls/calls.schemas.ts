import Type from 'typebox';
import { CallRecord } from '../../contract/calls.js';
import { Id, PageQuery } from '../users/index.js';

export { CallRecord };

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
