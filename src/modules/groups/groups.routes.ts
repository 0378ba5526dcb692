import { bearer, NoContent, responses } from '../../platform/http/route-helpers.js';
import type { HttpApp } from '../../platform/http/server.js';
import { actorOf } from '../../platform/http/server.js';
import { DEFAULT_PAGE_LIMIT } from '../../shared/pagination.js';
import {
  AddMembersBody,
  CreatedGroup,
  CreateGroupBody,
  Group,
  GroupListQuery,
  GroupPage,
  GroupParams,
  InvitationPage,
  InvitationParams,
  Member,
  MemberList,
  MemberPage,
  MemberParams,
  UpdateGroupBody,
  UpdateMemberBody,
} from './groups.schemas.js';
import type { GroupsService } from './groups.service.js';

export function groupsRoutes(groups: GroupsService) {
  return async (app: HttpApp) => {
    app.addHook('preValidation', app.authenticate);
    const tags = ['groups'];
    const security = bearer;

    app.post(
      '/groups',
      {
        schema: {
          tags,
          security,
          summary: "Create a group; the caller is owner, the caller's friends among memberIds join, everyone else is invited (`invited`)",
          body: CreateGroupBody,
          response: responses({ 201: CreatedGroup }, [401, 403, 404, 413, 429]),
        },
      },
      async (request, reply) => reply.status(201).send(await groups.create(actorOf(request), request.body)),
    );
    app.get(
      '/groups',
      { schema: { tags, security, summary: "The caller's groups, oldest first (paged)", querystring: GroupListQuery, response: responses({ 200: GroupPage }, [400, 401]) } },
      async (request) => groups.list(actorOf(request), request.query.cursor, request.query.limit ?? DEFAULT_PAGE_LIMIT),
    );
    app.get(
      '/groups/:id',
      { schema: { tags, security, summary: 'A group (members only)', params: GroupParams, response: responses({ 200: Group }, [401, 404]) } },
      async (request) => groups.get(actorOf(request), request.params.id),
    );
    app.patch(
      '/groups/:id',
      {
        schema: { tags, security, summary: 'Rename or describe (owner, admins)', params: GroupParams, body: UpdateGroupBody, response: responses({ 200: Group }, [401, 403, 404]) },
      },
      async (request) => groups.update(actorOf(request), request.params.id, request.body),
    );
    app.delete(
      '/groups/:id',
      { schema: { tags, security, summary: 'Dissolve (owner)', params: GroupParams, response: responses({ 204: NoContent }, [401, 403, 404]) } },
      async (request, reply) => {
        await groups.dissolve(actorOf(request), request.params.id);
        return reply.status(204).send();
      },
    );
    app.get(
      '/groups/:id/members',
      {
        schema: {
          tags,
          security,
          summary: 'Members with role and presence, in joining order (paged)',
          params: GroupParams,
          querystring: GroupListQuery,
          response: responses({ 200: MemberPage }, [400, 401, 404]),
        },
      },
      async (request) => groups.members(actorOf(request), request.params.id, request.query.cursor, request.query.limit ?? DEFAULT_PAGE_LIMIT),
    );
    app.post(
      '/groups/:id/members',
      {
        schema: {
          tags,
          security,
          summary: "Add members (owner, admins): the adder's friends join, everyone else is invited (`invited`)",
          params: GroupParams,
          body: AddMembersBody,
          response: responses({ 200: MemberList }, [401, 403, 404, 413, 429]),
        },
      },
      async (request) => groups.addMembers(actorOf(request), request.params.id, request.body.userIds),
    );
    app.delete(
      '/groups/:id/members/:userId',
      {
        schema: { tags, security, summary: 'Leave (self) or remove a member (owner, admins)', params: MemberParams, response: responses({ 204: NoContent }, [401, 403, 404, 409]) },
      },
      async (request, reply) => {
        await groups.removeMember(actorOf(request), request.params.id, request.params.userId);
        return reply.status(204).send();
      },
    );
    app.patch(
      '/groups/:id/members/:userId',
      {
        schema: {
          tags,
          security,
          summary: 'Change role (owner) or mute until a time (owner, admins)',
          params: MemberParams,
          body: UpdateMemberBody,
          response: responses({ 200: Member }, [401, 403, 404]),
        },
      },
      async (request) => groups.updateMember(actorOf(request), request.params.id, request.params.userId, request.body),
    );
    app.get(
      '/group-invitations',
      {
        schema: {
          tags,
          security,
          summary: "The caller's pending group invitations, newest first (paged)",
          querystring: GroupListQuery,
          response: responses({ 200: InvitationPage }, [400, 401]),
        },
      },
      async (request) => groups.invitations.list(actorOf(request), request.query.cursor, request.query.limit ?? DEFAULT_PAGE_LIMIT),
    );
    app.post(
      '/group-invitations/:id/accept',
      {
        schema: {
          tags,
          security,
          summary: 'Accept an invitation: join the group (invitee only)',
          params: InvitationParams,
          response: responses({ 200: Group }, [401, 404, 409, 413]),
        },
      },
      async (request) => groups.invitations.accept(actorOf(request), request.params.id),
    );
    app.post(
      '/group-invitations/:id/decline',
      {
        schema: {
          tags,
          security,
          summary: 'Decline an invitation (invitee only); the inviter is not told',
          params: InvitationParams,
          response: responses({ 204: NoContent }, [401, 404, 409]),
        },
      },
      async (request, reply) => {
        await groups.invitations.decline(actorOf(request), request.params.id);
        return reply.status(204).send();
      },
    );
  };
}
