import { Message } from '../../contract/messages.js';
import { ForwardBody, ForwardResult, PinnedPage, PinnedQuery } from '../../contract/pins.js';
import { bearer, responses } from '../../platform/http/route-helpers.js';
import type { HttpApp } from '../../platform/http/server.js';
import { actorOf } from '../../platform/http/server.js';
import { ConversationParams, MessageParams } from './messaging.schemas.js';
import type { MessagingService } from './messaging.service.js';

/** Pins (per message, listed per conversation) and forwarding. */
export function pinsRoutes(messaging: MessagingService) {
  return async (app: HttpApp) => {
    app.addHook('preValidation', app.authenticate);
    const security = bearer;

    app.get(
      '/conversations/:id/pins',
      {
        schema: {
          tags: ['conversations'],
          security,
          summary: 'Pinned messages of a conversation, most recently pinned first (paged)',
          params: ConversationParams,
          querystring: PinnedQuery,
          response: responses({ 200: PinnedPage }, [401, 404]),
        },
      },
      async (request) => messaging.pinned(actorOf(request), request.params.id, request.query),
    );
    app.put(
      '/messages/:id/pin',
      {
        schema: {
          tags: ['messages'],
          security,
          summary: 'Pin a message (private chats: either person; groups: the owner or an admin)',
          params: MessageParams,
          response: responses({ 200: Message }, [401, 403, 404, 409, 429]),
        },
      },
      async (request) => messaging.pin(actorOf(request), request.params.id),
    );
    app.delete(
      '/messages/:id/pin',
      {
        schema: { tags: ['messages'], security, summary: 'Unpin a message', params: MessageParams, response: responses({ 200: Message }, [401, 403, 404, 429]) },
      },
      async (request) => messaging.unpin(actorOf(request), request.params.id),
    );
    app.post(
      '/messages/forward',
      {
        schema: {
          tags: ['messages'],
          security,
          summary: 'Forward messages to conversations the caller may write to; the created messages record their origin',
          body: ForwardBody,
          response: responses({ 201: ForwardResult }, [401, 403, 404, 409, 429]),
        },
      },
      async (request, reply) => reply.status(201).send(await messaging.forward(actorOf(request), request.body)),
    );
  };
}
