import Type from 'typebox';
import { Id } from '../../contract/common.js';

// The wire types live in the contract, which the SDK shares; routes and services take them from here.
export { Id, IsoTime } from '../../contract/common.js';
export { PageQuery } from '../../contract/paging.js';
export { Email, Me, Nickname, Password, Profile, PublicProfile, SearchUsersQuery, UpdateProfileBody, User, Username, UserPage, UserProfile } from '../../contract/users.js';

export const UserIdParams = Type.Object({ id: Id });
