import Type, { type Static } from 'typebox';
import { IsoTime } from './common.js';

/** What others see of a user's connection: `invisible` users show as `offline`. */
export const PresenceStatus = Type.Union([Type.Literal('online'), Type.Literal('away'), Type.Literal('offline')]);
export type PresenceStatus = Static<typeof PresenceStatus>;

export const Presence = Type.Object({ status: PresenceStatus, lastSeenAt: Type.Union([IsoTime, Type.Null()]) });
export type Presence = Static<typeof Presence>;
