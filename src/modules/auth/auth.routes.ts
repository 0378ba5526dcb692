import Type from 'typebox';
import { bearer, NoContent, responses } from '../../platform/http/route-helpers.js';
import type { HttpApp } from '../../platform/http/server.js';
import { actorOf, originOf } from '../../platform/http/server.js';
import { AppError } from '../../shared/errors.js';
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
  SessionModeHeaders,
  UpgradeBody,
} from './auth.schemas.js';
import type { AuthService } from './auth.service.js';
import { clearRefreshCookie, deliverTokens, isCookieMode, readRefreshCookie } from './session-cookie.js';

/** Why a taken email is not an error (see the service's emailColumns). */
const EMAIL_NOTE =
  '`email` is an unverified contact address, shown only to the account itself. Whether another account already gave the same address (in any case) is never revealed: the request is answered exactly as for a fresh address. `409 CONFLICT` names only the username.';

const COOKIE_NOTE =
  'With `X-Parley-Session: cookie` (cookie mode, for browser apps) the refresh token is set in the httpOnly, SameSite=Strict cookie `parley_refresh` (Path=/api/v1/auth) and left out of the body; see docs/api.md, Authentication.';

export function authRoutes(auth: AuthService, options: { refreshTtlSec: number }) {
  return async (app: HttpApp) => {
    const tags = ['auth'];
    const headers = SessionModeHeaders;
    type Request = Parameters<typeof deliverTokens>[0];
    type Reply = Parameters<typeof deliverTokens>[1];
    const deliver = (request: Request, reply: Reply, result: AuthResult) => deliverTokens(request, reply, result, options.refreshTtlSec);

    app.post(
      '/auth/register',
      {
        schema: {
          tags,
          summary: 'Create an account and log in',
          description: `${EMAIL_NOTE}\n\n${COOKIE_NOTE}`,
          headers,
          body: RegisterBody,
          response: responses({ 201: AuthResult }, [409, 429]),
        },
      },
      async (request, reply) => reply.status(201).send(deliver(request, reply, await auth.register(request.body, originOf(request)))),
    );

    app.post(
      '/auth/login',
      {
        schema: { tags, summary: 'Log in with username and password', description: COOKIE_NOTE, headers, body: LoginBody, response: responses({ 200: AuthResult }, [401, 429]) },
      },
      async (request, reply) => deliver(request, reply, await auth.login(request.body, originOf(request))),
    );

    app.post(
      '/auth/guest',
      {
        // The body is optional, but Fastify validates a missing body as null against the object
        // schema: treat "no body" as `{}` before validation runs.
        preValidation: async (request) => {
          request.body ??= {};
        },
        schema: { tags, summary: 'Continue as a guest', description: COOKIE_NOTE, headers, body: Type.Optional(GuestBody), response: responses({ 201: AuthResult }, [429]) },
      },
      async (request, reply) => reply.status(201).send(deliver(request, reply, await auth.guest(request.body ?? {}, originOf(request)))),
    );

    app.post(
      '/auth/upgrade',
      {
        preValidation: app.authenticate,
        schema: {
          tags,
          security: bearer,
          summary: 'Turn the calling guest into a full account (same id)',
          description: `${EMAIL_NOTE}\n\n${COOKIE_NOTE}`,
          headers,
          body: UpgradeBody,
          response: responses({ 200: AuthResult }, [401, 403, 409]),
        },
      },
      async (request, reply) => deliver(request, reply, await auth.upgrade(actorOf(request), request.body, originOf(request))),
    );

    app.post(
      '/auth/refresh',
      {
        // In cookie mode the body may be absent: treat it as `{}`, as for guest.
        preValidation: async (request) => {
          request.body ??= {};
        },
        schema: {
          tags,
          summary: 'Exchange a refresh token for a new pair (rotation)',
          description:
            'Body mode: `{refreshToken}` is required. Cookie mode (`X-Parley-Session: cookie`): the token is read from the `parley_refresh` cookie only (any body token is ignored), the rotated one is set in its place, and a refused refresh clears it. The cookie is never read without the header, which a cross-site form cannot send: that is the CSRF guard, with SameSite=Strict.',
          headers,
          body: Type.Optional(RefreshBody),
          response: responses({ 200: AuthResult }, [401]),
        },
      },
      async (request, reply) => {
        if (!isCookieMode(request)) {
          const token = request.body?.refreshToken;
          if (token === undefined) throw AppError.validation('refreshToken', 'is required');
          return auth.refresh(token, originOf(request));
        }
        const token = readRefreshCookie(request);
        try {
          if (token === undefined) throw new AppError('UNAUTHORIZED', 'no session cookie; log in again');
          return deliver(request, reply, await auth.refresh(token, originOf(request)));
        } catch (error) {
          // A refused cookie names a session that is over: drop it so the browser stops presenting it.
          clearRefreshCookie(request, reply);
          throw error;
        }
      },
    );

    app.post(
      '/auth/logout',
      {
        preValidation: app.authenticate,
        schema: {
          tags,
          security: bearer,
          summary: 'End the current session',
          description: 'In cookie mode (`X-Parley-Session: cookie`) the answer also clears the `parley_refresh` cookie.',
          headers,
          response: responses({ 204: NoContent }, [401]),
        },
      },
      async (request, reply) => {
        await auth.logout(actorOf(request));
        if (isCookieMode(request)) clearRefreshCookie(request, reply);
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
