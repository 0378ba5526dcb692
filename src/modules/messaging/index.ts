export { encodeCallContent } from './messaging.call-content.js';
export { pinsRoutes } from './messaging.pins.routes.js';
export { createMessagingRepository, type MessagingRepository } from './messaging.repository.js';
export { messagingRoutes } from './messaging.routes.js';
export { type AttachmentResolver, createMessagingService, type MessagingService, privateConversationId } from './messaging.service.js';
export { messagingSocket } from './messaging.socket.js';
export { encodeSystemContent } from './messaging.system-content.js';
export { createPinsRepository, type PinsRepository } from './pins.repository.js';
