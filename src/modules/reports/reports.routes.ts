import type { FastifyRequest } from 'fastify';
import { bearer, responses } from '../../platform/http/route-helpers.js';
import type { HttpApp } from '../../platform/http/server.js';
import { actorOf } from '../../platform/http/server.js';
import { DEFAULT_PAGE_LIMIT } from '../../shared/pagination.js';
import type { AdminService } from '../admin/index.js';
import { AdminReport, AdminReportPage, AdminReportsQuery, CreateReportBody, DismissReportBody, Report, ReportParams, ResolveReportBody } from './reports.schemas.js';
import type { ReportsService } from './reports.service.js';

const ADMIN_NOTE = 'Instance admins only (docs/api.md, Administration): anyone else gets `404 NOT_FOUND`, the answer of a route that does not exist.';

/** `POST /reports` for everyone; the queue under /admin for instance admins. */
export function reportsRoutes(reports: ReportsService, admin: Pick<AdminService, 'requireAdmin'>) {
  return async (app: HttpApp) => {
    const security = bearer;

    app.post(
      '/reports',
      {
        preValidation: [app.authenticate],
        schema: {
          tags: ['reports'],
          security,
          summary: 'Report a message the caller can see, or a user',
          description:
            'The same target reported again by the same user while the first report is open answers that report (`200`) instead of filing a second (`201`). Not oneself or one’s own message (`403`); a removed message `409`; at most 20 reports an hour per user (`429`). The reported user is never told who reported.',
          body: CreateReportBody,
          response: responses({ 200: Report, 201: Report }, [401, 403, 404, 409, 429]),
        },
      },
      async (request, reply) => {
        const { report, created } = await reports.create(actorOf(request), request.body, { ip: request.ip });
        return reply.status(created ? 201 : 200).send(report);
      },
    );

    // After authentication and before validation: a non-admin learns nothing, not even the route's schema.
    const adminOnly = async (request: FastifyRequest) => admin.requireAdmin(actorOf(request), `no route for ${request.method} ${request.url.split('?')[0]}`);
    const guard = { preValidation: [app.authenticate, adminOnly] };
    const doc = (summary: string, description: string) => ({ tags: ['admin'], security, summary, description: `${description}\n\n${ADMIN_NOTE}` });

    app.get(
      '/admin/reports',
      {
        ...guard,
        schema: {
          ...doc('The report queue, newest first', '`status` picks open (the default), resolved or dismissed reports; each shows who reported and the message as it read then.'),
          querystring: AdminReportsQuery,
          response: responses({ 200: AdminReportPage }, [400, 401, 404]),
        },
      },
      async (request) => reports.list(actorOf(request), request.query.status ?? 'open', request.query.cursor, request.query.limit ?? DEFAULT_PAGE_LIMIT),
    );

    app.post(
      '/admin/reports/:id/resolve',
      {
        ...guard,
        schema: {
          ...doc(
            'Resolve an open report, acting on it',
            '`action`: `none`, `delete_message` (a report of a message: removed like `DELETE /admin/messages/:id`) or `suspend_user` (the reported user, like `PUT /admin/users/:id/suspension`). The action and `report_resolved` go to the audit log. `409` when the report is no longer open; `403` when the action is refused (suspending an admin).',
          ),
          params: ReportParams,
          body: ResolveReportBody,
          response: responses({ 200: AdminReport }, [400, 401, 403, 404, 409]),
        },
      },
      async (request) => reports.resolve(actorOf(request), request.params.id, request.body.action, request.body.note),
    );

    app.post(
      '/admin/reports/:id/dismiss',
      {
        ...guard,
        schema: {
          ...doc('Dismiss an open report', 'Closes it without acting; `report_dismissed` goes to the audit log. `409` when the report is no longer open.'),
          params: ReportParams,
          body: DismissReportBody,
          response: responses({ 200: AdminReport }, [401, 404, 409]),
        },
      },
      async (request) => reports.dismiss(actorOf(request), request.params.id, request.body.note),
    );
  };
}
