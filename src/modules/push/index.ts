export { createPushRepository, type PushRepository } from './push.repository.js';
export { createPushService, type PushService, PUSH_TEXT_CHARS } from './push.service.js';
export { createPushSender, type PushSend, type PushTarget } from './push.sender.js';
export { createEndpointCheck } from './push.endpoint.js';
export { resolveVapidKeys, type VapidKeys } from './push.vapid.js';
export { pushRoutes } from './push.routes.js';
