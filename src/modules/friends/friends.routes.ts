import { bearer, NoContent, responses } from '../../platform/http/route-helpers.js';
import type { HttpApp } from '../../platform/http/server.js';
import { actorOf } from '../../platform/http/server.js';
import { DEFAULT_PAGE_LIMIT } from '../../shared/pagination.js';
import {
  BlockBody,
  BlockedPage,
  BlockListQuery,
  FriendListQuery,
  FriendPage,
  FriendRequest,
  FriendRequestPage,
  FriendRequestQuery,
  RequestIdParam,
  SendFriendRequestBody,
  UserIdParam,
} from './friends.schemas.js';
import type { FriendsService } from './friends.service.js';

export function friendsRoutes(friends: FriendsService) {
  return async (app: HttpApp) => {
    // preValidation, not onRequest: the global rate limit (an onRequest hook) must count unauthenticated calls too.
    app.addHook('preValidation', app.authenticate);
    const tags = ['friends'];
    const security = bearer;

    app.get(
      '/friends',
      { schema: { tags, security, summary: "The caller's friends with presence", querystring: FriendListQuery, response: responses({ 200: FriendPage }, [401]) } },
      async (request) => friends.listFriends(actorOf(request), request.query.cursor, request.query.limit ?? DEFAULT_PAGE_LIMIT),
    );

    app.delete(
      '/friends/:userId',
      { schema: { tags, security, summary: 'Unfriend (both sides)', params: UserIdParam, response: responses({ 204: NoContent }, [401, 404]) } },
      async (request, reply) => {
        await friends.unfriend(actorOf(request), request.params.userId);
        return reply.status(204).send();
      },
    );

    app.post(
      '/friend-requests',
      {
        schema: {
          tags,
          security,
          summary: 'Send a friend request; a request back to someone who already asked becomes a friendship',
          body: SendFriendRequestBody,
          response: responses({ 201: FriendRequest }, [401, 403, 404, 409]),
        },
      },
      async (request, reply) => reply.status(201).send(await friends.sendRequest(actorOf(request), request.body)),
    );

    app.get(
      '/friend-requests',
      { schema: { tags, security, summary: 'Pending requests to or from the caller', querystring: FriendRequestQuery, response: responses({ 200: FriendRequestPage }, [401]) } },
      async (request) => friends.listRequests(actorOf(request), request.query.direction, request.query.cursor, request.query.limit ?? DEFAULT_PAGE_LIMIT),
    );

    app.post(
      '/friend-requests/:id/accept',
      {
        schema: { tags, security, summary: 'Accept a request addressed to the caller', params: RequestIdParam, response: responses({ 200: FriendRequest }, [401, 403, 404, 409]) },
      },
      async (request) => friends.accept(actorOf(request), request.params.id),
    );

    app.post(
      '/friend-requests/:id/reject',
      {
        schema: { tags, security, summary: 'Reject a request addressed to the caller', params: RequestIdParam, response: responses({ 200: FriendRequest }, [401, 403, 404, 409]) },
      },
      async (request) => friends.reject(actorOf(request), request.params.id),
    );

    app.get(
      '/blocks',
      {
        schema: {
          tags,
          security,
          summary: 'Users the caller has blocked, most recent first (paged)',
          querystring: BlockListQuery,
          response: responses({ 200: BlockedPage }, [400, 401]),
        },
      },
      async (request) => friends.listBlocked(actorOf(request), request.query.cursor, request.query.limit ?? DEFAULT_PAGE_LIMIT),
    );

    app.post(
      '/blocks',
      { schema: { tags, security, summary: 'Block a user (ends friendship and pending requests)', body: BlockBody, response: responses({ 204: NoContent }, [401, 404, 409]) } },
      async (request, reply) => {
        await friends.block(actorOf(request), request.body.userId);
        return reply.status(204).send();
      },
    );

    app.delete(
      '/blocks/:userId',
      { schema: { tags, security, summary: 'Unblock a user', params: UserIdParam, response: responses({ 204: NoContent }, [401, 404]) } },
      async (request, reply) => {
        await friends.unblock(actorOf(request), request.params.userId);
        return reply.status(204).send();
      },
    );
  };
}
