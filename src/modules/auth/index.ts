export { type AuthRepository, createAuthRepository } from './auth.repository.js';
export { authRoutes } from './auth.routes.js';
export { type AuthService, createAuthService, type SessionEvents } from './auth.service.js';
export { createPasswordHasher, type PasswordHasher } from './passwords.js';
export { createTokenIssuer, type TokenIssuer } from './tokens.js';
