export { createCallsRepository, type CallsRepository } from './calls.repository.js';
export { createCallsService, type CallsService } from './calls.service.js';
export { callsRoutes } from './calls.routes.js';
export { callsSocket } from './calls.socket.js';
export { turnCredential } from './turn.js';
