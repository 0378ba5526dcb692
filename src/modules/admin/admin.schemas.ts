import Type from 'typebox';
import { Id } from '../../contract/common.js';

// The wire types live in the contract, which the SDK shares; routes and services take them from here.
export {
  AdminUser,
  AdminUserPage,
  AdminUsersQuery,
  type AuditAction,
  AuditEntry,
  AuditPage,
  AuditQuery,
  InstanceStats,
  ResetPasswordBody,
  ResetPasswordResult,
  SuspendBody,
} from '../../contract/admin.js';

export const AdminIdParams = Type.Object({ id: Id });
