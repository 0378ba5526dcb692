import {
  Bot,
  BotListQuery,
  BotPage,
  BotParams,
  BotTokenPage,
  BotTokenParams,
  ConversationHookParams,
  CreateBotBody,
  CreateBotTokenBody,
  CreatedBotToken,
  CreatedIncomingWebhook,
  CreatedWebhook,
  CreateIncomingWebhookBody,
  CreateWebhookBody,
  DeliveryListQuery,
  DeliveryParams,
  HookTokenParams,
  IncomingHookBody,
  IncomingHookParams,
  IncomingWebhookPage,
  WebhookDelivery,
  WebhookDeliveryPage,
  WebhookListQuery,
  WebhookPage,
  WebhookParams,
} from '../../contract/bots.js';
import { Message } from '../../contract/messages.js';
import { bearer, NoContent, responses } from '../../platform/http/route-helpers.js';
import type { HttpApp } from '../../platform/http/server.js';
import { actorOf } from '../../platform/http/server.js';
import { DEFAULT_PAGE_LIMIT } from '../../shared/pagination.js';
import type { BotsService } from './bots.service.js';
import type { IncomingService } from './incoming.service.js';
import type { WebhooksService } from './webhooks.service.js';

/** Bots and their tokens, outgoing webhooks and their delivery log, incoming webhooks (docs/webhooks.md). */
export function botsRoutes(bots: BotsService, webhooks: WebhooksService, incoming: IncomingService) {
  return async (app: HttpApp) => {
    const security = bearer;
    const auth = { preValidation: app.authenticate };

    app.post(
      '/bots',
      {
        ...auth,
        schema: { tags: ['bots'], security, summary: 'Create a bot account owned by the caller', body: CreateBotBody, response: responses({ 201: Bot }, [401, 403, 409]) },
      },
      async (request, reply) => reply.status(201).send(await bots.create(actorOf(request), request.body)),
    );
    app.get(
      '/bots',
      {
        ...auth,
        schema: { tags: ['bots'], security, summary: "The caller's bots, newest first (paged)", querystring: BotListQuery, response: responses({ 200: BotPage }, [401, 403]) },
      },
      async (request) => bots.list(actorOf(request), request.query.cursor, request.query.limit ?? DEFAULT_PAGE_LIMIT),
    );
    app.post(
      '/bots/:id/tokens',
      {
        ...auth,
        schema: {
          tags: ['bots'],
          security,
          summary: 'Issue a scoped API token for the bot (the secret is in this answer only)',
          params: BotParams,
          body: CreateBotTokenBody,
          response: responses({ 201: CreatedBotToken }, [401, 403, 404]),
        },
      },
      async (request, reply) => reply.status(201).send(await bots.createToken(actorOf(request), request.params.id, request.body)),
    );
    app.get(
      '/bots/:id/tokens',
      {
        ...auth,
        schema: {
          tags: ['bots'],
          security,
          summary: "The bot's tokens, without secrets (paged)",
          params: BotParams,
          querystring: BotListQuery,
          response: responses({ 200: BotTokenPage }, [401, 403, 404]),
        },
      },
      async (request) => bots.listTokens(actorOf(request), request.params.id, request.query.cursor, request.query.limit ?? DEFAULT_PAGE_LIMIT),
    );
    app.delete(
      '/bots/:id/tokens/:tokenId',
      {
        ...auth,
        schema: {
          tags: ['bots'],
          security,
          summary: 'Revoke a bot token (its sockets are disconnected)',
          params: BotTokenParams,
          response: responses({ 204: NoContent }, [401, 403, 404]),
        },
      },
      async (request, reply) => {
        await bots.revokeToken(actorOf(request), request.params.id, request.params.tokenId);
        return reply.status(204).send();
      },
    );

    app.post(
      '/webhooks',
      {
        ...auth,
        schema: {
          tags: ['webhooks'],
          security,
          summary: 'Subscribe a URL to events of conversations the caller administers (the secret is in this answer only)',
          body: CreateWebhookBody,
          response: responses({ 201: CreatedWebhook }, [401, 403, 404, 422]),
        },
      },
      async (request, reply) => reply.status(201).send(await webhooks.create(actorOf(request), request.body)),
    );
    app.get(
      '/webhooks',
      {
        ...auth,
        schema: { tags: ['webhooks'], security, summary: "The caller's webhooks (paged)", querystring: WebhookListQuery, response: responses({ 200: WebhookPage }, [401, 403]) },
      },
      async (request) => webhooks.list(actorOf(request), request.query.cursor, request.query.limit ?? DEFAULT_PAGE_LIMIT),
    );
    app.delete(
      '/webhooks/:id',
      {
        ...auth,
        schema: { tags: ['webhooks'], security, summary: 'Delete a webhook and its delivery log', params: WebhookParams, response: responses({ 204: NoContent }, [401, 403, 404]) },
      },
      async (request, reply) => {
        await webhooks.remove(actorOf(request), request.params.id);
        return reply.status(204).send();
      },
    );
    app.get(
      '/webhooks/:id/deliveries',
      {
        ...auth,
        schema: {
          tags: ['webhooks'],
          security,
          summary: 'The delivery log, newest first (paged)',
          params: WebhookParams,
          querystring: DeliveryListQuery,
          response: responses({ 200: WebhookDeliveryPage }, [401, 403, 404]),
        },
      },
      async (request) => webhooks.deliveries(actorOf(request), request.params.id, request.query.cursor, request.query.limit ?? DEFAULT_PAGE_LIMIT),
    );
    app.post(
      '/webhooks/:id/deliveries/:deliveryId/replay',
      {
        ...auth,
        schema: {
          tags: ['webhooks'],
          security,
          summary: 'Send a delivery again (same id and body)',
          params: DeliveryParams,
          response: responses({ 200: WebhookDelivery }, [401, 403, 404]),
        },
      },
      async (request) => webhooks.replay(actorOf(request), request.params.id, request.params.deliveryId),
    );

    app.post(
      '/conversations/:id/incoming-webhooks',
      {
        ...auth,
        schema: {
          tags: ['webhooks'],
          security,
          summary: 'Create an incoming webhook posting into this group as a new bot (owner, admins; the URL is in this answer only)',
          params: ConversationHookParams,
          body: CreateIncomingWebhookBody,
          response: responses({ 201: CreatedIncomingWebhook }, [401, 403, 404]),
        },
      },
      async (request, reply) => reply.status(201).send(await incoming.create(actorOf(request), request.params.id, request.body)),
    );
    app.get(
      '/conversations/:id/incoming-webhooks',
      {
        ...auth,
        schema: {
          tags: ['webhooks'],
          security,
          summary: "The group's incoming webhooks, revoked ones too (owner, admins; paged)",
          params: ConversationHookParams,
          querystring: WebhookListQuery,
          response: responses({ 200: IncomingWebhookPage }, [401, 403, 404]),
        },
      },
      async (request) => incoming.list(actorOf(request), request.params.id, request.query.cursor, request.query.limit ?? DEFAULT_PAGE_LIMIT),
    );
    app.delete(
      '/conversations/:id/incoming-webhooks/:hookId',
      {
        ...auth,
        schema: {
          tags: ['webhooks'],
          security,
          summary: 'Revoke an incoming webhook (owner, admins)',
          params: IncomingHookParams,
          response: responses({ 204: NoContent }, [401, 403, 404]),
        },
      },
      async (request, reply) => {
        await incoming.revoke(actorOf(request), request.params.id, request.params.hookId);
        return reply.status(204).send();
      },
    );
    app.post(
      '/hooks/:token',
      {
        schema: {
          tags: ['webhooks'],
          summary: 'Post text into the hook’s conversation as its bot (the secret URL is the credential)',
          params: HookTokenParams,
          body: IncomingHookBody,
          response: responses({ 201: Message }, [404, 429]),
        },
      },
      async (request, reply) => reply.status(201).send(await incoming.post(request.params.token, request.body.text)),
    );
  };
}
