import { describe, expect, it, vi } from 'vitest';
import { type ApiResponse, expectError, newUser, uniqueName } from './support/http.js';
import { storageLabel } from './support/server.js';
import { useTestServer } from './support/suite.js';

const PASSWORD = 'correct horse battery';

/** The field names a 400 names in `error.details[].field`. */
function fieldsOf(error: { details?: any }): string[] {
  return ((error.details ?? []) as Array<{ field: string }>).map((problem) => problem.field);
}

function expectValidation(res: ApiResponse, field: string): void {
  const error = expectError(res, 400, 'VALIDATION_FAILED');
  expect(fieldsOf(error)).toContain(field);
}

/** A suffix that keeps names made of other scripts unique (digits are allowed in usernames). */
function uniqueDigits(): string {
  return String(Math.floor(Math.random() * 1e9)).padStart(9, '0');
}

function expectAuthResult(body: any): void {
  expect(body).toEqual({
    user: expect.objectContaining({ id: expect.any(String), username: expect.any(String), nickname: expect.any(String), isGuest: expect.any(Boolean) }),
    accessToken: expect.any(String),
    refreshToken: expect.any(String),
    expiresIn: expect.any(Number),
  });
  expect(body.expiresIn).toBeGreaterThan(0);
  expect(body.user).toEqual({
    id: expect.any(String),
    username: expect.any(String),
    nickname: expect.any(String),
    avatarUrl: null,
    isGuest: expect.any(Boolean),
    bot: false,
    bio: expect.any(String),
    createdAt: expect.stringMatching(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?Z$/),
  });
}

