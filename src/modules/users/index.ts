export { createProfileAnnouncer, PROFILE_CHANGES_PER_MINUTE, type ProfileAnnouncer } from './users.announcer.js';
export { toMe, toUser } from './users.mapper.js';
export { createUsersRepository, type UserRow, type UsersRepository } from './users.repository.js';
export { usersRoutes } from './users.routes.js';
export { guestUsername, normalizeEmail, normalizeNickname, normalizeUsername } from './users.rules.js';
export { Email, Id, IsoTime, Me, Nickname, PageQuery, Password, User, Username } from './users.schemas.js';
export { createUsersService, type UsersService } from './users.service.js';
