/**
 * Typed client SDK for Parley: REST calls and a Socket.IO connection whose events and acks are
 * typed by `src/contract`. Used by the tests and the web client; works in Node 20+ and browsers.
 */
export type { Ack, ErrorBody } from '../contract/errors.js';
export type * from '../contract/events.js';
export type * from '../contract/groups.js';
export type { Message, SendMessage, Attachment, Reaction, MessageType } from '../contract/messages.js';

export { API_PREFIX } from '../contract/api.js';
export * from './core.js';
export * from './rest.js';
export { streamAiReply, type AiStreamHandlers } from './ai.js';
