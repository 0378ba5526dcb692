import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connectedUser } from './support/realtime.js';
import { createTestEnvironment, startServer, TEST_DATABASE_URL, TEST_REDIS_URL, type TestEnvironment, type TestServer } from './support/server.js';
import { useTestServer } from './support/suite.js';

/**
 * The cluster bus's confirmed notices, between two real apps joined by the machine's Redis only
 * (each on a database of its own): what the per-process caches (blocks, notification settings,
 * push subscriptions) rely on to be dropped everywhere before a change is answered.
 */
const REDIS_URL = TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';

describe.each(['classic', 'sharded'] as const)('cluster bus between two processes, %s socket adapter', (SOCKET_ADAPTER) => {
  const envs: TestEnvironment[] = [];
  let first: TestServer;
  let second: TestServer;

  beforeAll(async () => {
    envs.push(await createTestEnvironment({ redisUrl: REDIS_URL }), await createTestEnvironment({ redisUrl: REDIS_URL }));
    const [one, two] = envs as [TestEnvironment, TestEnvironment];
    first = await startServer(one, { SOCKET_ADAPTER });
    // The same key prefix: the adapter's channels are named by it, so the two are one cluster.
    second = await startServer(two, { SOCKET_ADAPTER, REDIS_KEY_PREFIX: one.redisKeyPrefix });
  });

  afterAll(async () => {
    await Promise.all([first?.close(), second?.close()]);
    for (const env of envs) await env.dispose();
  });

  it('has run the handlers of the other process when publishConfirmed resolves, in order, for every notice', async () => {
    const seen: string[] = [];
    second.app.gateway.bus.subscribe('test-confirmed', (payload) => seen.push(payload));
    const seenHere: string[] = [];
    first.app.gateway.bus.subscribe('test-confirmed', (payload) => seenHere.push(payload));
    for (let n = 1; n <= 20; n++) {
      await first.app.gateway.bus.publishConfirmed('test-confirmed', `notice ${n}`);
      // Checked at once, before anything else runs: a plain publish would still be on its way through Redis.
      expect(seen.at(-1)).toBe(`notice ${n}`);
      expect(seenHere.at(-1)).toBe(`notice ${n}`);
    }
    expect(seen).toHaveLength(20);
  });

  it('answers anyway, within the bound, when a process never confirms (it falls back on its cache TTL)', async () => {
    // A third member of the cluster that the adapter counts but that never answers: a bare Redis
    // subscriber on the channel whose subscribers the adapter counts (the classic adapter's request
    // channel, the sharded adapter's main channel).
    const prefix = (envs[0] as TestEnvironment).redisKeyPrefix;
    const silent = new Redis(REDIS_URL);
    try {
      if (SOCKET_ADAPTER === 'classic') await silent.subscribe(`${prefix}socket.io-request#/#`);
      else await silent.ssubscribe(`${prefix}socket.io#/#`);
      const seen: string[] = [];
      second.app.gateway.bus.subscribe('test-unconfirmed', (payload) => seen.push(payload));
      const started = performance.now();
      await first.app.gateway.bus.publishConfirmed('test-unconfirmed', 'to all three');
      const waited = performance.now() - started;
      expect(waited).toBeGreaterThan(2_500);
      expect(waited).toBeLessThan(7_000);
      // The live process ran it all the same.
      expect(seen).toEqual(['to all three']);
    } finally {
      silent.disconnect();
    }
  });

  it('runs a notice published without confirmation on the other process too, later', async () => {
    const seen: string[] = [];
    second.app.gateway.bus.subscribe('test-plain', (payload) => seen.push(payload));
    first.app.gateway.bus.publish('test-plain', 'hello');
    await expect.poll(() => seen, { timeout: 5_000 }).toEqual(['hello']);
  });
});

/**
 * With the sharded adapter a room's emits travel on the room's own channel, which a process
 * subscribes once one of its sockets is in the room. Joining users to a conversation resolves only
 * when every process holding their sockets has subscribed: a message sent right after (a group's
 * first message, its "created" record) reaches them live on every process.
 */
describe('joining a conversation room across two processes, sharded socket adapter', () => {
  const suite = useTestServer(
    { SOCKET_ADAPTER: 'sharded' },
    { environment: { databaseUrl: TEST_DATABASE_URL ?? 'mysql://root@127.0.0.1:3306/parley_test', redisUrl: REDIS_URL }, servers: 2 },
  );

  it('resolves once the process holding the joiner has subscribed the room channel', async () => {
    const [first, second] = suite.servers as [TestServer, TestServer];
    const bob = await connectedUser(second.url);
    const redis = new Redis(REDIS_URL);
    try {
      for (let round = 1; round <= 10; round++) {
        const conversationId = `g.join-test-${round}-${Date.now()}`;
        // Joined through the first process; Bob's socket is on the second.
        await first.app.gateway.publisher.joinConversation([bob.id], conversationId);
        const channel = `${suite.env.redisKeyPrefix}socket.io#/#conv:${conversationId}#`;
        const [, subscribers] = (await redis.call('PUBSUB', 'SHARDNUMSUB', channel)) as [string, number];
        // Without the confirmation the second process had not even read the request yet: 0.
        expect(subscribers).toBe(1);
      }
    } finally {
      redis.disconnect();
      bob.client.disconnect();
    }
  });
});
