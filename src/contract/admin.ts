import Type, { type Static } from 'typebox';
import { IsoTime } from './common.js';
import { Page, PageQuery } from './paging.js';
import { User } from './users.js';

/** Where a user's admin role comes from: ADMIN_USERNAMES (`config`, not revocable here) or another admin's grant. */
export const AdminRoleSource = Type.Union([Type.Literal('config'), Type.Literal('granted'), Type.Null()]);

/** A user as admins see them: the public fields plus role, suspension and last login. */
export const AdminUser = Type.Object({
  ...User.properties,
  isAdmin: Type.Boolean(),
  adminSource: AdminRoleSource,
  /** When the account was suspended, null when it is not. */
  suspendedAt: Type.Union([IsoTime, Type.Null()]),
  suspendedReason: Type.Union([Type.String(), Type.Null()]),
  lastLoginAt: IsoTime,
});
export type AdminUser = Static<typeof AdminUser>;

export const AdminUserPage = Page(AdminUser);

/** `GET /admin/users`: every account (guests included) by id; `q` keeps those whose username or nickname starts with it. */
export const AdminUsersQuery = Type.Object({
  q: Type.Optional(Type.String({ minLength: 1, maxLength: 64 })),
  ...PageQuery,
});
export type AdminUsersQuery = Static<typeof AdminUsersQuery>;

export const SuspendBody = Type.Object(
  { reason: Type.Optional(Type.String({ maxLength: 500, description: 'why, for the audit log and other admins' })) },
  { additionalProperties: false },
);
export type SuspendBody = Static<typeof SuspendBody>;

export const ResetPasswordBody = Type.Object(
  { password: Type.Optional(Type.String({ minLength: 8, maxLength: 256, description: 'the temporary password to set; without it the server generates one' })) },
  { additionalProperties: false },
);
export type ResetPasswordBody = Static<typeof ResetPasswordBody>;

export const ResetPasswordResult = Type.Object({
  /** The password now set (generated or the one given): shown this once, never stored in clear. */
  password: Type.String(),
});
export type ResetPasswordResult = Static<typeof ResetPasswordResult>;

/** What an audit entry records. */
export const AUDIT_ACTIONS = [
  'admin_granted',
  'admin_revoked',
  'user_suspended',
  'user_unsuspended',
  'user_deleted',
  'password_reset',
  'message_deleted',
  'group_dissolved',
  'report_resolved',
  'report_dismissed',
] as const;
export type AuditAction = (typeof AUDIT_ACTIONS)[number];

export const AuditEntry = Type.Object({
  id: Type.String(),
  /** The admin who acted. */
  actorId: Type.String(),
  action: Type.String({ description: AUDIT_ACTIONS.join(', ') }),
  targetType: Type.String({ description: 'user, message, group or report' }),
  targetId: Type.String(),
  /** What else the action recorded (a reason, a conversation id), or null. */
  details: Type.Union([Type.Record(Type.String(), Type.String()), Type.Null()]),
  createdAt: IsoTime,
});
export type AuditEntry = Static<typeof AuditEntry>;

export const AuditPage = Page(AuditEntry);
export const AuditQuery = Type.Object({ ...PageQuery });
export type AuditQuery = Static<typeof AuditQuery>;

/** `GET /admin/stats`: the instance at a glance. */
export const InstanceStats = Type.Object({
  users: Type.Integer({ description: 'accounts, guests included' }),
  guests: Type.Integer(),
  suspendedUsers: Type.Integer(),
  admins: Type.Integer({ description: 'granted admins plus the ADMIN_USERNAMES accounts that exist' }),
  messages: Type.Integer(),
  groups: Type.Integer(),
  files: Type.Integer(),
  fileBytes: Type.Integer(),
  onlineSockets: Type.Integer({ description: 'open Socket.IO connections on every process' }),
});
export type InstanceStats = Static<typeof InstanceStats>;
