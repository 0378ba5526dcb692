export { createEndpointCheck } from './push.endpoint.js';
export { createPushRepository, type PushRepository } from './push.repository.js';
export { pushRoutes } from './push.routes.js';
export { createPushSender, type PushAnswer, type PushSend, type PushTarget, parseRetryAfter } from './push.sender.js';
export { createPushService, PUSH_TEXT_CHARS, type PushRetry, type PushService } from './push.service.js';
export { resolveVapidKeys, type VapidKeys } from './push.vapid.js';
