export { createMessagingRepository, type MessagingRepository } from './messaging.repository.js';
export { createMessagingService, type MessagingService, type AttachmentResolver, privateConversationId } from './messaging.service.js';
export { messagingRoutes } from './messaging.routes.js';
export { messagingSocket } from './messaging.socket.js';
export { encodeCallContent } from './messaging.call-content.js';
export { createPinsRepository, type PinsRepository } from './pins.repository.js';
export { pinsRoutes } from './messaging.pins.routes.js';
export { encodeSystemContent } from './messaging.system-content.js';
