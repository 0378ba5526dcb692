import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { apiClient, expectError, newUser } from './support/http.js';
import { spawnServer } from './support/process.js';
import { createTestEnvironment, startServer, storageLabel, TEST_REDIS_URL, type TestEnvironment, testEnvVars } from './support/server.js';

const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  while (cleanups.length > 0) await cleanups.pop()?.();
});

async function environment(): Promise<TestEnvironment> {
  const env = await createTestEnvironment();
  cleanups.push(() => env.dispose());
  return env;
}

describe(`the server as a whole (${storageLabel})`, () => {
  it('keeps users and sessions across a restart on the same DATA_DIR', async () => {
    const env = await environment();
    const first = await startServer(env);
    const api1 = apiClient(first.url);
    const alice = await newUser(api1);
    await first.close();

    const second = await startServer(env);
    cleanups.push(() => second.close());
    const api2 = apiClient(second.url);
    // The access token from before the restart still verifies: same secret, same session.
    const me = await api2('GET', '/users/me', { token: alice.accessToken });
    expect(me.status).toBe(200);
    expect(me.body.username).toBe(alice.username);
    const refreshed = await api2('POST', '/auth/refresh', { body: { refreshToken: alice.refreshToken } });
    expect(refreshed.status).toBe(200);
    const sessions = await api2('GET', '/auth/sessions', { token: refreshed.body.accessToken });
    expect(sessions.body.items).toHaveLength(1);
    expect((await api2('POST', '/auth/login', { body: { username: alice.username, password: alice.password } })).status).toBe(200);
  });

  it('keeps a logged-out session revoked across a restart', async () => {
    const env = await environment();
    const first = await startServer(env);
    const api1 = apiClient(first.url);
    const bob = await newUser(api1);
    expect((await api1('POST', '/auth/logout', { token: bob.accessToken })).status).toBe(204);
    await first.close();

    const second = await startServer(env);
    cleanups.push(() => second.close());
    expectError(await apiClient(second.url)('GET', '/users/me', { token: bob.accessToken }), 401, 'UNAUTHORIZED');
  });

  it('writes leveled, timestamped request logs with request ids and never a password or token', async () => {
    const env = await environment();
    const server = await startServer(env);
    const api = apiClient(server.url);
    const password = 'Sup3r-Secret-Passw0rd!';
    const carol = await newUser(api, { password });
    const login = await api('POST', '/auth/login', { body: { username: carol.username, password } });
    await api('POST', '/auth/login', { body: { username: carol.username, password: 'Wrong-Passw0rd-123' } });
    const refreshed = await api('POST', '/auth/refresh', { body: { refreshToken: login.body.refreshToken } });
    await api('GET', '/users/me', { token: refreshed.body.accessToken });
    await api('PUT', '/users/me/password', { token: refreshed.body.accessToken, body: { currentPassword: password, newPassword: 'An0ther-Secret!!' } });
    await server.close();

    const logDir = path.join(env.dataDir, 'logs');
    const files = readdirSync(logDir);
    expect(files.some((file) => /^parley\.\d+\.log$/.test(file))).toBe(true);
    const text = files.map((file) => readFileSync(path.join(logDir, file), 'utf8')).join('\n');
    const lines = text
      .split('\n')
      .filter(Boolean)
      .map((line) => JSON.parse(line));
    const requestLines = lines.filter((line) => line.req || line.res);
    expect(requestLines.length).toBeGreaterThan(8);
    for (const line of requestLines) {
      expect(typeof line.reqId).toBe('string');
      expect(typeof line.level).toBe('number');
      expect(line.time).toMatch(/^\d{4}-\d\d-\d\dT/);
    }
    for (const secret of [
      password,
      'Wrong-Passw0rd-123',
      'An0ther-Secret!!',
      carol.accessToken,
      carol.refreshToken,
      login.body.accessToken,
      login.body.refreshToken,
      refreshed.body.refreshToken,
    ]) {
      expect(text).not.toContain(secret);
    }
    const jwtSecret = readFileSync(path.join(env.dataDir, 'jwt-secret'), 'utf8');
    expect(text).not.toContain(jwtSecret);
  });

  it('rotates log files by size and keeps only the configured number', async () => {
    const env = await environment();
    const server = await startServer(env, { LOG_FILE_SIZE: '4k', LOG_FILE_COUNT: '3' });
    const api = apiClient(server.url);
    // Each request writes two lines of ~250 bytes: 100 requests are ~50 KB, a dozen 4 KB files.
    for (let i = 0; i < 100; i++) await api('GET', '/healthz');
    await server.close();
    const files = readdirSync(path.join(env.dataDir, 'logs')).filter((file) => /^parley\.\d+\.log$/.test(file));
    expect(files.length).toBe(3);
    const numbers = files.map((file) => Number(file.split('.')[1])).sort((a, b) => a - b);
    // The oldest files were deleted: what is left are the newest numbers.
    expect(numbers[0]).toBeGreaterThan(3);
  });

  it('writes errors to their own log file as well', async () => {
    const env = await environment();
    const server = await startServer(env);
    const api = apiClient(server.url);
    const dave = await newUser(api);
    // Pull the database away underneath the running server: the request must fail cleanly.
    await server.app.database.db.destroy();
    const res = await api('GET', '/users/me', { token: dave.accessToken });
    expect([500, 503]).toContain(res.status);
    expect(JSON.stringify(res.body)).not.toMatch(/at .*\.js:\d+/);
    await server.close().catch(() => {});
    const logDir = path.join(env.dataDir, 'logs');
    const errorFile = readdirSync(logDir).find((file) => /^error\.\d+\.log$/.test(file));
    expect(errorFile).toBeDefined();
    const errors = readFileSync(path.join(logDir, errorFile as string), 'utf8')
      .split('\n')
      .filter(Boolean)
      .map((line) => JSON.parse(line));
    expect(errors.length).toBeGreaterThan(0);
    expect(errors.every((line) => line.level >= 50)).toBe(true);
  });

  it('refuses requests beyond the rate limit with 429 and Retry-After, but never health checks', async () => {
    const env = await environment();
    const server = await startServer(env, { RATE_LIMIT_MAX: '5', RATE_LIMIT_WINDOW: '60' });
    cleanups.push(() => server.close());
    const api = apiClient(server.url);
    const statuses: number[] = [];
    for (let i = 0; i < 7; i++) statuses.push((await api('GET', '/users/me')).status);
    expect(statuses.slice(0, 5)).toEqual([401, 401, 401, 401, 401]);
    const limited = await api('GET', '/users/me');
    expectError(limited, 429, 'RATE_LIMITED');
    expect(Number(limited.headers.get('retry-after'))).toBeGreaterThan(0);
    expect((await api('GET', '/healthz')).status).toBe(200);
  });

  it(`shares login throttling and session revocation between processes only through a shared cache`, async () => {
    const env = await environment();
    const a = await startServer(env);
    const b = await startServer(env);
    cleanups.push(
      () => a.close(),
      () => b.close(),
    );
    const apiA = apiClient(a.url);
    const apiB = apiClient(b.url);
    const erin = await newUser(apiA);
    for (let i = 0; i < 5; i++) expectError(await apiA('POST', '/auth/login', { body: { username: erin.username, password: 'wrong-password' } }), 401, 'UNAUTHORIZED');
    const onB = await apiB('POST', '/auth/login', { body: { username: erin.username, password: erin.password } });
    const second = await apiA('POST', '/auth/guest', { body: {} });
    await apiA('POST', '/auth/logout', { token: second.body.accessToken });
    const revokedOnB = await apiB('GET', '/users/me', { token: second.body.accessToken });
    if (TEST_REDIS_URL) {
      expectError(onB, 429, 'RATE_LIMITED');
      expectError(revokedOnB, 401, 'UNAUTHORIZED');
    } else {
      // An in-memory cache is per process: this is why several processes need REDIS_URL.
      expect(onB.status).toBe(200);
      expect(revokedOnB.status).toBe(200);
    }
  });
});

