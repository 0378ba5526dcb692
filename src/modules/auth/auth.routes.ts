import Type from 'typebox';
import type { HttpApp } from '../../platform/http/server.js';
import { actorOf, originOf } from '../../platform/http/server.js';
import { bearer, NoContent, responses } from '../../platform/http/route-helpers.js';
import {
  AuthResult,
  ChangePasswordBody,
  GuestBody,
  LoginBody,
  LoginLogPage,
  LoginLogQuery,
  RefreshBody,
  RegisterBody,
  SessionIdParams,
  SessionList,
  UpgradeBody,
} from './auth.schemas.js';
import type { AuthService } from './auth.service.js';

/** Why a taken email is not an error (see the service's emailColumns). */
const EMAIL_NOTE =
  '`email` is an unverified contact address, shown only to the account itself. Whether another account already gave the same address (in any case) is never revealed: the request is answered exactly as for a fresh address. `409 CONFLICT` names only the username.';

export function authRoutes(auth: AuthService) {
  return async (app: HttpApp) => {
    const tags = ['auth'];

    app.post(
      '/auth/register',
      {
        schema: {
          tags,
          summary: 'Create an account and log in',
          description: EMAIL_NOTE,
          body: RegisterBody,
          response: responses({ 201: AuthResult }, [409, 429]),
        },
      },
      async (request, reply) => reply.status(201).send(await auth.register(request.body, originOf(request))),
    );

    app.post(
      '/auth/login',
      { schema: { tags, summary: 'Log in with username and password', body: LoginBody, response: responses({ 200: AuthResult }, [401, 429]) } },
      async (request) => auth.login(request.body, originOf(request)),
    );

    app.post(
      '/auth/guest',
      {
        // The body is optional, but Fastify validates a missing body as null against the object
        // schema: treat "no body" as `{}` before validation runs.
        preValidation: async (request) => {
          request.body ??= {};
        },
        schema: { tags, summary: 'Continue as a guest', body: Type.Optional(GuestBody), response: responses({ 201: AuthResult }, [429]) },
      },
      async (request, reply) => reply.status(201).send(await auth.guest(request.body ?? {}, originOf(request))),
    );

    app.post(
      '/auth/upgrade',
      {
        preValidation: app.authenticate,
        schema: {
          tags,
          security: bearer,
          summary: 'Turn the calling guest into a full account (same id)',
          description: EMAIL_NOTE,
          body: UpgradeBody,
          response: responses({ 200: AuthResult }, [401, 403, 409]),
        },
      },
      async (request) => auth.upgrade(actorOf(request), request.body, originOf(request)),
    );

    app.post(
      '/auth/refresh',
      { schema: { tags, summary: 'Exchange a refresh token for a new pair (rotation)', body: RefreshBody, response: responses({ 200: AuthResult }, [401]) } },
      async (request) => auth.refresh(request.body.refreshToken, originOf(request)),
    );

    app.post(
      '/auth/logout',
      { preValidation: app.authenticate, schema: { tags, security: bearer, summary: 'End the current session', response: responses({ 204: NoContent }, [401]) } },
      async (request, reply) => {
        await auth.logout(actorOf(request));
        return reply.status(204).send();
      },
    );

    app.get(
      '/auth/sessions',
      { preValidation: app.authenticate, schema: { tags, security: bearer, summary: "The caller's active sessions", response: responses({ 200: SessionList }, [401]) } },
      async (request) => ({ items: await auth.listSessions(actorOf(request)) }),
    );

    app.delete(
      '/auth/sessions/:id',
      {
        preValidation: app.authenticate,
        schema: { tags, security: bearer, summary: 'Revoke one session', params: SessionIdParams, response: responses({ 204: NoContent }, [401, 404]) },
      },
      async (request, reply) => {
        await auth.revokeSession(actorOf(request), request.params.id);
        return reply.status(204).send();
      },
    );

    app.put(
      '/users/me/password',
      {
        preValidation: app.authenticate,
        schema: { tags, security: bearer, summary: 'Change password; ends every other session', body: ChangePasswordBody, response: responses({ 204: NoContent }, [401, 403]) },
      },
      async (request, reply) => {
        await auth.changePassword(actorOf(request), request.body);
        return reply.status(204).send();
      },
    );

    app.get(
      '/users/me/login-logs',
      {
        preValidation: app.authenticate,
        schema: { tags, security: bearer, summary: "The caller's login history, newest first", querystring: LoginLogQuery, response: responses({ 200: LoginLogPage }, [401]) },
      },
      async (request) => auth.loginLogs(actorOf(request), request.query.cursor, request.query.limit ?? 50),
    );
  };
}
