import Type, { type Static } from 'typebox';
import { IsoTime } from './common.js';
import { Page, PageQuery } from './paging.js';
import { Presence } from './presence.js';

/** 3-32 letters of any script (with their combining marks), digits, `_`, `.` and `-`. */
export const Username = Type.String({
  minLength: 3,
  maxLength: 32,
  pattern: '^[\\p{L}\\p{M}\\p{N}_.\\-]+$',
  description: '3-32 letters (any script), digits, _ . -; unique regardless of case',
});
export const Password = Type.String({ minLength: 8, maxLength: 256, description: 'at least 8 characters' });
/** Trimmed by the server; control characters are refused. */
export const Nickname = Type.String({ minLength: 1, maxLength: 64, pattern: '^[^\\p{Cc}]*$' });
export const Email = Type.String({ format: 'email', maxLength: 254 });

/** A user as every route and event shows them (public profile fields only). */
export const User = Type.Object({
  id: Type.String(),
  username: Type.String(),
  nickname: Type.String(),
  avatarUrl: Type.Union([Type.String(), Type.Null()]),
  isGuest: Type.Boolean(),
  /** A bot account (owned by a user, acting through an API token or an incoming webhook). */
  bot: Type.Boolean(),
  bio: Type.String(),
  createdAt: IsoTime,
});
export type User = Static<typeof User>;

export const UserPage = Page(User);

/** What others may see of a user beyond `User`: the status line they set (`user_updated` carries this). */
export const PublicProfile = Type.Object({
  ...User.properties,
  statusText: Type.Union([Type.String(), Type.Null()], { description: "the user's status line (profile.statusText), public like bio" }),
});
export type PublicProfile = Static<typeof PublicProfile>;

/** `GET /users/:id`: the public profile, and presence for those who may see it. */
export const UserProfile = Type.Object({
  ...PublicProfile.properties,
  presence: Type.Union([Presence, Type.Null()], {
    description:
      "online/away/offline and lastSeenAt; null unless the caller may see this user's presence (friends and group co-members, no block either way, and the user themself)",
  }),
});
export type UserProfile = Static<typeof UserProfile>;

/** A user changed what others see of them (nickname, avatar, bio, status line). */
export interface UserUpdatedEvent {
  user: PublicProfile;
}

const Gender = Type.Union([Type.Literal('male'), Type.Literal('female'), Type.Literal('other'), Type.Literal('unspecified')]);
const AllowMessagesFrom = Type.Union([Type.Literal('everyone'), Type.Literal('friends')], {
  description: 'who may open a private chat with this user',
});

export const Profile = Type.Object({
  gender: Type.Union([Gender, Type.Null()]),
  birthday: Type.Union([Type.String({ format: 'date' }), Type.Null()]),
  location: Type.Union([Type.String(), Type.Null()]),
  website: Type.Union([Type.String(), Type.Null()]),
  statusText: Type.Union([Type.String(), Type.Null()]),
  allowMessagesFrom: AllowMessagesFrom,
  smartReplies: Type.Boolean({
    description: "the user turned smart replies on: only then does POST /ai/suggestions send a chat's last messages to an AI provider (off by default)",
  }),
});
export type Profile = Static<typeof Profile>;

/** The caller (`GET /users/me`): public fields, the private ones, and the profile. */
export const Me = Type.Object({
  ...User.properties,
  /** The caller holds the instance admin role (docs/api.md, Administration): clients show the admin page. */
  isAdmin: Type.Boolean(),
  email: Type.Union([Type.String(), Type.Null()]),
  lastLoginAt: IsoTime,
  profile: Profile,
});
export type Me = Static<typeof Me>;

export const UpdateProfileBody = Type.Object(
  {
    nickname: Type.Optional(Nickname),
    bio: Type.Optional(Type.String({ maxLength: 500 })),
    // `null` clears a field. Null comes first in these unions: the validator coerces types, and a
    // string branch tried first would turn `null` into "" before the null branch is reached.
    gender: Type.Optional(Type.Union([Type.Null(), Gender])),
    birthday: Type.Optional(Type.Union([Type.Null(), Type.String({ format: 'date' })])),
    location: Type.Optional(Type.Union([Type.Null(), Type.String({ maxLength: 100 })])),
    website: Type.Optional(Type.Union([Type.Null(), Type.String({ maxLength: 255, pattern: '^https?://' })])),
    statusText: Type.Optional(Type.Union([Type.Null(), Type.String({ maxLength: 140 })])),
    allowMessagesFrom: Type.Optional(AllowMessagesFrom),
    smartReplies: Type.Optional(Type.Boolean()),
  },
  { additionalProperties: false },
);
export type UpdateProfileBody = Static<typeof UpdateProfileBody>;
/** What `PATCH /users/me` takes (the SDK's name for it). */
export type ProfileUpdate = UpdateProfileBody;

export const SearchUsersQuery = Type.Object({
  q: Type.String({ minLength: 1, maxLength: 64 }),
  ...PageQuery,
});
export type SearchUsersQuery = Static<typeof SearchUsersQuery>;

/** `PUT /users/me/avatar`'s answer. */
export const AvatarUrls = Type.Object({
  avatarUrl: Type.String({
    description: "the 256×256 WebP, as a path relative to the server (`/api/v1/avatars/<name>`); also the user's `avatarUrl`",
  }),
  avatarSmallUrl: Type.String({ description: 'the 64×64 WebP, relative like `avatarUrl`' }),
});
export type AvatarUrls = Static<typeof AvatarUrls>;

/** The `{fileId}` form of `PUT /users/me/avatar` (a finished tus upload). */
export const AvatarFileIdBody = Type.Object({ fileId: Type.String({ minLength: 1, maxLength: 64 }) });
export type AvatarFileIdBody = Static<typeof AvatarFileIdBody>;
