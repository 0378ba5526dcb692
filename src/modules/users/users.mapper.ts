import type { ProfileRow, UserRow } from './users.repository.js';
import type { Me, Profile, PublicProfile, User } from './users.schemas.js';

export function toUser(row: UserRow): User {
  return {
    id: row.id,
    username: row.username,
    nickname: row.nickname,
    avatarUrl: row.avatar_url,
    isGuest: Boolean(row.is_guest),
    bot: Boolean(row.is_bot),
    bio: row.bio,
    createdAt: new Date(Number(row.created_at)).toISOString(),
  };
}

/** The user as others see them: public fields and the status line. */
export function toPublicProfile(row: UserRow, profile: ProfileRow | undefined): PublicProfile {
  return { ...toUser(row), statusText: profile?.status_text ?? null };
}

export function toProfile(row: ProfileRow | undefined): Profile {
  return {
    gender: (row?.gender ?? null) as Profile['gender'],
    birthday: row?.birthday ?? null,
    location: row?.location ?? null,
    website: row?.website ?? null,
    statusText: row?.status_text ?? null,
    allowMessagesFrom: row?.allow_messages_from === 'friends' ? 'friends' : 'everyone',
    smartReplies: Number(row?.smart_replies ?? 0) === 1,
  };
}

export function toMe(row: UserRow, profile: ProfileRow | undefined, isAdmin = false): Me {
  return {
    ...toUser(row),
    isAdmin,
    email: row.email,
    lastLoginAt: new Date(Number(row.last_login_at)).toISOString(),
    profile: toProfile(profile),
  };
}
