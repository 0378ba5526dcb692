/** A user as every route and event shows them (public profile fields only). */
export interface User {
  id: string;
  username: string;
  nickname: string;
  avatarUrl: string | null;
  isGuest: boolean;
  bio: string;
  createdAt: string;
}

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
