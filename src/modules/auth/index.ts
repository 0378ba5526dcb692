export { createAuthRepository, type AuthRepository } from './auth.repository.js';
export { createAuthService, type AuthService, type SessionEvents } from './auth.service.js';
export { createPasswordHasher, type PasswordHasher } from './passwords.js';
export { createTokenIssuer, type TokenIssuer } from './tokens.js';
export { authRoutes } from './auth.routes.js';
