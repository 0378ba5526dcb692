import { describe, expect, it } from 'vitest';
import { type Api, type ApiResponse, expectError, newUser, uniqueName } from './support/http.js';
import { storageLabel } from './support/server.js';
import { useTestServer } from './support/suite.js';

const statusesOf = (responses: ApiResponse[]) => responses.map((res) => `${res.status} ${res.body?.error?.code ?? 'OK'}`);
const count = (responses: ApiResponse[], status: number, code: string) => responses.filter((res) => res.status === status && res.body?.error?.code === code).length;

function loginWith(api: Api) {
  return (username: string, password: string) => api('POST', '/auth/login', { body: { username, password } });
}

describe(`auth trust: login throttle counts before it verifies (${storageLabel})`, () => {
  const suite = useTestServer({ LOGIN_MAX_FAILURES: '5', LOGIN_IP_MAX_FAILURES: '1000', PASSWORD_HASH_PROFILE: 'owasp' });
  const { api } = suite;
  const login = loginWith(api);

  it('stores passwords as argon2id with the production cost when PASSWORD_HASH_PROFILE=owasp', async () => {
    const user = await newUser(api);
    const row = await suite.server.app.database.db.selectFrom('users').select('password_hash').where('id', '=', user.id).executeTakeFirstOrThrow();
    expect(row.password_hash).toMatch(/^\$argon2id\$v=19\$m=19456,p=1,t=2\$/);
  });

  it('lets at most 5 of 20 concurrent wrong passwords be checked; the rest are throttled', async () => {
    const user = await newUser(api);
    const responses = await Promise.all(Array.from({ length: 20 }, (_, i) => login(user.username, `wrong password ${i}`)));
    const checked = count(responses, 401, 'UNAUTHORIZED');
    const throttled = count(responses, 429, 'RATE_LIMITED');
    expect(checked, statusesOf(responses).join(', ')).toBeLessThanOrEqual(5);
    expect(checked + throttled, statusesOf(responses).join(', ')).toBe(20);
    for (const res of responses.filter((r) => r.status === 429)) expect(Number(res.headers.get('retry-after'))).toBeGreaterThan(0);
    // The lock holds for the right password too.
    expect((await login(user.username, user.password)).status).toBe(429);
  });

  it('refuses the right password sent in a burst behind 14 wrong ones', async () => {
    const user = await newUser(api);
    let sendRight!: () => void;
    const rightSent = new Promise<ApiResponse>((resolve) => {
      sendRight = () => resolve(login(user.username, user.password));
    });
    // The right password goes out while the wrong ones are in flight: as soon as the server has
    // throttled one of them (it has then counted 5 others), or when all are answered if it never does.
    const wrong = Promise.all(
      Array.from({ length: 14 }, (_, i) =>
        login(user.username, `wrong password ${i}`).then((res) => {
          if (res.status === 429) sendRight();
          return res;
        }),
      ),
    ).then((responses) => {
      sendRight();
      return responses;
    });
    const [wrongResponses, right] = await Promise.all([wrong, rightSent]);
    expect(count(wrongResponses, 401, 'UNAUTHORIZED'), statusesOf(wrongResponses).join(', ')).toBeLessThanOrEqual(5);
    expect(right.status, JSON.stringify(right.body)).toBe(429);
    expect(right.body.error.code).toBe('RATE_LIMITED');
  });

  it('resets the account count on success, so failures start again from zero', async () => {
    const user = await newUser(api);
    for (let i = 0; i < 4; i++) expect((await login(user.username, 'wrong password')).status).toBe(401);
    expect((await login(user.username, user.password)).status).toBe(200);
    const responses = await Promise.all(Array.from({ length: 8 }, () => login(user.username, 'wrong password')));
    expect(count(responses, 401, 'UNAUTHORIZED')).toBe(5);
    expect(count(responses, 429, 'RATE_LIMITED')).toBe(3);
  });
});

