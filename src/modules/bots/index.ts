export { type BotsRepository, createBotsRepository } from './bots.repository.js';
export { botsRoutes } from './bots.routes.js';
export { BOT_TOKEN_PREFIX, type BotsService, createBotsService } from './bots.service.js';
export { createIncomingService, type IncomingService } from './incoming.service.js';
export { createWebhooksService, type WebhooksService, webhookSignature } from './webhooks.service.js';
