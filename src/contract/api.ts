/** Where every REST route lives: the server mounts its routes here and the SDK calls them here. */
export const API_PREFIX = '/api/v1';

/**
 * The header that asks register, login, guest, upgrade, refresh and logout for cookie mode: the
 * refresh token travels in an httpOnly cookie instead of the body. A cross-site form cannot send a
 * custom header, and a cross-origin script cannot send one without passing CORS: it is the CSRF guard.
 * Plain strings here (not in auth.ts) so the SDK can use them without bundling schema code.
 */
export const SESSION_MODE_HEADER = 'x-parley-session';
/** The cookie holding the refresh token in cookie mode; its Path keeps it to the auth routes. */
export const REFRESH_COOKIE = 'parley_refresh';
