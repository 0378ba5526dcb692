import Type from 'typebox';

// The wire types live in the contract, which the SDK shares; routes and services take them from here.
export {
  AuthResult,
  ChangePasswordBody,
  GuestBody,
  LoginBody,
  LoginLog,
  LoginLogPage,
  LoginLogQuery,
  LoginMethod,
  RefreshBody,
  RegisterBody,
  Session,
  SessionList,
  SessionModeHeaders,
  UpgradeBody,
} from '../../contract/auth.js';

export const SessionIdParams = Type.Object({ id: Type.String({ minLength: 1, maxLength: 64 }) });
