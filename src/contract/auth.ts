import Type, { type Static } from 'typebox';
import { SESSION_MODE_HEADER } from './api.js';
import { IsoTime } from './common.js';
import { Page, PageQuery } from './paging.js';
import { Email, Nickname, Password, User, Username } from './users.js';

export const RegisterBody = Type.Object(
  { username: Username, password: Password, nickname: Type.Optional(Nickname), email: Type.Optional(Email) },
  { additionalProperties: false },
);
export type RegisterBody = Static<typeof RegisterBody>;

export const LoginBody = Type.Object(
  // Login accepts any string up to the limits: a malformed name simply does not match anyone.
  { username: Type.String({ minLength: 1, maxLength: 64 }), password: Type.String({ minLength: 1, maxLength: 256 }) },
  { additionalProperties: false },
);
export type LoginBody = Static<typeof LoginBody>;

export const GuestBody = Type.Object({ nickname: Type.Optional(Nickname) }, { additionalProperties: false });
export type GuestBody = Static<typeof GuestBody>;

export const UpgradeBody = Type.Object({ username: Username, password: Password, email: Type.Optional(Email) }, { additionalProperties: false });
export type UpgradeBody = Static<typeof UpgradeBody>;

/** `refreshToken` is required unless the request is in cookie mode, where the cookie carries it. */
export const RefreshBody = Type.Object({ refreshToken: Type.Optional(Type.String({ minLength: 1, maxLength: 4096 })) }, { additionalProperties: false });
export type RefreshBody = Static<typeof RefreshBody>;

export const ChangePasswordBody = Type.Object({ currentPassword: Type.String({ minLength: 1, maxLength: 256 }), newPassword: Password }, { additionalProperties: false });
export type ChangePasswordBody = Static<typeof ChangePasswordBody>;

export const SessionModeHeaders = Type.Object({
  [SESSION_MODE_HEADER]: Type.Optional(
    Type.Literal('cookie', { description: 'Cookie mode: the refresh token is set in (and read from) an httpOnly cookie, never in the body. See docs/api.md.' }),
  ),
});

/** A token pair: the access token for requests and sockets, the refresh token to rotate it. */
export const Tokens = Type.Object({
  accessToken: Type.String(),
  refreshToken: Type.String(),
  /** Seconds until the access token expires. */
  expiresIn: Type.Integer(),
});
export type Tokens = Static<typeof Tokens>;

/**
 * What register, login, guest, upgrade and refresh all answer. In cookie mode `refreshToken` is
 * absent: it is in the httpOnly cookie, out of reach of page scripts.
 */
export const AuthResult = Type.Object({
  user: User,
  accessToken: Tokens.properties.accessToken,
  refreshToken: Type.Optional(Type.String()),
  expiresIn: Tokens.properties.expiresIn,
});
export type AuthResult = Static<typeof AuthResult>;

export const Session = Type.Object({
  id: Type.String(),
  ip: Type.String(),
  userAgent: Type.String(),
  createdAt: IsoTime,
  lastUsedAt: IsoTime,
  expiresAt: IsoTime,
  current: Type.Boolean(),
});
export type Session = Static<typeof Session>;
export const SessionList = Type.Object({ items: Type.Array(Session) });
export type SessionList = Static<typeof SessionList>;

export const LoginMethod = Type.Union([Type.Literal('password'), Type.Literal('guest'), Type.Literal('refresh')]);
export type LoginMethod = Static<typeof LoginMethod>;

export const LoginLog = Type.Object({
  id: Type.String(),
  createdAt: IsoTime,
  ip: Type.String(),
  userAgent: Type.String(),
  success: Type.Boolean(),
  method: LoginMethod,
  /** Why a failed attempt failed: `bad_credentials`, `throttled`, `refresh_reused`, `session_revoked`... */
  reason: Type.Union([Type.String(), Type.Null()]),
});
export type LoginLog = Static<typeof LoginLog>;
export const LoginLogPage = Page(LoginLog);
export const LoginLogQuery = Type.Object({ ...PageQuery });
