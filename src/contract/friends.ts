import Type, { type Static } from 'typebox';
import { Id, IsoTime } from './common.js';
import { Page, PageQuery } from './paging.js';
import { Presence } from './presence.js';
import { User } from './users.js';

export const Friend = Type.Object({ user: User, since: IsoTime, presence: Presence });
export type Friend = Static<typeof Friend>;
export const FriendPage = Page(Friend);
export const FriendListQuery = Type.Object({ ...PageQuery });

export const FriendRequestStatus = Type.Union([Type.Literal('pending'), Type.Literal('accepted'), Type.Literal('rejected'), Type.Literal('cancelled')]);
export type FriendRequestStatus = Static<typeof FriendRequestStatus>;

/** A friend request as `GET /friend-requests` lists it and the `friend_request` event carries it. */
export const FriendRequest = Type.Object({
  id: Type.String(),
  fromUser: User,
  toUser: User,
  message: Type.String(),
  status: FriendRequestStatus,
  createdAt: IsoTime,
  respondedAt: Type.Union([IsoTime, Type.Null()]),
});
export type FriendRequest = Static<typeof FriendRequest>;
export const FriendRequestPage = Page(FriendRequest);

export const SendFriendRequestBody = Type.Object({ toUserId: Id, message: Type.Optional(Type.String({ maxLength: 200 })) }, { additionalProperties: false });
export type SendFriendRequestBody = Static<typeof SendFriendRequestBody>;

export const FriendRequestQuery = Type.Object({
  direction: Type.Union([Type.Literal('incoming'), Type.Literal('outgoing')], { default: 'incoming' }),
  ...PageQuery,
});

export const BlockBody = Type.Object({ userId: Id }, { additionalProperties: false });
export const Blocked = Type.Object({ user: User, blockedAt: IsoTime });
export type Blocked = Static<typeof Blocked>;
export const BlockedPage = Page(Blocked);
export const BlockListQuery = Type.Object({ ...PageQuery });
