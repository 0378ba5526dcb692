export { createPresenceService, type PresenceService, type ChosenStatus } from './presence.service.js';
export { presenceSocket } from './presence.socket.js';
