import type { FastifyRequest } from 'fastify';
import { bearer, NoContent, responses } from '../../platform/http/route-helpers.js';
import type { HttpApp } from '../../platform/http/server.js';
import { actorOf } from '../../platform/http/server.js';
import { DEFAULT_PAGE_LIMIT } from '../../shared/pagination.js';
import {
  AdminIdParams,
  AdminUser,
  AdminUserPage,
  AdminUsersQuery,
  AuditPage,
  AuditQuery,
  InstanceStats,
  ResetPasswordBody,
  ResetPasswordResult,
  SuspendBody,
} from './admin.schemas.js';
import type { AdminService } from './admin.service.js';

const ADMIN_NOTE = 'Instance admins only (docs/api.md, Administration): anyone else gets `404 NOT_FOUND`, the answer of a route that does not exist.';

export function adminRoutes(admin: AdminService) {
  return async (app: HttpApp) => {
    const tags = ['admin'];
    // After authentication and before validation: a non-admin learns nothing, not even the route's schema.
    const adminOnly = async (request: FastifyRequest) => admin.requireAdmin(actorOf(request), `no route for ${request.method} ${request.url.split('?')[0]}`);
    const guard = { preValidation: [app.authenticate, adminOnly] };
    const doc = (summary: string, description?: string) => ({ tags, security: bearer, summary, description: description ? `${description}\n\n${ADMIN_NOTE}` : ADMIN_NOTE });

    app.get(
      '/admin/users',
      {
        ...guard,
        schema: { ...doc('List or search every account (guests included), by id'), querystring: AdminUsersQuery, response: responses({ 200: AdminUserPage }, [401, 404]) },
      },
      async (request) => admin.listUsers(actorOf(request), request.query.q, request.query.cursor, request.query.limit ?? DEFAULT_PAGE_LIMIT),
    );

    app.get(
      '/admin/users/:id',
      { ...guard, schema: { ...doc('One account with its role and suspension'), params: AdminIdParams, response: responses({ 200: AdminUser }, [401, 404]) } },
      async (request) => admin.getUser(actorOf(request), request.params.id),
    );

    app.delete(
      '/admin/users/:id',
      {
        ...guard,
        schema: {
          ...doc(
            'Delete an account with its content',
            'Sessions end and sockets are disconnected; messages, memberships, files (and their bytes) and avatars go. Not oneself, not an admin (`403`).',
          ),
          params: AdminIdParams,
          response: responses({ 204: NoContent }, [401, 403, 404]),
        },
      },
      async (request, reply) => {
        await admin.deleteUser(actorOf(request), request.params.id);
        return reply.status(204).send();
      },
    );

    app.put(
      '/admin/users/:id/admin',
      {
        ...guard,
        schema: {
          ...doc('Grant the admin role', 'Idempotent. A guest cannot be an admin (`403`).'),
          params: AdminIdParams,
          response: responses({ 200: AdminUser }, [401, 403, 404]),
        },
      },
      async (request) => admin.grantAdmin(actorOf(request), request.params.id),
    );

    app.delete(
      '/admin/users/:id/admin',
      {
        ...guard,
        schema: {
          ...doc('Revoke a granted admin role', 'Idempotent. A role from `ADMIN_USERNAMES` is not revocable here (`403`).'),
          params: AdminIdParams,
          response: responses({ 200: AdminUser }, [401, 403, 404]),
        },
      },
      async (request) => admin.revokeAdmin(actorOf(request), request.params.id),
    );

    app.put(
      '/admin/users/:id/suspension',
      {
        ...guard,
        schema: {
          ...doc(
            'Suspend an account',
            'Every session ends at once and its sockets get `session_revoked {reason: "account_suspended"}` and are disconnected, on every process. Login and refresh answer `403 ACCOUNT_SUSPENDED` until unsuspended. Idempotent. Not oneself, not an admin (`403`).',
          ),
          params: AdminIdParams,
          body: SuspendBody,
          response: responses({ 200: AdminUser }, [401, 403, 404]),
        },
      },
      async (request) => admin.suspend(actorOf(request), request.params.id, request.body.reason),
    );

    app.delete(
      '/admin/users/:id/suspension',
      {
        ...guard,
        schema: { ...doc('Lift a suspension', 'The user may log in again; idempotent.'), params: AdminIdParams, response: responses({ 200: AdminUser }, [401, 404]) },
      },
      async (request) => admin.unsuspend(actorOf(request), request.params.id),
    );

    app.post(
      '/admin/users/:id/password',
      {
        ...guard,
        schema: {
          ...doc(
            'Reset a password',
            'Sets `password`, or a generated one when the body leaves it out; the answer shows it this once. Every session of the account ends. Guests have no password (`403`).',
          ),
          params: AdminIdParams,
          body: ResetPasswordBody,
          response: responses({ 200: ResetPasswordResult }, [401, 403, 404]),
        },
      },
      async (request) => admin.resetPassword(actorOf(request), request.params.id, request.body.password),
    );

    app.delete(
      '/admin/messages/:id',
      {
        ...guard,
        schema: {
          ...doc('Delete any message', 'A recall: the conversation gets `message_updated` with the placeholder. `409` when it already was recalled.'),
          params: AdminIdParams,
          response: responses({ 204: NoContent }, [401, 404, 409]),
        },
      },
      async (request, reply) => {
        await admin.deleteMessage(actorOf(request), request.params.id);
        return reply.status(204).send();
      },
    );

    app.delete(
      '/admin/groups/:id',
      {
        ...guard,
        schema: {
          ...doc('Dissolve any group', "The owner's path: members get `group_member` `dissolved`."),
          params: AdminIdParams,
          response: responses({ 204: NoContent }, [401, 404]),
        },
      },
      async (request, reply) => {
        await admin.dissolveGroup(actorOf(request), request.params.id);
        return reply.status(204).send();
      },
    );

    app.get('/admin/stats', { ...guard, schema: { ...doc('Instance statistics'), response: responses({ 200: InstanceStats }, [401, 404]) } }, async (request) =>
      admin.stats(actorOf(request)),
    );

    app.get(
      '/admin/audit',
      {
        ...guard,
        schema: {
          ...doc('The audit log, newest first', 'Every admin action; entries are never changed or removed.'),
          querystring: AuditQuery,
          response: responses({ 200: AuditPage }, [401, 404]),
        },
      },
      async (request) => admin.auditLog(actorOf(request), request.query.cursor, request.query.limit ?? DEFAULT_PAGE_LIMIT),
    );
  };
}
