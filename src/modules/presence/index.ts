export { type ChosenStatus, createPresenceService, type PresenceService } from './presence.service.js';
export { presenceSocket } from './presence.socket.js';
