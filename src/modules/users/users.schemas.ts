import Type from 'typebox';
import { Id } from '../../contract/common.js';

// The wire types live in the contract, which the SDK shares; routes and services take them from here.
export { IsoTime, Id } from '../../contract/common.js';
export { PageQuery } from '../../contract/paging.js';
export { Email, Me, Nickname, Password, Profile, SearchUsersQuery, UpdateProfileBody, User, Username, UserPage } from '../../contract/users.js';

export const UserIdParams = Type.Object({ id: Id });