describe(`the built server process (${storageLabel})`, () => {
  it('creates DATA_DIR 0700 and everything in it readable by its own user only (#16.15)', async () => {
    const env = await environment();
    const dataDir = path.join(env.dataDir, 'fresh');
    const proc = await spawnServer({ ...testEnvVars(env), DATA_DIR: dataDir });
    try {
      const api = apiClient(proc.url);
      expect((await api('POST', '/auth/register', { body: { username: `perm${Date.now().toString(36)}`, password: 'long enough pw' } })).status).toBe(201);
      const mode = (file: string) => (statSync(file).mode & 0o777).toString(8);
      expect(mode(dataDir)).toBe('700');
      const found: string[] = [];
      const walk = (dir: string) => {
        for (const entry of readdirSync(dir, { withFileTypes: true })) {
          const full = path.join(dir, entry.name);
          if (entry.isDirectory()) {
            expect(`${full} ${mode(full)}`).toBe(`${full} 700`);
            walk(full);
          } else {
            found.push(full);
            expect(`${full} ${mode(full)}`).toBe(`${full} 600`);
          }
        }
      };
      walk(dataDir);
      if (!env.databaseUrl) expect(found).toContain(path.join(dataDir, 'parley.db'));
      expect(found.length).toBeGreaterThan(0);
    } finally {
      proc.child.kill('SIGTERM');
      await proc.exited;
    }
  });

  it('finishes in-flight requests on SIGTERM, then exits 0 with the database closed cleanly', async () => {
    const env = await environment();
    const proc = await spawnServer(testEnvVars(env));
    const api = apiClient(proc.url);
    const inFlight = Array.from({ length: 16 }, (_, i) => api('POST', '/auth/register', { body: { username: `drain${i}${Date.now().toString(36)}`, password: 'long enough pw' } }));
    // Wait until the server has started every one of them (its own log says so): a request still in
    // the kernel's queue when SIGTERM lands is not in flight, and may rightly be refused.
    const started = () =>
      proc
        .stdout()
        .split('\n')
        .filter((line) => line.includes('incoming request') && line.includes('/api/v1/auth/register')).length;
    while (started() < inFlight.length) await new Promise((resolve) => setTimeout(resolve, 5));
    proc.child.kill('SIGTERM');
    const results = await Promise.all(inFlight);
    expect(results.map((r) => r.status)).toEqual(Array(16).fill(201));
    const code = await proc.exited;
    expect(proc.stderr()).toBe('');
    expect(code).toBe(0);
    if (!env.databaseUrl) {
      const wal = path.join(env.dataDir, 'parley.db-wal');
      // better-sqlite3 checkpoints and removes the WAL when the last connection closes.
      expect(existsSync(wal) ? statSync(wal).size : 0).toBe(0);
    }
    expect(proc.stdout()).toContain('shutting down');
    await expect(fetch(`${proc.url}/healthz`)).rejects.toThrow();
  });
});
