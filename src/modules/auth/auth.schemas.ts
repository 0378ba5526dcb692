import Type, { type Static } from 'typebox';
import { Email, IsoTime, Nickname, PageQuery, Password, User, Username } from '../users/index.js';

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

export const UpgradeBody = Type.Object(
  { username: Username, password: Password, email: Type.Optional(Email) },
  { additionalProperties: false },
);
export type UpgradeBody = Static<typeof UpgradeBody>;

export const RefreshBody = Type.Object({ refreshToken: Type.String({ minLength: 1, maxLength: 4096 }) }, { additionalProperties: false });

export const ChangePasswordBody = Type.Object(
  { currentPassword: Type.String({ minLength: 1, maxLength: 256 }), newPassword: Password },
  { additionalProperties: false },
);
export type ChangePasswordBody = Static<typeof ChangePasswordBody>;

export const AuthResult = Type.Object({
  user: User,
  accessToken: Type.String(),
  refreshToken: Type.String(),
  /** Seconds until the access token expires. */
  expiresIn: Type.Integer(),
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
export const LoginLogPage = Type.Object({ items: Type.Array(LoginLog), nextCursor: Type.Union([Type.String(), Type.Null()]) });
export const LoginLogQuery = Type.Object({ ...PageQuery });

export const SessionIdParams = Type.Object({ id: Type.String({ minLength: 1, maxLength: 64 }) });
