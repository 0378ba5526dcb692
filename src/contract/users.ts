import Type, { type Static } from 'typebox';

/** A user as every route and event shows them (public profile fields only). */
export const User = Type.Object({
  id: Type.String(),
  username: Type.String(),
  nickname: Type.String(),
  avatarUrl: Type.Union([Type.String(), Type.Null()]),
  isGuest: Type.Boolean(),
  bio: Type.String(),
  createdAt: Type.String({ format: 'date-time' }),
});
export type User = Static<typeof User>;

/** A friend request as `GET /friend-requests` lists it and the `friend_request` event carries it. */
export interface FriendRequest {
  id: string;
  fromUser: User;
  toUser: User;
  message: string;
  status: 'pending' | 'accepted' | 'rejected' | 'cancelled';
  createdAt: string;
  respondedAt: string | null;
}
