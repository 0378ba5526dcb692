import { randomBytes } from 'node:crypto';
import type { Cache } from '../../platform/cache/cache.js';
import type { Actor, RequestOrigin } from '../../shared/actor.js';
import type { Clock } from '../../shared/clock.js';
import { AppError } from '../../shared/errors.js';
import { newId } from '../../shared/ids.js';
import { decodeCursor, encodeCursor, type Page } from '../../shared/pagination.js';
import { guestUsername, normalizeEmail, normalizeNickname, normalizeUsername, toUser, type UserRow, type UsersRepository } from '../users/index.js';
import type { AuthRepository, LoginLogRow, SessionRow } from './auth.repository.js';
import type { AuthResult, ChangePasswordBody, GuestBody, LoginBody, LoginLog, LoginMethod, RegisterBody, Session, UpgradeBody } from './auth.schemas.js';
import type { PasswordHasher } from './passwords.js';
import type { TokenIssuer } from './tokens.js';

/** Told when sessions end, so live connections of those sessions can be closed. */
export interface SessionEvents {
  /** `reason` is the revocation's (logout, password_changed, account_suspended...). */
  sessionsRevoked(userId: string, sessionIds: string[], reason: string): void;
}

export interface AuthServiceDeps {
  auth: AuthRepository;
  users: UsersRepository;
  tokens: TokenIssuer;
  cache: Cache;
  clock: Clock;
  events: SessionEvents;
  refreshTtlSec: number;
  loginThrottle: { maxFailures: number; windowSec: number; maxFailuresPerIp: number };
  /** Guest accounts one IP may create per hour. */
  guestCreatePerIpPerHour: number;
  passwords: PasswordHasher;
  /** Whether an account is suspended by an admin (its logins and refreshes are refused). */
  isSuspended?: (userId: string) => Promise<boolean>;
}

const revokedKey = (sessionId: string) => `session:revoked:${sessionId}`;
const failuresKey = (usernameLower: string, ip: string) => `login:failures:${usernameLower}:${ip}`;
const ipFailuresKey = (ip: string) => `login:ip-failures:${ip}`;
const guestsCreatedKey = (ip: string) => `guest:created:${ip}`;

const isLogCursor = (value: unknown): value is { before: number } => typeof value === 'object' && value !== null && Number.isInteger((value as { before?: unknown }).before);

function toSession(row: SessionRow, currentId: string): Session {
  return {
    id: row.id,
    ip: row.ip,
    userAgent: row.user_agent,
    createdAt: new Date(Number(row.created_at)).toISOString(),
    lastUsedAt: new Date(Number(row.last_used_at)).toISOString(),
    expiresAt: new Date(Number(row.expires_at)).toISOString(),
    current: row.id === currentId,
  };
}

function toLoginLog(row: LoginLogRow): LoginLog {
  return {
    id: String(row.id),
    createdAt: new Date(Number(row.created_at)).toISOString(),
    ip: row.ip,
    userAgent: row.user_agent,
    success: Boolean(row.success),
    method: row.method as LoginMethod,
    reason: row.reason,
  };
}

