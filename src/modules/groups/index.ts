export { createGroupsRepository, groupConversationId, type GroupsRepository } from './groups.repository.js';
export { createGroupsService, type GroupsService } from './groups.service.js';
export { createInvitationsRepository } from './invitations.repository.js';
export { groupsRoutes } from './groups.routes.js';
export { createInviteLinksRepository } from './invite-links.repository.js';
export { inviteLinksRoutes } from './invite-links.routes.js';
export { Group } from './groups.schemas.js';
