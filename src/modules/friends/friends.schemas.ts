import Type, { type Static } from 'typebox';
import { Id, IsoTime, PageQuery, User } from '../users/index.js';

export const Presence = Type.Object({
  status: Type.Union([Type.Literal('online'), Type.Literal('away'), Type.Literal('offline')]),
  lastSeenAt: Type.Union([IsoTime, Type.Null()]),
});
export type Presence = Static<typeof Presence>;

export const Friend = Type.Object({ user: User, since: IsoTime, presence: Presence });
export type Friend = Static<typeof Friend>;
export const FriendPage = Type.Object({ items: Type.Array(Friend), nextCursor: Type.Union([Type.String(), Type.Null()]) });

export const FriendRequestStatus = Type.Union([
  Type.Literal('pending'),
  Type.Literal('accepted'),
  Type.Literal('rejected'),
  Type.Literal('cancelled'),
]);

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
export const FriendRequestPage = Type.Object({ items: Type.Array(FriendRequest), nextCursor: Type.Union([Type.String(), Type.Null()]) });

export const SendFriendRequestBody = Type.Object(
  { toUserId: Id, message: Type.Optional(Type.String({ maxLength: 200 })) },
  { additionalProperties: false },
);
export type SendFriendRequestBody = Static<typeof SendFriendRequestBody>;

export const FriendRequestQuery = Type.Object({
  direction: Type.Union([Type.Literal('incoming'), Type.Literal('outgoing')], { default: 'incoming' }),
  ...PageQuery,
});

export const BlockBody = Type.Object({ userId: Id }, { additionalProperties: false });
export const Blocked = Type.Object({ user: User, blockedAt: IsoTime });
export type Blocked = Static<typeof Blocked>;
export const BlockedPage = Type.Object({ items: Type.Array(Blocked), nextCursor: Type.Union([Type.String(), Type.Null()]) });
export const BlockListQuery = Type.Object({ ...PageQuery });

export const UserIdParam = Type.Object({ userId: Id });
export const RequestIdParam = Type.Object({ id: Id });
export const FriendListQuery = Type.Object({ ...PageQuery });