export function createAuthService(deps: AuthServiceDeps) {
  const { auth, users, tokens, cache, clock, events } = deps;
  // Access tokens outlive a revocation by at most their TTL; the revocation mark must last as long.
  const revocationMarkMs = (tokens.accessTtlSec + 60) * 1000;

  async function markRevoked(userId: string, sessionIds: string[], reason = 'session_ended'): Promise<void> {
    if (sessionIds.length === 0) return;
    await Promise.all(sessionIds.map((id) => cache.set(revokedKey(id), '1', revocationMarkMs)));
    events.sessionsRevoked(userId, sessionIds, reason);
  }

  const suspended = () => new AppError('ACCOUNT_SUSPENDED', 'this account is suspended by an administrator');

  async function logAttempt(entry: { userId: string | null; username: string; success: boolean; method: LoginMethod; reason?: string }, origin: RequestOrigin): Promise<void> {
    await auth.insertLoginLog({
      user_id: entry.userId,
      username: entry.username.slice(0, 64),
      success: entry.success ? 1 : 0,
      method: entry.method,
      reason: entry.reason ?? null,
      ip: origin.ip,
      user_agent: origin.userAgent,
      created_at: clock.now().getTime(),
    });
  }

  async function issuePair(user: UserRow, sessionId: string, generation: number, expiresAt: number): Promise<AuthResult> {
    const actor: Actor = { userId: user.id, sessionId, isGuest: Boolean(user.is_guest) };
    const [accessToken, refreshToken] = await Promise.all([tokens.issueAccess(actor), tokens.issueRefresh({ userId: user.id, sessionId, generation }, expiresAt)]);
    return { user: toUser(user), accessToken, refreshToken, expiresIn: tokens.accessTtlSec };
  }

  /** Opens a new session for `user` and returns its first token pair. */
  async function startSession(user: UserRow, origin: RequestOrigin): Promise<AuthResult> {
    const now = clock.now().getTime();
    const expiresAt = now + deps.refreshTtlSec * 1000;
    const sessionId = newId();
    await auth.insertSession({
      id: sessionId,
      user_id: user.id,
      refresh_generation: 0,
      ip: origin.ip,
      user_agent: origin.userAgent,
      created_at: now,
      last_used_at: now,
      expires_at: expiresAt,
      revoked_at: null,
      revoked_reason: null,
    });
    await users.update(user.id, { last_login_at: now });
    return issuePair({ ...user, last_login_at: now }, sessionId, 0, expiresAt);
  }

  async function requireUser(id: string): Promise<UserRow> {
    const user = await users.findById(id);
    if (!user) throw new AppError('UNAUTHORIZED', 'account no longer exists');
    return user;
  }

  const usernameTaken = () => new AppError('CONFLICT', 'username is taken', [{ field: 'username', message: 'is taken' }]);

  /**
   * The email columns for an address given at sign-up or upgrade. The address is an unverified
   * contact detail shown to its own account only and decides no access, so an address another
   * account already gave is accepted like any other: answering "taken" would tell anyone, guests
   * included, which addresses are registered. `email_lower`, the unique claim a verification flow
   * would build on, is set only while no other account holds it.
   */
  async function emailColumns(email: { email: string; lower: string } | null, exceptUserId?: string) {
    if (!email) return { email: null, email_lower: null };
    const claimed = await users.isEmailTaken(email.lower, exceptUserId);
    return { email: email.email, email_lower: claimed ? null : email.lower };
  }

  /**
   * Runs a write that sets `email_lower`; when it fails because another account took the same
   * address meanwhile (the unique index decides), writes again without the claim. A username
   * taken meanwhile is the caller's CONFLICT.
   */
  async function writeClaimingEmail(usernameLower: string, emailLower: string | null, exceptUserId: string | undefined, write: (claim: boolean) => Promise<void>) {
    try {
      await write(true);
    } catch (error) {
      if (await users.isUsernameTaken(usernameLower, exceptUserId)) throw usernameTaken();
      if (emailLower === null || !(await users.isEmailTaken(emailLower, exceptUserId))) throw error;
      await write(false);
    }
  }

  return {
    /** Creates an account and logs it in. */
    async register(input: RegisterBody, origin: RequestOrigin): Promise<AuthResult> {
      const { username, lower } = normalizeUsername(input.username);
      const nickname = input.nickname === undefined ? username : normalizeNickname(input.nickname);
      if (await users.isUsernameTaken(lower)) throw usernameTaken();
      const email = await emailColumns(normalizeEmail(input.email));
      const now = clock.now().getTime();
      const user: UserRow = {
        id: newId(),
        username,
        username_lower: lower,
        nickname,
        nickname_lower: nickname.toLowerCase(),
        ...email,
        password_hash: await deps.passwords.hash(input.password),
        is_guest: 0,
        is_bot: 0,
        avatar_url: null,
        bio: '',
        created_at: now,
        updated_at: now,
        last_login_at: now,
        last_seen_at: null,
      };
      // Two registrations racing for one name or address: the unique indexes decide.
      await writeClaimingEmail(lower, email.email_lower, undefined, async (claim) => {
        if (!claim) user.email_lower = null;
        await users.insertWithProfile(user, now);
      });
      await logAttempt({ userId: user.id, username, success: true, method: 'password', reason: 'registered' }, origin);
      return startSession(user, origin);
    },

    /**
     * Password login. Unknown users and wrong passwords get the same answer in the same time.
     * Each attempt takes its number on two counters before the password is checked: the
     * username-and-IP pair (`maxFailures`) and the IP over all names (`maxFailuresPerIp`). An attempt
     * beyond either limit is refused unverified, so concurrent attempts cannot all be checked
     * against a count read before any of them failed.
     */
    async login(input: LoginBody, origin: RequestOrigin): Promise<AuthResult> {
      const lower = input.username.normalize('NFC').toLowerCase();
      const { maxFailures, maxFailuresPerIp, windowSec } = deps.loginThrottle;
      const pairKey = failuresKey(lower, origin.ip);
      const ipKey = ipFailuresKey(origin.ip);
      const [pair, ip] = await Promise.all([cache.incr(pairKey, windowSec * 1000), cache.incr(ipKey, windowSec * 1000)]);
      const user = await users.findByUsernameLower(lower);
      if (pair.count > maxFailures || ip.count > maxFailuresPerIp) {
        // A refused attempt checked nothing: give its numbers back, so only real guesses fill the counters.
        await Promise.all([cache.decr(pairKey), cache.decr(ipKey)]);
        const ttlMs = Math.max(pair.count > maxFailures ? pair.ttlMs : 0, ip.count > maxFailuresPerIp ? ip.ttlMs : 0);
        await logAttempt({ userId: user?.id ?? null, username: input.username, success: false, method: 'password', reason: 'throttled' }, origin);
        throw new AppError('RATE_LIMITED', 'too many failed logins; try again later', undefined, Math.max(1, Math.ceil(ttlMs / 1000)));
      }
      const valid = await deps.passwords.verify(user?.password_hash, input.password);
      if (!user || !valid) {
        // The attempt stays counted on both counters.
        await logAttempt({ userId: user?.id ?? null, username: input.username, success: false, method: 'password', reason: 'bad_credentials' }, origin);
        throw new AppError('UNAUTHORIZED', 'wrong username or password');
      }
      // Success forgets this name's failures from this IP; for the IP it only takes back this attempt.
      await Promise.all([cache.del(pairKey), cache.decr(ipKey)]);
      // Checked only once the password is right: a guesser learns nothing about the account.
      if (await deps.isSuspended?.(user.id)) {
        await logAttempt({ userId: user.id, username: user.username, success: false, method: 'password', reason: 'suspended' }, origin);
        throw suspended();
      }
      await logAttempt({ userId: user.id, username: user.username, success: true, method: 'password' }, origin);
      return startSession(user, origin);
    },

    /** A guest account: chats like anyone, has no password until upgraded. */
    async guest(input: GuestBody, origin: RequestOrigin): Promise<AuthResult> {
      // Counted before anything is created, so a burst of concurrent requests cannot pass the limit.
      const created = await cache.incr(guestsCreatedKey(origin.ip), 3_600_000);
      if (created.count > deps.guestCreatePerIpPerHour) {
        throw new AppError('RATE_LIMITED', 'too many guest accounts from this address; try again later', undefined, Math.max(1, Math.ceil(created.ttlMs / 1000)));
      }
      const username = guestUsername(randomBytes(6).toString('hex'));
      const nickname = input.nickname === undefined ? `Guest ${username.slice(-4)}` : normalizeNickname(input.nickname);
      const now = clock.now().getTime();
      const user: UserRow = {
        id: newId(),
        username,
        username_lower: username,
        nickname,
        nickname_lower: nickname.toLowerCase(),
        email: null,
        email_lower: null,
        password_hash: null,
        is_guest: 1,
        is_bot: 0,
        avatar_url: null,
        bio: '',
        created_at: now,
        updated_at: now,
        last_login_at: now,
        last_seen_at: null,
      };
      await users.insertWithProfile(user, now);
      await logAttempt({ userId: user.id, username, success: true, method: 'guest' }, origin);
      return startSession(user, origin);
    },

    /** Turns the calling guest into a full account with the same id, friends and history. */
    async upgrade(actor: Actor, input: UpgradeBody, origin: RequestOrigin): Promise<AuthResult> {
      const notAGuest = () => new AppError('FORBIDDEN', 'only a guest account can be upgraded');
      const user = await requireUser(actor.userId);
      if (!user.is_guest) throw notAGuest();
      const { username, lower } = normalizeUsername(input.username);
      if (await users.isUsernameTaken(lower, user.id)) throw usernameTaken();
      const email = await emailColumns(normalizeEmail(input.email), user.id);
      const now = clock.now().getTime();
      const patch = {
        username,
        username_lower: lower,
        ...email,
        password_hash: await deps.passwords.hash(input.password),
        is_guest: 0,
        is_bot: 0,
        updated_at: now,
      };
      let upgraded = false;
      try {
        await writeClaimingEmail(lower, email.email_lower, user.id, async (claim) => {
          if (!claim) patch.email_lower = null;
          upgraded = await users.updateGuest(user.id, patch);
        });
      } catch (error) {
        // Racing the other upgrade of this guest, the write can fail instead of matching no row (a
        // MariaDB CI run answered one such loser 500 once; a deadlock victim is the likely cause):
        // the account's state says who won.
        if (!(await requireUser(user.id)).is_guest) throw notAGuest();
        throw error;
      }
      // Another upgrade of this guest (a double tap, a second tab) wrote first: its name and password stand.
      if (!upgraded) throw notAGuest();
      await logAttempt({ userId: user.id, username, success: true, method: 'password', reason: 'guest_upgraded' }, origin);
      // The guest's other sessions carry guest tokens: end them, and open a fresh full session here.
      const others = await auth.revokeSessions(user.id, 'all', 'guest_upgraded', now);
      await markRevoked(user.id, others);
      return startSession({ ...user, ...patch }, origin);
    },

    /** Exchanges a refresh token for a new pair. A spent token revokes its whole session. */
    async refresh(refreshToken: string, origin: RequestOrigin): Promise<AuthResult> {
      const claims = await tokens.verifyRefresh(refreshToken);
      const now = clock.now().getTime();
      const session = await auth.findSession(claims.sessionId);
      const fail = async (reason: string, message: string): Promise<never> => {
        await logAttempt({ userId: session ? session.user_id : null, username: '', success: false, method: 'refresh', reason }, origin);
        throw new AppError('UNAUTHORIZED', message);
      };
      if (!session || session.user_id !== claims.userId) return fail('unknown_session', 'invalid refresh token');
      // Before the revocation check: suspending ended this session, and the client should learn why.
      if (await deps.isSuspended?.(session.user_id)) {
        await logAttempt({ userId: session.user_id, username: '', success: false, method: 'refresh', reason: 'suspended' }, origin);
        throw suspended();
      }
      if (session.revoked_at !== null) return fail('session_revoked', 'session has ended; log in again');
      if (Number(session.expires_at) <= now) return fail('session_expired', 'session has expired; log in again');
      const expiresAt = now + deps.refreshTtlSec * 1000;
      const advanced =
        claims.generation === session.refresh_generation &&
        (await auth.advanceGeneration(session.id, claims.generation, { last_used_at: now, expires_at: expiresAt, ip: origin.ip, user_agent: origin.userAgent }));
      if (!advanced) {
        const revoked = await auth.revokeSessions(session.user_id, [session.id], 'refresh_reused', now);
        await markRevoked(session.user_id, revoked);
        return fail('refresh_reused', 'refresh token was already used; the session has been ended');
      }
      const user = await requireUser(session.user_id);
      await logAttempt({ userId: user.id, username: user.username, success: true, method: 'refresh' }, origin);
      return issuePair(user, session.id, claims.generation + 1, expiresAt);
    },

    /** Ends the caller's current session. */
    async logout(actor: Actor): Promise<void> {
      const revoked = await auth.revokeSessions(actor.userId, [actor.sessionId], 'logout', clock.now().getTime());
      await markRevoked(actor.userId, revoked);
    },

    /** Ends every session of these users (accounts about to be deleted, suspended); their sockets get `session_revoked {reason}`. */
    async endAllSessions(userIds: readonly string[], reason: string): Promise<void> {
      const now = clock.now().getTime();
      for (const userId of userIds) await markRevoked(userId, await auth.revokeSessions(userId, 'all', reason, now), reason);
    },

    /** Sets a password chosen by an admin and ends every session of the account. */
    async resetPassword(userId: string, password: string): Promise<void> {
      const now = clock.now().getTime();
      await users.update(userId, { password_hash: await deps.passwords.hash(password), updated_at: now });
      await markRevoked(userId, await auth.revokeSessions(userId, 'all', 'password_reset', now), 'password_reset');
    },

    async listSessions(actor: Actor): Promise<Session[]> {
      const rows = await auth.listActiveSessions(actor.userId, clock.now().getTime());
      return rows.map((row) => toSession(row, actor.sessionId));
    },

    /** Revokes one of the caller's sessions; another user's session id is simply not found. */
    async revokeSession(actor: Actor, sessionId: string): Promise<void> {
      const revoked = await auth.revokeSessions(actor.userId, [sessionId], 'revoked_by_user', clock.now().getTime());
      if (revoked.length === 0) throw new AppError('NOT_FOUND', 'no active session with that id');
      await markRevoked(actor.userId, revoked);
    },

    /** Changes the password and ends every other session of the caller. */
    async changePassword(actor: Actor, input: ChangePasswordBody): Promise<void> {
      const user = await requireUser(actor.userId);
      if (user.is_guest) throw new AppError('FORBIDDEN', 'a guest has no password; upgrade the account first');
      if (!(await deps.passwords.verify(user.password_hash, input.currentPassword))) {
        throw new AppError('FORBIDDEN', 'current password is incorrect', [{ field: 'currentPassword', message: 'is incorrect' }]);
      }
      const now = clock.now().getTime();
      await users.update(user.id, { password_hash: await deps.passwords.hash(input.newPassword), updated_at: now });
      const revoked = await auth.revokeSessions(user.id, 'all', 'password_changed', now, actor.sessionId);
      await markRevoked(user.id, revoked);
    },

    async loginLogs(actor: Actor, cursor: string | undefined, limit: number): Promise<Page<LoginLog>> {
      const position = decodeCursor(cursor, isLogCursor);
      if (cursor && !position) throw AppError.validation('cursor', 'is not a cursor this list returned');
      const rows = await auth.listLoginLogs(actor.userId, position?.before, limit + 1);
      const items = rows.slice(0, limit);
      const last = items.at(-1);
      return { items: items.map(toLoginLog), nextCursor: rows.length > limit && last ? encodeCursor({ before: Number(last.id) }) : null };
    },

    /** Verifies an access token and that its session has not been revoked. */
    async authenticate(accessToken: string): Promise<Actor> {
      const actor = await tokens.verifyAccess(accessToken);
      if ((await cache.get(revokedKey(actor.sessionId))) !== null) throw new AppError('UNAUTHORIZED', 'session has ended');
      return actor;
    },

    /** Like authenticate, with the token's expiry, for long-lived socket connections. */
    async authenticateWithExpiry(accessToken: string): Promise<{ actor: Actor; expiresAt: number }> {
      const { actor, expiresAt } = await tokens.verifyAccessWithExpiry(accessToken);
      if ((await cache.get(revokedKey(actor.sessionId))) !== null) throw new AppError('UNAUTHORIZED', 'session has ended');
      return { actor, expiresAt };
    },

    /**
     * Re-marks sessions revoked within one access-token lifetime. Needed when the cache is in
     * memory and the process restarted: otherwise their access tokens would work again.
     */
    async restoreRevocations(): Promise<number> {
      const now = clock.now().getTime();
      const recent = await auth.listRevokedSince(now - revocationMarkMs);
      await Promise.all(recent.map((row) => cache.set(revokedKey(row.id), '1', Math.max(1000, row.revoked_at + revocationMarkMs - now))));
      return recent.length;
    },
  };
}

export type AuthService = ReturnType<typeof createAuthService>;
