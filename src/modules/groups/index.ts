export { createGroupsRepository, type GroupsRepository, groupConversationId } from './groups.repository.js';
export { groupsRoutes } from './groups.routes.js';
export { Group } from './groups.schemas.js';
export { createGroupsService, type GroupsService } from './groups.service.js';
export { createInvitationsRepository } from './invitations.repository.js';
export { createInviteLinksRepository } from './invite-links.repository.js';
export { inviteLinksRoutes } from './invite-links.routes.js';
