import { Message } from '../../contract/messages.js';
import { bearer, NoContent, responses } from '../../platform/http/route-helpers.js';
import type { HttpApp } from '../../platform/http/server.js';
import { actorOf } from '../../platform/http/server.js';
import { DEFAULT_PAGE_LIMIT } from '../../shared/pagination.js';
import {
  Conversation,
  ConversationListQuery,
  ConversationPage,
  ConversationParams,
  EditBody,
  HistoryQuery,
  MessagePage,
  MessageParams,
  OpenConversationBody,
  ReactionParams,
  ReadBody,
  ReadPositionPage,
  ReadPositionQuery,
  SearchQuery,
  SendMessageBody,
} from './messaging.schemas.js';
import type { MessagingService } from './messaging.service.js';

export function messagingRoutes(messaging: MessagingService) {
  return async (app: HttpApp) => {
    app.addHook('preValidation', app.authenticate);
    const security = bearer;

    app.get(
      '/conversations',
      {
        schema: {
          tags: ['conversations'],
          security,
          summary: "The caller's conversations, most recent first (paged)",
          querystring: ConversationListQuery,
          response: responses({ 200: ConversationPage }, [400, 401]),
        },
      },
      async (request) => messaging.list(actorOf(request), request.query.cursor, request.query.limit ?? DEFAULT_PAGE_LIMIT),
    );
    app.post(
      '/conversations',
      {
        schema: {
          tags: ['conversations'],
          security,
          summary: 'The conversation with a user (`peerId`) or of a group (`groupId`)',
          body: OpenConversationBody,
          response: responses({ 200: Conversation }, [401, 404]),
        },
      },
      async (request) => messaging.open(actorOf(request), request.body),
    );
    app.get(
      '/conversations/:id',
      { schema: { tags: ['conversations'], security, summary: 'One conversation', params: ConversationParams, response: responses({ 200: Conversation }, [401, 404]) } },
      async (request) => messaging.describe(actorOf(request), request.params.id),
    );
    app.get(
      '/conversations/:id/messages',
      {
        schema: {
          tags: ['conversations'],
          security,
          summary: 'History: newest first (or from a message id: below it with before=, oldest first above it with after=); go on with cursor=nextCursor',
          params: ConversationParams,
          querystring: HistoryQuery,
          response: responses({ 200: MessagePage }, [401, 404]),
        },
      },
      async (request) => messaging.history(actorOf(request), request.params.id, request.query),
    );
    app.post(
      '/conversations/:id/messages',
      {
        schema: {
          tags: ['conversations'],
          security,
          summary: 'Send a message (same as the socket `chat` event)',
          params: ConversationParams,
          body: SendMessageBody,
          response: responses({ 201: Message }, [401, 403, 404, 409, 413, 429]),
        },
      },
      async (request, reply) => reply.status(201).send(await messaging.send(actorOf(request), { ...request.body, conversationId: request.params.id })),
    );
    app.post(
      '/conversations/:id/read',
      {
        schema: {
          tags: ['conversations'],
          security,
          summary: 'Mark read up to a message',
          params: ConversationParams,
          body: ReadBody,
          response: responses({ 204: NoContent }, [401, 404]),
        },
      },
      async (request, reply) => {
        await messaging.markRead(actorOf(request), request.params.id, request.body.messageId);
        return reply.status(204).send();
      },
    );
    app.get(
      '/conversations/:id/reads',
      {
        schema: {
          tags: ['conversations'],
          security,
          summary: "The other members' read positions (the peer's in a private chat), by user id (paged)",
          params: ConversationParams,
          querystring: ReadPositionQuery,
          response: responses({ 200: ReadPositionPage }, [400, 401, 404]),
        },
      },
      async (request) => messaging.readPositions(actorOf(request), request.params.id, request.query),
    );
    app.get(
      '/messages/search',
      {
        schema: {
          tags: ['messages'],
          security,
          summary: "Search the caller's conversations",
          querystring: SearchQuery,
          response: responses({ 200: MessagePage }, [401, 404, 503]),
        },
      },
      async (request) => messaging.search(actorOf(request), request.query),
    );
    app.patch(
      '/messages/:id',
      {
        schema: {
          tags: ['messages'],
          security,
          summary: 'Edit own text message',
          params: MessageParams,
          body: EditBody,
          response: responses({ 200: Message }, [401, 403, 404, 409, 413]),
        },
      },
      async (request) => messaging.edit(actorOf(request), request.params.id, request.body.content),
    );
    app.delete(
      '/messages/:id',
      {
        schema: {
          tags: ['messages'],
          security,
          summary: 'Recall own message, or remove a member’s in a group the caller owns or administers',
          params: MessageParams,
          response: responses({ 200: Message }, [401, 403, 404, 409]),
        },
      },
      async (request) => messaging.recall(actorOf(request), request.params.id),
    );
    app.put(
      '/messages/:id/reactions/:emoji',
      {
        schema: {
          tags: ['messages'],
          security,
          summary: 'Add the caller’s reaction (URL-encode the emoji)',
          params: ReactionParams,
          response: responses({ 200: Message }, [401, 404, 409]),
        },
      },
      async (request) => messaging.react(actorOf(request), request.params.id, request.params.emoji, true),
    );
    app.delete(
      '/messages/:id/reactions/:emoji',
      { schema: { tags: ['messages'], security, summary: 'Remove the caller’s reaction', params: ReactionParams, response: responses({ 200: Message }, [401, 404]) } },
      async (request) => messaging.react(actorOf(request), request.params.id, request.params.emoji, false),
    );
  };
}