describe(`users and auth: authentication routes (${storageLabel})`, () => {
  const suite = useTestServer();
  const { api } = suite;

  const login = (username: string, password: string, headers?: Record<string, string>) =>
    api('POST', '/auth/login', { body: { username, password }, ...(headers ? { headers } : {}) });
  const me = (token: string) => api('GET', '/users/me', { token });

  describe('POST /auth/register', () => {
    it('creates an account and logs it in, without ever returning a password hash', async () => {
      const username = uniqueName('reg');
      const res = await api('POST', '/auth/register', { body: { username, password: PASSWORD, nickname: 'Regina', email: `${username}@example.com` } });
      expect(res.status).toBe(201);
      expectAuthResult(res.body);
      expect(res.body.user).toMatchObject({ username, nickname: 'Regina', isGuest: false, bio: '' });
      const raw = JSON.stringify(res.body);
      expect(raw).not.toMatch(/argon2|password/i);
      expect(raw).not.toContain(PASSWORD);
      expect((await me(res.body.accessToken)).body).toMatchObject({ id: res.body.user.id, username, email: `${username}@example.com` });
    });

    it('uses the username as nickname when none is given', async () => {
      const username = uniqueName('nonick');
      const res = await api('POST', '/auth/register', { body: { username, password: PASSWORD } });
      expect(res.status).toBe(201);
      expect(res.body.user.nickname).toBe(username);
    });

    it('accepts usernames made of letters of any script, digits and _ . -', async () => {
      for (const base of ['张三丰', 'Ünïcødé', 'مرحبا', 'Привет', 'a_b.c-d']) {
        const username = `${base}${uniqueDigits()}`;
        const res = await api('POST', '/auth/register', { body: { username, password: PASSWORD } });
        expect(res.status, `${username}: ${JSON.stringify(res.body)}`).toBe(201);
        expect(res.body.user.username).toBe(username);
        const again = await login(username, PASSWORD);
        expect(again.status).toBe(200);
        expect(again.body.user.id).toBe(res.body.user.id);
      }
    });

    it('accepts usernames of exactly 3 and exactly 32 characters', async () => {
      const short = `${uniqueDigits().slice(0, 2)}z`;
      expect((await api('POST', '/auth/register', { body: { username: short, password: PASSWORD } })).status).toBe(201);
      const long = `${uniqueName('l')}${'x'.repeat(21)}`;
      expect([...long]).toHaveLength(32);
      expect((await api('POST', '/auth/register', { body: { username: long, password: PASSWORD } })).status).toBe(201);
      const cjk32 = `${'字'.repeat(23)}${uniqueDigits()}`;
      expect([...cjk32]).toHaveLength(32);
      expect((await api('POST', '/auth/register', { body: { username: cjk32, password: PASSWORD } })).status).toBe(201);
    });

    it('refuses usernames with other characters, too short or too long, naming the field', async () => {
      for (const username of ['has space', 'semi;colon', 'at@sign', 'emoji😀x', 'slash/x', 'ab', 'x'.repeat(33), '']) {
        expectValidation(await api('POST', '/auth/register', { body: { username, password: PASSWORD } }), 'username');
      }
    });

    it('refuses a missing username or password, naming the field', async () => {
      expectValidation(await api('POST', '/auth/register', { body: { password: PASSWORD } }), 'username');
      expectValidation(await api('POST', '/auth/register', { body: { username: uniqueName() } }), 'password');
    });

    it('refuses usernames starting with guest_, which are reserved for guests', async () => {
      expectValidation(await api('POST', '/auth/register', { body: { username: `guest_${uniqueDigits()}`, password: PASSWORD } }), 'username');
      expectValidation(await api('POST', '/auth/register', { body: { username: `GUEST_${uniqueDigits()}`, password: PASSWORD } }), 'username');
    });

    it('refuses a password shorter than 8 characters', async () => {
      expectValidation(await api('POST', '/auth/register', { body: { username: uniqueName(), password: 'short77' } }), 'password');
    });

    it('treats usernames that differ only in case as the same name', async () => {
      const suffix = uniqueDigits();
      expect((await api('POST', '/auth/register', { body: { username: `Alice${suffix}`, password: PASSWORD } })).status).toBe(201);
      const clash = expectError(await api('POST', '/auth/register', { body: { username: `alice${suffix}`, password: PASSWORD } }), 409, 'CONFLICT');
      expect(fieldsOf(clash)).toContain('username');
      expectError(await api('POST', '/auth/register', { body: { username: `ALICE${suffix}`, password: PASSWORD } }), 409, 'CONFLICT');
      const accented = `Ärger${suffix}`;
      expect((await api('POST', '/auth/register', { body: { username: accented, password: PASSWORD } })).status).toBe(201);
      expectError(await api('POST', '/auth/register', { body: { username: accented.toLowerCase(), password: PASSWORD } }), 409, 'CONFLICT');
    });

    it('logs in regardless of the case the username is typed in', async () => {
      const user = await newUser(api, { username: `CamelCase${uniqueDigits()}` });
      const res = await login(user.username.toLowerCase(), PASSWORD);
      expect(res.status).toBe(200);
      expect(res.body.user.id).toBe(user.id);
    });

    it('refuses a malformed email', async () => {
      expectValidation(await api('POST', '/auth/register', { body: { username: uniqueName(), password: PASSWORD, email: 'not-an-email' } }), 'email');
    });

    it('trims the nickname', async () => {
      const res = await api('POST', '/auth/register', { body: { username: uniqueName(), password: PASSWORD, nickname: '  Bob  ' } });
      expect(res.status).toBe(201);
      expect(res.body.user.nickname).toBe('Bob');
    });

    it('refuses a nickname that is blank after trimming, holds control characters or is longer than 64', async () => {
      for (const nickname of ['   ', '\t \n', 'a\u0007b', 'line\nbreak', 'x'.repeat(65), '']) {
        expectValidation(await api('POST', '/auth/register', { body: { username: uniqueName(), password: PASSWORD, nickname } }), 'nickname');
      }
      const sixtyFour = await api('POST', '/auth/register', { body: { username: uniqueName(), password: PASSWORD, nickname: '好'.repeat(64) } });
      expect(sixtyFour.status).toBe(201);
      expect(sixtyFour.body.user.nickname).toBe('好'.repeat(64));
    });
  });

  describe('POST /auth/login', () => {
    it('logs in with username and password and returns the same shape as register', async () => {
      const user = await newUser(api);
      const res = await login(user.username, user.password);
      expect(res.status).toBe(200);
      expectAuthResult(res.body);
      expect(res.body.user).toEqual(user.user);
      expect(JSON.stringify(res.body)).not.toMatch(/argon2|password/i);
      expect((await me(res.body.accessToken)).status).toBe(200);
    });

    it('answers a wrong password and an unknown user with the same 401', async () => {
      const user = await newUser(api);
      const wrong = expectError(await login(user.username, 'not the password'), 401, 'UNAUTHORIZED');
      const unknown = expectError(await login(uniqueName('nobody'), 'not the password'), 401, 'UNAUTHORIZED');
      expect(unknown.message).toBe(wrong.message);
      expect(unknown.details).toEqual(wrong.details);
    });

    it('refuses a guest account, which has no password, like an unknown user', async () => {
      const guest = await api('POST', '/auth/guest', { body: {} });
      expectError(await login(guest.body.user.username, 'anything at all'), 401, 'UNAUTHORIZED');
    });

    it('refuses a body without username or password', async () => {
      expectValidation(await api('POST', '/auth/login', { body: { password: PASSWORD } }), 'username');
      expectValidation(await api('POST', '/auth/login', { body: { username: uniqueName() } }), 'password');
    });

    it('locks one account from one IP out after 5 failed logins, even for the right password, with Retry-After', async () => {
      const user = await newUser(api);
      const bystander = await newUser(api);
      for (let attempt = 1; attempt <= 5; attempt++) {
        expectError(await login(user.username, `wrong password ${attempt}`), 401, 'UNAUTHORIZED');
      }
      const locked = await login(user.username, user.password);
      expectError(locked, 429, 'RATE_LIMITED');
      const retryAfter = locked.headers.get('retry-after');
      expect(retryAfter).toMatch(/^\d+$/);
      expect(Number(retryAfter)).toBeGreaterThan(0);
      // Still locked on the next try, whatever the case of the name.
      expectError(await login(user.username.toUpperCase(), user.password), 429, 'RATE_LIMITED');
      // Another account from the same IP is not affected.
      expect((await login(bystander.username, bystander.password)).status).toBe(200);
    });

    it('forgets earlier failures after a successful login', async () => {
      const user = await newUser(api);
      for (let attempt = 1; attempt <= 4; attempt++) expectError(await login(user.username, 'wrong password'), 401, 'UNAUTHORIZED');
      expect((await login(user.username, user.password)).status).toBe(200);
      for (let attempt = 1; attempt <= 4; attempt++) expectError(await login(user.username, 'wrong password'), 401, 'UNAUTHORIZED');
      expect((await login(user.username, user.password)).status).toBe(200);
    });
  });

  describe('POST /auth/guest', () => {
    it('creates a guest from an empty object', async () => {
      const res = await api('POST', '/auth/guest', { body: {} });
      expect(res.status).toBe(201);
      expectAuthResult(res.body);
      expect(res.body.user.isGuest).toBe(true);
      expect(res.body.user.username).toMatch(/^guest_/);
      expect(res.body.user.nickname.length).toBeGreaterThan(0);
      const profile = await me(res.body.accessToken);
      expect(profile.status).toBe(200);
      expect(profile.body).toMatchObject({ id: res.body.user.id, isGuest: true });
    });

    it('creates a guest from a request without a body', async () => {
      const res = await api('POST', '/auth/guest');
      expect(res.status, JSON.stringify(res.body)).toBe(201);
      expect(res.body.user.isGuest).toBe(true);
    });

    it('creates a guest with the nickname given, trimmed', async () => {
      const res = await api('POST', '/auth/guest', { body: { nickname: '  訪客 🐼  ' } });
      expect(res.status).toBe(201);
      expect(res.body.user).toMatchObject({ isGuest: true, nickname: '訪客 🐼' });
    });

    it('refuses a blank or control-character nickname', async () => {
      expectValidation(await api('POST', '/auth/guest', { body: { nickname: '  ' } }), 'nickname');
      expectValidation(await api('POST', '/auth/guest', { body: { nickname: 'a\u0007b' } }), 'nickname');
    });

    it('gives every guest a different account', async () => {
      const [a, b] = await Promise.all([api('POST', '/auth/guest', { body: {} }), api('POST', '/auth/guest', { body: {} })]);
      expect(a.body.user.id).not.toBe(b.body.user.id);
      expect(a.body.user.username).not.toBe(b.body.user.username);
    });
  });

  describe('POST /auth/upgrade', () => {
    it('turns a guest into a full account with the same id that can log in with its password', async () => {
      const guest = (await api('POST', '/auth/guest', { body: { nickname: 'Visitor' } })).body;
      const username = uniqueName('upg');
      const res = await api('POST', '/auth/upgrade', { token: guest.accessToken, body: { username, password: PASSWORD, email: `${username}@example.com` } });
      expect(res.status).toBe(200);
      expectAuthResult(res.body);
      expect(res.body.user).toMatchObject({ id: guest.user.id, username, nickname: 'Visitor', isGuest: false });
      expect(JSON.stringify(res.body)).not.toMatch(/argon2|password/i);
      const profile = await me(res.body.accessToken);
      expect(profile.body).toMatchObject({ id: guest.user.id, username, isGuest: false, email: `${username}@example.com` });
      const again = await login(username, PASSWORD);
      expect(again.status).toBe(200);
      expect(again.body.user.id).toBe(guest.user.id);
    });

    it('ends the guest sessions, whose tokens say "guest"', async () => {
      const guest = (await api('POST', '/auth/guest', { body: {} })).body;
      const res = await api('POST', '/auth/upgrade', { token: guest.accessToken, body: { username: uniqueName(), password: PASSWORD } });
      expect(res.status).toBe(200);
      expectError(await me(guest.accessToken), 401, 'UNAUTHORIZED');
      expectError(await api('POST', '/auth/refresh', { body: { refreshToken: guest.refreshToken } }), 401, 'UNAUTHORIZED');
      expect((await me(res.body.accessToken)).status).toBe(200);
    });

    it('is forbidden to an account that is not a guest', async () => {
      const user = await newUser(api);
      expectError(await api('POST', '/auth/upgrade', { token: user.accessToken, body: { username: uniqueName(), password: PASSWORD } }), 403, 'FORBIDDEN');
    });

    it('refuses a username already taken, regardless of case', async () => {
      const taken = await newUser(api, { username: `Taken${uniqueDigits()}` });
      const guest = (await api('POST', '/auth/guest', { body: {} })).body;
      const clash = expectError(
        await api('POST', '/auth/upgrade', { token: guest.accessToken, body: { username: taken.username.toLowerCase(), password: PASSWORD } }),
        409,
        'CONFLICT',
      );
      expect(fieldsOf(clash)).toContain('username');
      expect((await me(guest.accessToken)).body.isGuest).toBe(true);
    });

    it('validates the username and password like register does', async () => {
      const guest = (await api('POST', '/auth/guest', { body: {} })).body;
      expectValidation(await api('POST', '/auth/upgrade', { token: guest.accessToken, body: { username: 'no spaces allowed', password: PASSWORD } }), 'username');
      expectValidation(await api('POST', '/auth/upgrade', { token: guest.accessToken, body: { username: `guest_${uniqueDigits()}`, password: PASSWORD } }), 'username');
      expectValidation(await api('POST', '/auth/upgrade', { token: guest.accessToken, body: { username: uniqueName(), password: 'short' } }), 'password');
    });

    it('needs a token', async () => {
      expectError(await api('POST', '/auth/upgrade', { body: { username: uniqueName(), password: PASSWORD } }), 401, 'UNAUTHORIZED');
    });

    it('upgrades only the caller, whatever userId the body names', async () => {
      const caller = (await api('POST', '/auth/guest', { body: {} })).body;
      const victim = (await api('POST', '/auth/guest', { body: {} })).body;
      const res = await api('POST', '/auth/upgrade', { token: caller.accessToken, body: { username: uniqueName(), password: PASSWORD, userId: victim.user.id } });
      // The extra field is dropped or refused, but never acted on.
      expect([200, 400]).toContain(res.status);
      if (res.status === 200) expect(res.body.user.id).toBe(caller.user.id);
      const victimNow = await me(victim.accessToken);
      expect(victimNow.status).toBe(200);
      expect(victimNow.body).toMatchObject({ id: victim.user.id, isGuest: true, username: victim.user.username });
    });
  });

  describe('POST /auth/refresh', () => {
    it('exchanges a refresh token for a new pair with a different refresh token', async () => {
      const user = await newUser(api);
      const res = await api('POST', '/auth/refresh', { body: { refreshToken: user.refreshToken } });
      expect(res.status).toBe(200);
      expectAuthResult(res.body);
      expect(res.body.user.id).toBe(user.id);
      expect(res.body.refreshToken).not.toBe(user.refreshToken);
      expect((await me(res.body.accessToken)).status).toBe(200);
      // The rotated token works in turn.
      const next = await api('POST', '/auth/refresh', { body: { refreshToken: res.body.refreshToken } });
      expect(next.status).toBe(200);
      expect(next.body.refreshToken).not.toBe(res.body.refreshToken);
    });

    it('revokes the whole session when a spent refresh token is reused', async () => {
      const user = await newUser(api);
      const rotated = await api('POST', '/auth/refresh', { body: { refreshToken: user.refreshToken } });
      expect(rotated.status).toBe(200);
      expectError(await api('POST', '/auth/refresh', { body: { refreshToken: user.refreshToken } }), 401, 'UNAUTHORIZED');
      // The token the rotation handed out is dead too, and so is every access token of the session.
      expectError(await api('POST', '/auth/refresh', { body: { refreshToken: rotated.body.refreshToken } }), 401, 'UNAUTHORIZED');
      expectError(await me(rotated.body.accessToken), 401, 'UNAUTHORIZED');
      expectError(await me(user.accessToken), 401, 'UNAUTHORIZED');
      // Other sessions of the same user are not touched.
      const other = await login(user.username, user.password);
      expect((await me(other.body.accessToken)).status).toBe(200);
    });

    it('refuses garbage, an access token, and a missing token', async () => {
      const user = await newUser(api);
      expectError(await api('POST', '/auth/refresh', { body: { refreshToken: 'not-a-token' } }), 401, 'UNAUTHORIZED');
      expectError(await api('POST', '/auth/refresh', { body: { refreshToken: `${user.refreshToken.slice(0, -4)}AAAA` } }), 401, 'UNAUTHORIZED');
      expectError(await api('POST', '/auth/refresh', { body: { refreshToken: user.accessToken } }), 401, 'UNAUTHORIZED');
      expectValidation(await api('POST', '/auth/refresh', { body: {} }), 'refreshToken');
    });

    it('does not accept a refresh token where an access token is expected', async () => {
      const user = await newUser(api);
      expectError(await me(user.refreshToken), 401, 'UNAUTHORIZED');
    });

    it('refuses an access token once it has expired, also one it accepted before (verified tokens are remembered)', async () => {
      const user = await newUser(api);
      expect((await me(user.accessToken)).status).toBe(200);
      expect((await me(user.accessToken)).status).toBe(200);
      vi.useFakeTimers({ toFake: ['Date'] });
      try {
        // Past any access-token lifetime (ACCESS_TOKEN_TTL is at most a day).
        vi.setSystemTime(Date.now() + 86_401_000);
        expect(expectError(await me(user.accessToken), 401, 'UNAUTHORIZED').message).toBe('access token expired');
        // Forgotten once expired: the next try goes through the full check and still fails.
        expect(expectError(await me(user.accessToken), 401, 'UNAUTHORIZED').message).toBe('access token expired');
      } finally {
        vi.useRealTimers();
      }
    });
  });

  describe('POST /auth/logout', () => {
    it('ends the current session: its access and refresh tokens stop working', async () => {
      const user = await newUser(api);
      const other = await login(user.username, user.password);
      const res = await api('POST', '/auth/logout', { token: user.accessToken });
      expect(res.status).toBe(204);
      expect(res.body).toBeNull();
      expectError(await me(user.accessToken), 401, 'UNAUTHORIZED');
      expectError(await api('POST', '/auth/refresh', { body: { refreshToken: user.refreshToken } }), 401, 'UNAUTHORIZED');
      // Only the current session ends.
      expect((await me(other.body.accessToken)).status).toBe(200);
    });

    it('needs a valid token', async () => {
      expectError(await api('POST', '/auth/logout'), 401, 'UNAUTHORIZED');
      expectError(await api('POST', '/auth/logout', { token: 'garbage' }), 401, 'UNAUTHORIZED');
    });
  });

  describe('GET /auth/sessions and DELETE /auth/sessions/:id', () => {
    it('lists the active sessions with exactly one marked current', async () => {
      const user = await newUser(api);
      await api('POST', '/auth/logout', { token: user.accessToken });
      const phone = await login(user.username, user.password, { 'user-agent': 'ParleyPhone/1.0' });
      const laptop = await login(user.username, user.password, { 'user-agent': 'ParleyDesktop/2.0' });
      const res = await api('GET', '/auth/sessions', { token: laptop.body.accessToken });
      expect(res.status).toBe(200);
      expect(res.body.items).toHaveLength(2);
      for (const session of res.body.items) {
        expect(session).toEqual(
          expect.objectContaining({
            id: expect.any(String),
            ip: expect.any(String),
            userAgent: expect.any(String),
            createdAt: expect.any(String),
            lastUsedAt: expect.any(String),
            current: expect.any(Boolean),
          }),
        );
        expect(Number.isNaN(Date.parse(session.createdAt))).toBe(false);
        expect(Number.isNaN(Date.parse(session.lastUsedAt))).toBe(false);
        expect(session.ip).toMatch(/127\.0\.0\.1/);
      }
      const current = res.body.items.filter((session: any) => session.current);
      expect(current).toHaveLength(1);
      expect(current[0].userAgent).toBe('ParleyDesktop/2.0');
      expect(res.body.items.map((session: any) => session.userAgent).sort()).toEqual(['ParleyDesktop/2.0', 'ParleyPhone/1.0']);
      // From the phone, the phone's session is the current one.
      const fromPhone = await api('GET', '/auth/sessions', { token: phone.body.accessToken });
      expect(fromPhone.body.items.find((session: any) => session.current).userAgent).toBe('ParleyPhone/1.0');
    });

    it('revokes another session of the caller: its tokens stop working, the caller stays logged in', async () => {
      const user = await newUser(api);
      const other = await login(user.username, user.password, { 'user-agent': 'OldTablet' });
      const list = await api('GET', '/auth/sessions', { token: user.accessToken });
      const target = list.body.items.find((session: any) => !session.current);
      expect(target.userAgent).toBe('OldTablet');
      const res = await api('DELETE', `/auth/sessions/${target.id}`, { token: user.accessToken });
      expect(res.status).toBe(204);
      expectError(await me(other.body.accessToken), 401, 'UNAUTHORIZED');
      expectError(await api('POST', '/auth/refresh', { body: { refreshToken: other.body.refreshToken } }), 401, 'UNAUTHORIZED');
      expect((await me(user.accessToken)).status).toBe(200);
      const after = await api('GET', '/auth/sessions', { token: user.accessToken });
      expect(after.body.items.map((session: any) => session.id)).not.toContain(target.id);
      // Revoking it again: it is no longer an active session.
      expectError(await api('DELETE', `/auth/sessions/${target.id}`, { token: user.accessToken }), 404, 'NOT_FOUND');
    });

    it("answers 404 for an unknown session id and for another user's session, leaving that session alone", async () => {
      const user = await newUser(api);
      const stranger = await newUser(api);
      expectError(await api('DELETE', '/auth/sessions/no-such-session', { token: user.accessToken }), 404, 'NOT_FOUND');
      const theirs = (await api('GET', '/auth/sessions', { token: stranger.accessToken })).body.items[0];
      expectError(await api('DELETE', `/auth/sessions/${theirs.id}`, { token: user.accessToken }), 404, 'NOT_FOUND');
      expect((await me(stranger.accessToken)).status).toBe(200);
    });

    it('needs a token', async () => {
      expectError(await api('GET', '/auth/sessions'), 401, 'UNAUTHORIZED');
      expectError(await api('DELETE', '/auth/sessions/anything'), 401, 'UNAUTHORIZED');
      expectError(await api('GET', '/auth/sessions', { token: 'not.a.jwt' }), 401, 'UNAUTHORIZED');
    });
  });

  describe('PUT /users/me/password', () => {
    it('changes the password and ends every other session but the current one', async () => {
      const user = await newUser(api);
      const other = await login(user.username, user.password);
      const newPassword = 'a brand new passphrase';
      const res = await api('PUT', '/users/me/password', { token: user.accessToken, body: { currentPassword: user.password, newPassword } });
      expect(res.status).toBe(204);
      expectError(await me(other.body.accessToken), 401, 'UNAUTHORIZED');
      expectError(await api('POST', '/auth/refresh', { body: { refreshToken: other.body.refreshToken } }), 401, 'UNAUTHORIZED');
      expect((await me(user.accessToken)).status).toBe(200);
      expect((await api('POST', '/auth/refresh', { body: { refreshToken: user.refreshToken } })).status).toBe(200);
      expectError(await login(user.username, user.password), 401, 'UNAUTHORIZED');
      expect((await login(user.username, newPassword)).status).toBe(200);
    });

    it('is forbidden with a wrong current password, and keeps the old one', async () => {
      const user = await newUser(api);
      const other = await login(user.username, user.password);
      expectError(
        await api('PUT', '/users/me/password', { token: user.accessToken, body: { currentPassword: 'not my password', newPassword: 'whatever else 123' } }),
        403,
        'FORBIDDEN',
      );
      expect((await me(other.body.accessToken)).status).toBe(200);
      expect((await login(user.username, user.password)).status).toBe(200);
    });

    it('refuses a new password shorter than 8 characters', async () => {
      const user = await newUser(api);
      expectValidation(await api('PUT', '/users/me/password', { token: user.accessToken, body: { currentPassword: user.password, newPassword: 'short' } }), 'newPassword');
      expectValidation(await api('PUT', '/users/me/password', { token: user.accessToken, body: { newPassword: 'long enough now' } }), 'currentPassword');
      expect((await login(user.username, user.password)).status).toBe(200);
    });

    it('is forbidden to a guest, who has no password', async () => {
      const guest = (await api('POST', '/auth/guest', { body: {} })).body;
      expectError(await api('PUT', '/users/me/password', { token: guest.accessToken, body: { currentPassword: 'anything', newPassword: 'long enough now' } }), 403, 'FORBIDDEN');
    });

    it('needs a token', async () => {
      expectError(await api('PUT', '/users/me/password', { body: { currentPassword: PASSWORD, newPassword: 'long enough now' } }), 401, 'UNAUTHORIZED');
      expectError(await api('PUT', '/users/me/password', { token: 'garbage', body: { currentPassword: PASSWORD, newPassword: 'long enough now' } }), 401, 'UNAUTHORIZED');
    });
  });

  describe('GET /users/me/login-logs', () => {
    it('lists failed and successful logins newest first, and refreshes as method "refresh"', async () => {
      const user = await newUser(api);
      expectError(await login(user.username, 'wrong password', { 'user-agent': 'Fumbler/1.0' }), 401, 'UNAUTHORIZED');
      const ok = await login(user.username, user.password, { 'user-agent': 'Typist/1.0' });
      const res = await api('GET', '/users/me/login-logs', { token: ok.body.accessToken });
      expect(res.status).toBe(200);
      expect(res.body.nextCursor).toBeNull();
      const [newest, failed] = res.body.items;
      for (const entry of res.body.items) {
        expect(entry).toEqual(
          expect.objectContaining({
            id: expect.any(String),
            createdAt: expect.any(String),
            ip: expect.any(String),
            userAgent: expect.any(String),
            success: expect.any(Boolean),
            method: 'password',
          }),
        );
        expect(Number.isNaN(Date.parse(entry.createdAt))).toBe(false);
      }
      expect(newest).toMatchObject({ success: true, method: 'password', userAgent: 'Typist/1.0' });
      expect(failed).toMatchObject({ success: false, method: 'password', userAgent: 'Fumbler/1.0' });
      // The registration is the oldest entry.
      expect(res.body.items).toHaveLength(3);
      expect(res.body.items[2]).toMatchObject({ success: true, method: 'password' });

      expect((await api('POST', '/auth/refresh', { body: { refreshToken: ok.body.refreshToken } })).status).toBe(200);
      const after = await api('GET', '/users/me/login-logs', { token: ok.body.accessToken });
      expect(after.body.items[0]).toMatchObject({ success: true, method: 'refresh' });
    });

    it('records the reuse of a spent refresh token as a failed refresh', async () => {
      const user = await newUser(api);
      await api('POST', '/auth/refresh', { body: { refreshToken: user.refreshToken } });
      await api('POST', '/auth/refresh', { body: { refreshToken: user.refreshToken } });
      const fresh = await login(user.username, user.password);
      const logs = (await api('GET', '/users/me/login-logs', { token: fresh.body.accessToken })).body.items;
      expect(logs.slice(0, 3).map((entry: any) => [entry.method, entry.success])).toEqual([
        ['password', true],
        ['refresh', false],
        ['refresh', true],
      ]);
    });

    it("starts a guest's history with a 'guest' entry", async () => {
      const guest = (await api('POST', '/auth/guest', { body: {} })).body;
      const res = await api('GET', '/users/me/login-logs', { token: guest.accessToken });
      expect(res.status).toBe(200);
      expect(res.body.items).toHaveLength(1);
      expect(res.body.items[0]).toMatchObject({ success: true, method: 'guest' });
    });

    it('pages with limit and nextCursor', async () => {
      const user = await newUser(api);
      await login(user.username, user.password);
      await login(user.username, 'wrong password');
      const all = (await api('GET', '/users/me/login-logs', { token: user.accessToken })).body.items;
      expect(all).toHaveLength(3);
      const seen: string[] = [];
      let cursor: string | null = null;
      do {
        const query: string = cursor ? `?limit=1&cursor=${encodeURIComponent(cursor)}` : '?limit=1';
        const page: ApiResponse = await api('GET', `/users/me/login-logs${query}`, { token: user.accessToken });
        expect(page.status).toBe(200);
        expect(page.body.items).toHaveLength(1);
        seen.push(page.body.items[0].id);
        cursor = page.body.nextCursor;
      } while (cursor);
      expect(seen).toEqual(all.map((entry: any) => entry.id));
    });

    it('only shows the caller their own history', async () => {
      const user = await newUser(api);
      const other = await newUser(api);
      await login(other.username, 'wrong password');
      const mine = (await api('GET', '/users/me/login-logs', { token: user.accessToken })).body.items;
      expect(mine).toHaveLength(1);
    });

    it('refuses a garbage cursor and an out-of-range limit', async () => {
      const user = await newUser(api);
      expectValidation(await api('GET', '/users/me/login-logs?cursor=garbage', { token: user.accessToken }), 'cursor');
      expectValidation(await api('GET', '/users/me/login-logs?limit=0', { token: user.accessToken }), 'limit');
      expectValidation(await api('GET', '/users/me/login-logs?limit=201', { token: user.accessToken }), 'limit');
    });

    it('needs a token', async () => {
      expectError(await api('GET', '/users/me/login-logs'), 401, 'UNAUTHORIZED');
      expectError(await api('GET', '/users/me/login-logs', { token: 'garbage' }), 401, 'UNAUTHORIZED');
    });
  });

  it('refuses every authenticated auth route without a token, with a malformed token and with a bad scheme', async () => {
    const routes: Array<[string, string, unknown?]> = [
      ['POST', '/auth/upgrade', { username: uniqueName(), password: PASSWORD }],
      ['POST', '/auth/logout'],
      ['GET', '/auth/sessions'],
      ['DELETE', '/auth/sessions/some-id'],
      ['PUT', '/users/me/password', { currentPassword: PASSWORD, newPassword: 'long enough now' }],
      ['GET', '/users/me/login-logs'],
    ];
    const user = await newUser(api);
    for (const [method, path, body] of routes) {
      const options = body === undefined ? {} : { body };
      expectError(await api(method, path, options), 401, 'UNAUTHORIZED');
      expectError(await api(method, path, { ...options, token: 'not-a-jwt' }), 401, 'UNAUTHORIZED');
      expectError(await api(method, path, { ...options, token: `${user.accessToken}x` }), 401, 'UNAUTHORIZED');
      expectError(await api(method, path, { ...options, headers: { authorization: `Basic ${user.accessToken}` } }), 401, 'UNAUTHORIZED');
    }
  });
});
