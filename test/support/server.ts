import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Redis } from 'ioredis';
import { type App, type BuildOptions, buildApp } from '../../src/app.js';
import { type Env, loadConfig } from '../../src/config.js';
import { type OpenDatabaseOptions, openDatabase } from '../../src/platform/db/database.js';
import { createScratchDatabase, databaseKindOf } from '../../src/platform/db/scratch-database.js';

export { createScratchDatabase, databaseKindOf };

/** Which storage the suites run on: SQLite + memory by default, MariaDB or PostgreSQL and Redis when CI sets these. */
export const TEST_DATABASE_URL = process.env.TEST_DATABASE_URL || undefined;
export const TEST_REDIS_URL = process.env.TEST_REDIS_URL || undefined;
export const TEST_DATABASE_KIND = databaseKindOf(TEST_DATABASE_URL);
export const storageLabel = `${TEST_DATABASE_KIND}+${TEST_REDIS_URL ? 'redis' : 'memory'}`;

/**
 * One isolated place to run servers in: a temp DATA_DIR, and on MySQL or PostgreSQL a database of its own, on
 * Redis a key prefix of its own. Servers started on the same environment share all three (restarts).
 */
export interface TestEnvironment {
  dataDir: string;
  databaseUrl?: string;
  redisUrl?: string;
  redisKeyPrefix: string;
  dispose(): Promise<void>;
}

export interface TestEnvironmentOptions {
  /** A MySQL/MariaDB or PostgreSQL server URL to create the scratch database on; defaults to TEST_DATABASE_URL (unset: SQLite). */
  databaseUrl?: string;
  /** Defaults to TEST_REDIS_URL (unset: in-memory cache). */
  redisUrl?: string;
}

export async function createTestEnvironment(options: TestEnvironmentOptions = {}): Promise<TestEnvironment> {
  const dataDir = mkdtempSync(path.join(tmpdir(), 'parley-test-'));
  const tag = randomBytes(5).toString('hex');
  const serverUrl = options.databaseUrl ?? TEST_DATABASE_URL;
  let databaseUrl: string | undefined;
  let dropDatabase = async () => {};
  if (serverUrl) {
    const scratch = await createScratchDatabase(serverUrl, `parley_t_${tag}`);
    databaseUrl = scratch.url;
    dropDatabase = scratch.drop;
  }
  const redisUrl = options.redisUrl ?? TEST_REDIS_URL;
  const redisKeyPrefix = `parley-test:${tag}:`;
  return {
    dataDir,
    databaseUrl,
    redisUrl,
    redisKeyPrefix,
    async dispose() {
      await dropDatabase();
      if (redisUrl) await deleteRedisKeys(redisUrl, redisKeyPrefix);
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

/** Removes what a test environment left in the shared Redis (its keys all carry its prefix). */
async function deleteRedisKeys(url: string, prefix: string): Promise<void> {
  const redis = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 1 });
  try {
    await redis.connect();
    let cursor = '0';
    do {
      const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 500);
      cursor = next;
      if (keys.length > 0) await redis.del(...keys);
    } while (cursor !== '0');
  } finally {
    redis.disconnect();
  }
}

export type OpenedDatabase = ReturnType<typeof openDatabase>;

/**
 * Runs `body` on a migrated database of its own, of the kind the suites run on (or on the server
 * `databaseUrl` names), opened directly (no server): for tests that drive repositories. The database and its environment go afterwards.
 */
export async function withMigratedDatabase<T>(
  body: (database: OpenedDatabase) => Promise<T>,
  options: { databaseUrl?: string; onQuery?: OpenDatabaseOptions['onQuery'] } = {},
): Promise<T> {
  const env = await createTestEnvironment({ databaseUrl: options.databaseUrl });
  const config = loadConfig({ env: {}, cwd: env.dataDir, overrides: { DATA_DIR: env.dataDir, ...(env.databaseUrl ? { DATABASE_URL: env.databaseUrl } : {}) } });
  const database = openDatabase(config.database, { onQuery: options.onQuery });
  try {
    await database.migrate();
    return await body(database);
  } finally {
    await database.close();
    await env.dispose();
  }
}

export type Overrides = Partial<Record<keyof Env, string>>;

/** The variables a test server runs with, for in-process servers and spawned ones alike. */
export function testEnvVars(env: TestEnvironment, overrides: Overrides = {}): Record<string, string> {
  const vars: Record<string, string> = {
    NODE_ENV: 'test',
    PORT: '0',
    HOST: '127.0.0.1',
    DATA_DIR: env.dataDir,
    LOG_TO_STDOUT: 'false',
    LOG_LEVEL: 'info',
    RATE_LIMIT_MAX: '100000',
    // Real registrations and logins at a fraction of argon2's production cost; suites about
    // password checking under load (auth-trust) set the production profile back.
    PASSWORD_HASH_PROFILE: 'test-fast',
    // Whole suites fail logins from 127.0.0.1 on purpose; tests of the per-IP limit set their own.
    LOGIN_IP_MAX_FAILURES: '100000',
    // Suites make many guests from 127.0.0.1; tests of the guest limit set their own.
    GUEST_CREATE_PER_IP: '100000',
    // Suites open invite links from 127.0.0.1 by the dozen; invite-links.test.ts proves the limits.
    INVITE_LINK_ATTEMPTS_PER_MINUTE: '100000',
    INVITE_LINK_ATTEMPTS_PER_MINUTE_IP: '100000',
    // Suites that fire hundreds of events per socket on purpose (fuzzers, bursts); the event limits
    // themselves are proven in socket-limits.test.ts. Handshake and socket caps keep their defaults.
    SOCKET_EVENTS_PER_SECOND: '100000',
    SOCKET_EVENTS_BURST: '100000',
    SOCKET_EVENT_LIMITS: 'typing=100000/100000,read=100000/100000,sync=100000/100000',
    REDIS_KEY_PREFIX: env.redisKeyPrefix,
  };
  if (env.databaseUrl) vars.DATABASE_URL = env.databaseUrl;
  if (env.redisUrl) vars.REDIS_URL = env.redisUrl;
  for (const [key, value] of Object.entries(overrides)) if (value !== undefined) vars[key] = value;
  return vars;
}

export interface TestServer {
  app: App;
  url: string;
  env: TestEnvironment;
  close(): Promise<void>;
}

/** Starts the real app on an ephemeral port. */
export async function startServer(env: TestEnvironment, overrides: Overrides = {}, options: BuildOptions = { jobs: false }): Promise<TestServer> {
  const config = loadConfig({ env: {}, cwd: env.dataDir, overrides: testEnvVars(env, overrides) });
  const app = await buildApp(config, options);
  const { url } = await app.listen();
  return { app, url, env, close: () => app.close() };
}
