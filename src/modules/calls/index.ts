export { type CallsRepository, createCallsRepository } from './calls.repository.js';
export { callsRoutes } from './calls.routes.js';
export { type CallsService, createCallsService } from './calls.service.js';
export { callsSocket } from './calls.socket.js';
export { turnCredential } from './turn.js';