describe(`auth trust: login failures are also counted per IP over all accounts (${storageLabel})`, () => {
  const suite = useTestServer({ LOGIN_MAX_FAILURES: '5', LOGIN_IP_MAX_FAILURES: '8', PASSWORD_HASH_PROFILE: 'owasp' });
  const { api } = suite;
  const login = loginWith(api);

  it('checks at most 8 wrong passwords from one IP across 20 accounts, then refuses even a right one', async () => {
    const accounts = await Promise.all(Array.from({ length: 21 }, () => newUser(api)));
    const targets = accounts.slice(0, 20);
    const responses = await Promise.all(targets.map((user) => login(user.username, 'wrong password')));
    const checked = count(responses, 401, 'UNAUTHORIZED');
    expect(checked, statusesOf(responses).join(', ')).toBeLessThanOrEqual(8);
    expect(checked + count(responses, 429, 'RATE_LIMITED')).toBe(20);
    const last = accounts[20]!;
    const refused = await login(last.username, last.password);
    expect(refused.status).toBe(429);
    expect(refused.body.error.code).toBe('RATE_LIMITED');
  });
});

describe(`auth trust: guest creation is limited per IP (${storageLabel})`, () => {
  const suite = useTestServer({ GUEST_CREATE_PER_IP: '3' });
  const { api } = suite;

  it('creates 3 guests from one IP in an hour, even in a concurrent burst, and refuses the rest with RATE_LIMITED', async () => {
    const responses = await Promise.all(Array.from({ length: 6 }, () => api('POST', '/auth/guest', { body: {} })));
    expect(
      responses.filter((res) => res.status === 201),
      statusesOf(responses).join(', '),
    ).toHaveLength(3);
    const refused = responses.filter((res) => res.status !== 201);
    expect(refused).toHaveLength(3);
    for (const res of refused) {
      expectError(res, 429, 'RATE_LIMITED');
      expect(Object.keys(res.body)).toEqual(['error']);
      expect(Number(res.headers.get('retry-after'))).toBeGreaterThan(0);
    }
    expectError(await api('POST', '/auth/guest'), 429, 'RATE_LIMITED');
    // Only guest creation is limited: a full account can still be made and used from this IP.
    const user = await newUser(api);
    expect((await api('POST', '/auth/login', { body: { username: user.username, password: user.password } })).status).toBe(200);
  });
});

describe(`auth trust: guest expiry counts activity, not age (${storageLabel})`, () => {
  const suite = useTestServer();
  const { api } = suite;
  const DAY_MS = 86_400_000;

  it('keeps a guest created long ago who refreshed recently, and deletes one idle as long', async () => {
    const active = (await api('POST', '/auth/guest', { body: {} })).body;
    const idle = (await api('POST', '/auth/guest', { body: {} })).body;
    const { db } = suite.server.app.database;
    const longAgo = Date.now() - 40 * DAY_MS;
    const ids = [active.user.id, idle.user.id];
    // Both accounts, and their sessions, date from 40 days ago.
    await db.updateTable('users').set({ created_at: longAgo, last_login_at: longAgo, updated_at: longAgo }).where('id', 'in', ids).execute();
    await db.updateTable('sessions').set({ created_at: longAgo, last_used_at: longAgo }).where('user_id', 'in', ids).execute();

    const refreshed = await api('POST', '/auth/refresh', { body: { refreshToken: active.refreshToken } });
    expect(refreshed.status).toBe(200);

    const removed = await suite.server.app.services.users.purgeIdleGuests(suite.server.app.config.guestIdleDays);
    expect(removed).toBe(1);
    expect((await api('GET', '/users/me', { token: refreshed.body.accessToken })).body).toMatchObject({ id: active.user.id, isGuest: true });
    expect((await api('POST', '/auth/refresh', { body: { refreshToken: refreshed.body.refreshToken } })).status).toBe(200);
    expectError(await api('GET', '/users/me', { token: idle.accessToken }), 401, 'UNAUTHORIZED');
    expectError(await api('POST', '/auth/refresh', { body: { refreshToken: idle.refreshToken } }), 401, 'UNAUTHORIZED');
  });
});

