import { bearer, responses } from '../../platform/http/route-helpers.js';
import type { HttpApp } from '../../platform/http/server.js';
import { actorOf } from '../../platform/http/server.js';
import { Me, SearchUsersQuery, UpdateProfileBody, UserIdParams, UserPage, UserProfile } from './users.schemas.js';
import type { UsersService } from './users.service.js';

export function usersRoutes(users: UsersService) {
  return async (app: HttpApp) => {
    const tags = ['users'];

    app.get(
      '/users/me',
      { preValidation: app.authenticate, schema: { tags, security: bearer, summary: 'The caller with profile', response: responses({ 200: Me }, [401]) } },
      async (request) => users.getMe(actorOf(request)),
    );

    app.patch(
      '/users/me',
      {
        preValidation: app.authenticate,
        schema: { tags, security: bearer, summary: 'Update profile fields', body: UpdateProfileBody, response: responses({ 200: Me }, [401, 429]) },
      },
      async (request) => users.updateProfile(actorOf(request), request.body),
    );

    app.get(
      '/users',
      {
        preValidation: app.authenticate,
        schema: { tags, security: bearer, summary: 'Search users by username or nickname prefix', querystring: SearchUsersQuery, response: responses({ 200: UserPage }, [401]) },
      },
      async (request) => users.search(actorOf(request), request.query.q, request.query.cursor, request.query.limit ?? 50),
    );

    app.get(
      '/users/:id',
      {
        preValidation: app.authenticate,
        schema: {
          tags,
          security: bearer,
          summary: 'Public profile, with presence and last seen for those who may see them',
          params: UserIdParams,
          response: responses({ 200: UserProfile }, [401, 404]),
        },
      },
      async (request) => users.getPublic(actorOf(request), request.params.id),
    );
  };
}
