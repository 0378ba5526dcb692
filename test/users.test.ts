import { describe, expect, it } from 'vitest';
import { type ApiResponse, expectError, newUser, uniqueName } from './support/http.js';
import { storageLabel } from './support/server.js';
import { useTestServer } from './support/suite.js';

const DAY_MS = 86_400_000;
const ISO_UTC = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?Z$/;
const MIXED_SCRIPTS = '👩🏽‍💻 王 مرحبا 🇯🇵';

function expectValidation(res: ApiResponse, field: string): void {
  const error = expectError(res, 400, 'VALIDATION_FAILED');
  expect(((error.details ?? []) as Array<{ field: string }>).map((problem) => problem.field)).toContain(field);
}

describe(`users and auth: user routes (${storageLabel})`, () => {
  const suite = useTestServer();
  const { api } = suite;

  const me = (token: string) => api('GET', '/users/me', { token });
  const patchMe = (token: string, body: unknown) => api('PATCH', '/users/me', { token, body });
  const guest = async (nickname?: string) => {
    const res = await api('POST', '/auth/guest', { body: nickname === undefined ? {} : { nickname } });
    expect(res.status).toBe(201);
    return res.body as { user: any; accessToken: string; refreshToken: string };
  };
  const search = (token: string, query: string) => api('GET', `/users?${query}`, { token });
  const idsOf = (res: ApiResponse) => (res.body.items as Array<{ id: string }>).map((user) => user.id);

  describe('GET /users/me', () => {
    it('returns the caller with email, last login and an empty profile', async () => {
      const username = uniqueName('me');
      const email = `${username}@example.com`;
      const registered = await api('POST', '/auth/register', { body: { username, password: 'correct horse battery', nickname: 'Mia', email } });
      const res = await me(registered.body.accessToken);
      expect(res.status).toBe(200);
      expect(res.body).toEqual({
        id: registered.body.user.id,
        username,
        nickname: 'Mia',
        avatarUrl: null,
        isGuest: false,
        isAdmin: false,
        bot: false,
        bio: '',
        createdAt: expect.stringMatching(ISO_UTC),
        email,
        lastLoginAt: expect.stringMatching(ISO_UTC),
        profile: { gender: null, birthday: null, location: null, website: null, statusText: null, allowMessagesFrom: 'everyone', smartReplies: false },
      });
      expect(JSON.stringify(res.body)).not.toMatch(/argon2|password/i);
    });

    it('returns a guest with isGuest true and no email', async () => {
      const visitor = await guest('Wanderer');
      const res = await me(visitor.accessToken);
      expect(res.status).toBe(200);
      expect(res.body).toMatchObject({ id: visitor.user.id, nickname: 'Wanderer', isGuest: true, email: null });
    });
  });

  describe('PATCH /users/me', () => {
    it('updates every profile field and returns the caller', async () => {
      const user = await newUser(api);
      const res = await patchMe(user.accessToken, {
        nickname: 'New Name',
        bio: 'I like trains.',
        gender: 'female',
        birthday: '1990-02-28',
        location: 'Zürich',
        website: 'https://example.com/me',
        statusText: 'on holiday',
        allowMessagesFrom: 'friends',
      });
      expect(res.status).toBe(200);
      expect(res.body).toMatchObject({
        id: user.id,
        username: user.username,
        nickname: 'New Name',
        bio: 'I like trains.',
        profile: { gender: 'female', birthday: '1990-02-28', location: 'Zürich', website: 'https://example.com/me', statusText: 'on holiday', allowMessagesFrom: 'friends' },
      });
      expect((await me(user.accessToken)).body).toEqual(res.body);
    });

    it('leaves absent fields alone and clears fields set to null', async () => {
      const user = await newUser(api);
      await patchMe(user.accessToken, { gender: 'other', birthday: '2001-12-31', location: 'Oslo', website: 'http://example.org', statusText: 'busy', bio: 'hello' });
      const partial = await patchMe(user.accessToken, { location: 'Bergen' });
      expect(partial.status).toBe(200);
      expect(partial.body.bio).toBe('hello');
      expect(partial.body.profile).toEqual({
        gender: 'other',
        birthday: '2001-12-31',
        location: 'Bergen',
        website: 'http://example.org',
        statusText: 'busy',
        allowMessagesFrom: 'everyone',
        smartReplies: false,
      });
      const cleared = await patchMe(user.accessToken, { gender: null, birthday: null, location: null, website: null, statusText: null });
      expect(cleared.status).toBe(200);
      expect(cleared.body.profile).toEqual({ gender: null, birthday: null, location: null, website: null, statusText: null, allowMessagesFrom: 'everyone', smartReplies: false });
      expect((await me(user.accessToken)).body.profile).toEqual(cleared.body.profile);
      expect(cleared.body.bio).toBe('hello');
    });

    it('trims the nickname, bio, location and status text', async () => {
      const user = await newUser(api);
      const res = await patchMe(user.accessToken, { nickname: '  Bob  ', bio: '  hi  ', location: ' Paris ', statusText: ' away ' });
      expect(res.status).toBe(200);
      expect(res.body).toMatchObject({ nickname: 'Bob', bio: 'hi', profile: { location: 'Paris', statusText: 'away' } });
    });

    it('refuses an invalid gender or birthday, naming the field', async () => {
      const user = await newUser(api);
      expectValidation(await patchMe(user.accessToken, { gender: 'robot' }), 'gender');
      for (const birthday of ['1990-13-01', '1990-02-30', '31.12.1990', '1990-1-1', 'yesterday', '1990-01-01T00:00:00Z']) {
        expectValidation(await patchMe(user.accessToken, { birthday }), 'birthday');
      }
      expect((await me(user.accessToken)).body.profile).toMatchObject({ gender: null, birthday: null });
    });

    it('refuses a bad nickname, an over-long bio, a non-http website and an unknown allowMessagesFrom', async () => {
      const user = await newUser(api);
      expectValidation(await patchMe(user.accessToken, { nickname: '   ' }), 'nickname');
      expectValidation(await patchMe(user.accessToken, { nickname: 'a\u0007b' }), 'nickname');
      expectValidation(await patchMe(user.accessToken, { nickname: 'n'.repeat(65) }), 'nickname');
      expectValidation(await patchMe(user.accessToken, { nickname: null }), 'nickname');
      expectValidation(await patchMe(user.accessToken, { bio: 'b'.repeat(501) }), 'bio');
      expectValidation(await patchMe(user.accessToken, { website: 'javascript:alert(1)' }), 'website');
      expectValidation(await patchMe(user.accessToken, { allowMessagesFrom: 'nobody' }), 'allowMessagesFrom');
      expect((await me(user.accessToken)).body.nickname).toBe(user.user.nickname);
    });

    it('round-trips emoji, CJK and RTL text in nickname and bio exactly', async () => {
      const user = await newUser(api);
      const viewer = await newUser(api);
      const res = await patchMe(user.accessToken, { nickname: MIXED_SCRIPTS, bio: `${MIXED_SCRIPTS} — שלום עולם 你好 🧑‍🤝‍🧑` });
      expect(res.status).toBe(200);
      expect(res.body.nickname).toBe(MIXED_SCRIPTS);
      const mine = (await me(user.accessToken)).body;
      expect(mine.nickname).toBe(MIXED_SCRIPTS);
      expect(mine.bio).toBe(`${MIXED_SCRIPTS} — שלום עולם 你好 🧑‍🤝‍🧑`);
      expect(Buffer.from(mine.nickname, 'utf8').equals(Buffer.from(MIXED_SCRIPTS, 'utf8'))).toBe(true);
      const seen = await api('GET', `/users/${user.id}`, { token: viewer.accessToken });
      expect(seen.body.nickname).toBe(MIXED_SCRIPTS);
      const found = await search(viewer.accessToken, `q=${encodeURIComponent('👩🏽‍💻 王')}`);
      expect(idsOf(found)).toContain(user.id);
    });

    it('lets a guest edit its profile', async () => {
      const visitor = await guest();
      const res = await patchMe(visitor.accessToken, { nickname: 'Guest Star', bio: 'just looking' });
      expect(res.status).toBe(200);
      expect(res.body).toMatchObject({ id: visitor.user.id, isGuest: true, nickname: 'Guest Star', bio: 'just looking' });
    });
  });

  describe('GET /users/:id', () => {
    it("returns another user's public profile without email or profile internals", async () => {
      const username = uniqueName('pub');
      const target = await api('POST', '/auth/register', { body: { username, password: 'correct horse battery', email: `${username}@example.com` } });
      await patchMe(target.body.accessToken, { bio: 'public bio', birthday: '1980-01-01' });
      const viewer = await newUser(api);
      const res = await api('GET', `/users/${target.body.user.id}`, { token: viewer.accessToken });
      expect(res.status).toBe(200);
      expect(res.body).toEqual({
        id: target.body.user.id,
        username,
        nickname: username,
        avatarUrl: null,
        isGuest: false,
        bot: false,
        bio: 'public bio',
        createdAt: target.body.user.createdAt,
        statusText: null,
        // A stranger: no presence or last seen.
        presence: null,
      });
      expect(JSON.stringify(res.body)).not.toContain('@example.com');
    });

    it('answers 404 for an unknown id', async () => {
      const viewer = await newUser(api);
      expectError(await api('GET', '/users/00000000-0000-0000-0000-000000000000', { token: viewer.accessToken }), 404, 'NOT_FOUND');
      expectError(await api('GET', '/users/no-such-user', { token: viewer.accessToken }), 404, 'NOT_FOUND');
    });
  });

  describe('GET /users?q=', () => {
    it('finds users by username prefix, case-insensitively', async () => {
      const viewer = await newUser(api);
      const target = await newUser(api, { username: `Srch${uniqueName('')}` });
      const lower = await search(viewer.accessToken, `q=${encodeURIComponent(target.username.slice(0, 8).toLowerCase())}`);
      expect(lower.status).toBe(200);
      expect(idsOf(lower)).toEqual([target.id]);
      expect(lower.body.items[0]).toEqual(target.user);
      expect(lower.body.nextCursor).toBeNull();
      const upper = await search(viewer.accessToken, `q=${encodeURIComponent(target.username.slice(0, 8).toUpperCase())}`);
      expect(idsOf(upper)).toEqual([target.id]);
    });

    it('finds users by nickname prefix, case-insensitively and in any script', async () => {
      const viewer = await newUser(api);
      const tag = uniqueName('');
      const chinese = await newUser(api, { nickname: '王小明' });
      const accented = await newUser(api, { nickname: `Zoë Ångström ${tag}` });
      expect(idsOf(await search(viewer.accessToken, `q=${encodeURIComponent('王小')}`))).toContain(chinese.id);
      expect(idsOf(await search(viewer.accessToken, `q=${encodeURIComponent('王小明')}`))).toContain(chinese.id);
      expect(idsOf(await search(viewer.accessToken, `q=${encodeURIComponent('ZOË ÅNGSTRÖM')}`))).toContain(accented.id);
      // A prefix, not a substring.
      expect(idsOf(await search(viewer.accessToken, `q=${encodeURIComponent('小明')}`))).not.toContain(chinese.id);
      expect(idsOf(await search(viewer.accessToken, `q=${encodeURIComponent(tag)}`))).not.toContain(accented.id);
    });

    it('matches the query literally, not as a LIKE pattern', async () => {
      const viewer = await newUser(api);
      await newUser(api, { username: `wild${uniqueName('')}` });
      for (const q of ['%', '_', 'w_ld', 'wi%']) {
        const res = await search(viewer.accessToken, `q=${encodeURIComponent(q)}`);
        expect(res.status).toBe(200);
        expect(res.body.items).toEqual([]);
      }
    });

    it('pages through the matches with limit and nextCursor', async () => {
      const viewer = await newUser(api);
      const prefix = uniqueName('pg');
      const made = [];
      for (let i = 0; i < 5; i++) made.push(await newUser(api, { username: `${prefix}_${i}` }));
      const seen: string[] = [];
      let cursor: string | null = null;
      let pages = 0;
      do {
        const query: string = `q=${prefix}&limit=2${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`;
        const page: ApiResponse = await search(viewer.accessToken, query);
        expect(page.status).toBe(200);
        expect(page.body.items.length).toBeLessThanOrEqual(2);
        seen.push(...idsOf(page));
        cursor = page.body.nextCursor;
        pages++;
      } while (cursor);
      expect(pages).toBe(3);
      expect(seen).toHaveLength(5);
      expect(new Set(seen)).toEqual(new Set(made.map((user) => user.id)));
    });

    it('refuses a missing or empty q, a bad limit and a garbage cursor', async () => {
      const viewer = await newUser(api);
      expectValidation(await api('GET', '/users', { token: viewer.accessToken }), 'q');
      expectValidation(await search(viewer.accessToken, 'q='), 'q');
      expectValidation(await search(viewer.accessToken, 'q=a&limit=0'), 'limit');
      expectValidation(await search(viewer.accessToken, 'q=a&limit=201'), 'limit');
      expectValidation(await search(viewer.accessToken, 'q=a&cursor=garbage'), 'cursor');
    });
  });

  describe('idle guest clean-up', () => {
    it('removes guests idle for longer than the limit, and only them', async () => {
      const idle = await guest('Idle Guest');
      const active = await guest('Active Guest');
      const member = await newUser(api);
      const longAgo = Date.now() - 31 * DAY_MS;
      await suite.server.app.database.db.updateTable('users').set({ last_login_at: longAgo }).where('id', 'in', [idle.user.id, member.id]).execute();
      // Idle means no session used since either (a refresh counts as activity).
      await suite.server.app.database.db.updateTable('sessions').set({ last_used_at: longAgo }).where('user_id', 'in', [idle.user.id, member.id]).execute();

      const removed = await suite.server.app.services.users.purgeIdleGuests(30);
      expect(removed).toBe(1);

      expectError(await me(idle.accessToken), 401, 'UNAUTHORIZED');
      expectError(await patchMe(idle.accessToken, { bio: 'still here?' }), 401, 'UNAUTHORIZED');
      expectError(await api('POST', '/auth/refresh', { body: { refreshToken: idle.refreshToken } }), 401, 'UNAUTHORIZED');
      expectError(await api('GET', `/users/${idle.user.id}`, { token: member.accessToken }), 404, 'NOT_FOUND');
      expect((await me(active.accessToken)).body).toMatchObject({ id: active.user.id, isGuest: true });
      expect((await me(member.accessToken)).body).toMatchObject({ id: member.id, isGuest: false });
      expect((await api('POST', '/auth/login', { body: { username: member.username, password: member.password } })).status).toBe(200);
    });
  });

  it('refuses every user route without a token and with a malformed token', async () => {
    const user = await newUser(api);
    const routes: Array<[string, string, unknown?]> = [
      ['GET', '/users/me'],
      ['PATCH', '/users/me', { bio: 'sneaky' }],
      ['GET', `/users/${user.id}`],
      ['GET', '/users?q=u'],
    ];
    for (const [method, path, body] of routes) {
      const options = body === undefined ? {} : { body };
      expectError(await api(method, path, options), 401, 'UNAUTHORIZED');
      expectError(await api(method, path, { ...options, token: 'not-a-jwt' }), 401, 'UNAUTHORIZED');
      expectError(await api(method, path, { ...options, token: `${user.accessToken.slice(0, -3)}abc` }), 401, 'UNAUTHORIZED');
      expectError(await api(method, path, { ...options, headers: { authorization: user.accessToken } }), 401, 'UNAUTHORIZED');
    }
    expect((await me(user.accessToken)).body.bio).toBe('');
  });
});
