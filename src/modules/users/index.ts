export { createUsersRepository, type UsersRepository, type UserRow } from './users.repository.js';
export { createUsersService, type UsersService } from './users.service.js';
export { toUser, toMe } from './users.mapper.js';
export { createProfileAnnouncer, type ProfileAnnouncer, PROFILE_CHANGES_PER_MINUTE } from './users.announcer.js';
export { normalizeUsername, normalizeNickname, normalizeEmail, guestUsername } from './users.rules.js';
export { Username, Password, Nickname, Email, User, Me, PageQuery, Id, IsoTime } from './users.schemas.js';
export { usersRoutes } from './users.routes.js';