/** The structure of a JSON value with every leaf replaced by its type: what a caller can tell apart. */
function shapeOf(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(shapeOf);
  if (value !== null && typeof value === 'object') {
    return Object.fromEntries(
      Object.entries(value)
        .sort(([a], [b]) => a.localeCompare(b))
        .map(([key, inner]) => [key, shapeOf(inner)]),
    );
  }
  return value === null ? 'null' : typeof value;
}

describe(`auth trust: no answer tells whether an email is registered (${storageLabel})`, () => {
  const suite = useTestServer();
  const { api } = suite;
  const PASSWORD = 'correct horse battery';
  const freshEmail = () => `${uniqueName('mail')}@Example.com`;

  async function registeredEmail(): Promise<string> {
    const email = freshEmail();
    expect((await api('POST', '/auth/register', { body: { username: uniqueName(), password: PASSWORD, email } })).status).toBe(201);
    return email;
  }

  /** Everything the registrant sees: the answer and their own profile afterwards. */
  async function observed(res: ApiResponse, email: string) {
    const me = res.status < 300 ? await api('GET', '/users/me', { token: res.body.accessToken }) : undefined;
    return {
      status: res.status,
      shape: shapeOf(res.body),
      meStatus: me?.status,
      meShape: shapeOf(me?.body),
      meEmailIsTheOneGiven: me ? me.body.email === email : undefined,
    };
  }

  it('registers with a taken email, in another case, exactly as with a fresh one', async () => {
    const taken = (await registeredEmail()).toUpperCase();
    const fresh = freshEmail();
    const withTaken = await api('POST', '/auth/register', { body: { username: uniqueName(), password: PASSWORD, email: taken } });
    const withFresh = await api('POST', '/auth/register', { body: { username: uniqueName(), password: PASSWORD, email: fresh } });
    expect(withTaken.status).toBe(201);
    expect(await observed(withTaken, taken)).toEqual(await observed(withFresh, fresh));
    expect(withTaken.body.error).toBeUndefined();
  });

  it('answers a taken username the same whether the email given is taken or not', async () => {
    const owner = await newUser(api);
    const taken = (await registeredEmail()).toLowerCase();
    const withTaken = await api('POST', '/auth/register', { body: { username: owner.username, password: PASSWORD, email: taken } });
    const withFresh = await api('POST', '/auth/register', { body: { username: owner.username, password: PASSWORD, email: freshEmail() } });
    expectError(withTaken, 409, 'CONFLICT');
    expect(withTaken.body).toEqual(withFresh.body);
  });

  it('upgrades a guest with a taken email, in another case, exactly as with a fresh one', async () => {
    const taken = (await registeredEmail()).toLowerCase();
    const fresh = freshEmail();
    const first = (await api('POST', '/auth/guest', { body: {} })).body;
    const second = (await api('POST', '/auth/guest', { body: {} })).body;
    const withTaken = await api('POST', '/auth/upgrade', { token: first.accessToken, body: { username: uniqueName(), password: PASSWORD, email: taken } });
    const withFresh = await api('POST', '/auth/upgrade', { token: second.accessToken, body: { username: uniqueName(), password: PASSWORD, email: fresh } });
    expect(withTaken.status).toBe(200);
    expect(await observed(withTaken, taken)).toEqual(await observed(withFresh, fresh));
    expect(withTaken.body.user).toMatchObject({ id: first.user.id, isGuest: false });
  });

  it('lets concurrent sign-ups with one new address all succeed alike', async () => {
    const email = freshEmail();
    const responses = await Promise.all(Array.from({ length: 5 }, () => api('POST', '/auth/register', { body: { username: uniqueName(), password: PASSWORD, email } })));
    expect(responses.map((res) => res.status)).toEqual([201, 201, 201, 201, 201]);
    for (const res of responses) expect((await api('GET', '/users/me', { token: res.body.accessToken })).body.email).toBe(email);
  });
});
