export { createBotsRepository, type BotsRepository } from './bots.repository.js';
export { BOT_TOKEN_PREFIX, createBotsService, type BotsService } from './bots.service.js';
export { createWebhooksService, type WebhooksService, webhookSignature } from './webhooks.service.js';
export { createIncomingService, type IncomingService } from './incoming.service.js';
export { botsRoutes } from './bots.routes.js';
