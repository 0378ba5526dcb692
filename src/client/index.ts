/**
 * Typed client SDK for Parley: REST calls and a Socket.IO connection whose events and acks are
 * typed by `src/contract`. Used by the tests and the web client; works in Node 20+ and browsers.
 * Every wire type is the contract's (re-exported here as types only, so no schema code is bundled).
 */

export type * from '../contract/admin.js';
export { API_PREFIX } from '../contract/api.js';
export type * from '../contract/auth.js';
export type * from '../contract/bots.js';
export type * from '../contract/conversations.js';
export type { Ack, ErrorBody, ErrorCode } from '../contract/errors.js';
export type * from '../contract/events.js';
export type * from '../contract/friends.js';
export type * from '../contract/groups.js';
export type * from '../contract/invite-links.js';
export type * from '../contract/messages.js';
export type * from '../contract/paging.js';
export type * from '../contract/pins.js';
export type * from '../contract/presence.js';
export type * from '../contract/push.js';
export type * from '../contract/reports.js';
export type * from '../contract/users.js';
export { type AiStreamHandlers, streamAiReply } from './ai.js';
export * from './core.js';
export * from './mentions.js';
export * from './rest.js';
