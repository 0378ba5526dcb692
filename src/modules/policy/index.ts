export type { AccessPolicy, ConversationAccess } from './policy.access.js';
export { type AdminPolicy, type AdminRoleSource, createAdminPolicy } from './policy.admin.js';
export { botRooms, requireBotEvent, requireBotRoute } from './policy.bots.js';
export { type ContactAction, type ContactVerdict, createPolicy, type Policy } from './policy.service.js';
