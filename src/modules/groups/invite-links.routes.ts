import { bearer, NoContent, responses } from '../../platform/http/route-helpers.js';
import type { HttpApp } from '../../platform/http/server.js';
import { actorOf } from '../../platform/http/server.js';
import { DEFAULT_PAGE_LIMIT } from '../../shared/pagination.js';
import { CreateInviteLinkBody, Group, GroupParams, InviteCodeParams, InviteLink, InviteLinkListQuery, InviteLinkPage, InviteLinkParams, InvitePreview } from './groups.schemas.js';
import type { GroupsService } from './groups.service.js';

/** Invite links: made, listed and revoked by a group's owner and admins; previewed and accepted by whoever holds the code. */
export function inviteLinksRoutes(groups: GroupsService) {
  return async (app: HttpApp) => {
    app.addHook('preValidation', app.authenticate);
    const tags = ['groups'];
    const security = bearer;

    app.post(
      '/groups/:id/invite-links',
      {
        schema: {
          tags,
          security,
          summary: 'Create an invite link (owner, admins), with an optional expiry and use limit',
          params: GroupParams,
          body: CreateInviteLinkBody,
          response: responses({ 201: InviteLink }, [401, 403, 404, 409]),
        },
      },
      async (request, reply) => reply.status(201).send(await groups.inviteLinks.create(actorOf(request), request.params.id, request.body)),
    );
    app.get(
      '/groups/:id/invite-links',
      {
        schema: {
          tags,
          security,
          summary: "The group's invite links, revoked ones too, newest first (owner, admins; paged)",
          params: GroupParams,
          querystring: InviteLinkListQuery,
          response: responses({ 200: InviteLinkPage }, [400, 401, 403, 404]),
        },
      },
      async (request) => groups.inviteLinks.list(actorOf(request), request.params.id, request.query.cursor, request.query.limit ?? DEFAULT_PAGE_LIMIT),
    );
    app.delete(
      '/groups/:id/invite-links/:linkId',
      { schema: { tags, security, summary: 'Revoke an invite link (owner, admins)', params: InviteLinkParams, response: responses({ 204: NoContent }, [401, 403, 404]) } },
      async (request, reply) => {
        await groups.inviteLinks.revoke(actorOf(request), request.params.id, request.params.linkId);
        return reply.status(204).send();
      },
    );
    app.get(
      '/invites/:code',
      {
        schema: {
          tags,
          security,
          summary: "Preview an invite link: the group's name and size, and whether the caller is a member",
          params: InviteCodeParams,
          response: responses({ 200: InvitePreview }, [401, 404, 410, 429]),
        },
      },
      async (request) => groups.inviteLinks.preview(actorOf(request), request.ip, request.params.code),
    );
    app.post(
      '/invites/:code/accept',
      {
        schema: {
          tags,
          security,
          summary: 'Join the group through an invite link (a member already gets the group back)',
          params: InviteCodeParams,
          response: responses({ 200: Group }, [401, 403, 404, 410, 413, 429]),
        },
      },
      async (request) => groups.inviteLinks.accept(actorOf(request), request.ip, request.params.code),
    );
  };
}
