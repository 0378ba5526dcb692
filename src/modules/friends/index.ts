export { createFriendsRepository, type FriendsRepository } from './friends.repository.js';
export { friendsRoutes } from './friends.routes.js';
export { Presence } from './friends.schemas.js';
export { createFriendsService, type FriendsService, type PresenceReader } from './friends.service.js';
