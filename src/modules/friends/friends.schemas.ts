import Type from 'typebox';
import { Id } from '../../contract/common.js';

// The wire types live in the contract, which the SDK shares; routes and services take them from here.
export {
  BlockBody,
  Blocked,
  BlockedPage,
  BlockListQuery,
  Friend,
  FriendListQuery,
  FriendPage,
  FriendRequest,
  FriendRequestPage,
  FriendRequestQuery,
  FriendRequestStatus,
  SendFriendRequestBody,
} from '../../contract/friends.js';
export { Presence } from '../../contract/presence.js';

export const UserIdParam = Type.Object({ userId: Id });
export const RequestIdParam = Type.Object({ id: Id });
