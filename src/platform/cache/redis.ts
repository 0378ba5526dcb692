import { createRequire } from 'node:module';
import type { Cluster, ClusterOptions, Redis, RedisOptions } from 'ioredis';
import type { Cache } from './cache.js';

const require = createRequire(import.meta.url);

/** One Redis or a Redis Cluster: the commands Parley uses are the same on both. */
export type RedisClient = Redis | Cluster;

/** `redis+cluster://h:p,h:p` (or `rediss+cluster://`, TLS) names Redis Cluster seed nodes. */
export function isClusterUrl(url: string): boolean {
  return /^rediss?\+cluster:\/\//.test(url);
}

/** The seed nodes and credentials of a `redis+cluster://[user:pass@]h:p,h:p` URL. */
export function parseClusterUrl(url: string): { nodes: Array<{ host: string; port: number }>; tls: boolean; username?: string; password?: string } {
  const match = /^(rediss?)\+cluster:\/\/(?:([^:@/]*)(?::([^@/]*))?@)?([^/?#]+)/.exec(url);
  if (!match) throw new Error(`not a redis+cluster:// URL: ${url}`);
  const nodes = (match[4] ?? '').split(',').map((item) => {
    const at = item.lastIndexOf(':');
    return { host: item.slice(0, at).replace(/^\[|\]$/g, ''), port: Number(item.slice(at + 1)) };
  });
  if (nodes.some((node) => !node.host || !Number.isInteger(node.port) || node.port <= 0)) throw new Error(`redis+cluster:// needs host:port,host:port, got ${url}`);
  const decode = (value: string | undefined) => (value ? decodeURIComponent(value) : undefined);
  return { nodes, tls: match[1] === 'rediss', username: decode(match[2]), password: decode(match[3]) };
}

/**
 * A Redis client, with ioredis loaded on first use (synchronously: it is CommonJS). A process
 * without REDIS_URL never loads it, which keeps about 10 MiB off an embedded server's RSS.
 * A `redis+cluster://` URL gives an ioredis Cluster with the same options per node.
 */
export function newRedisClient(url: string, options: RedisOptions, clusterOptions: ClusterOptions = {}): RedisClient {
  const ioredis = require('ioredis') as typeof import('ioredis');
  if (!isClusterUrl(url)) return new ioredis.Redis(url, options);
  const { nodes, tls, username, password } = parseClusterUrl(url);
  const { keyPrefix, maxRetriesPerRequest, enableOfflineQueue, commandTimeout, lazyConnect, ...nodeOptions } = options;
  return new ioredis.Cluster(nodes, {
    keyPrefix,
    lazyConnect,
    maxRedirections: 16,
    ...(enableOfflineQueue !== undefined ? { enableOfflineQueue } : {}),
    ...clusterOptions,
    redisOptions: { ...nodeOptions, maxRetriesPerRequest, commandTimeout, username, password, ...(tls ? { tls: {} } : {}) },
  });
}

/**
 * Closes a client after the commands it still holds: with auto-pipelining, commands of the current
 * turn leave on the next `setImmediate`, while QUIT (never pipelined) is written at once, so
 * without the wait they fail with "Connection is closed"; a fire-and-forget one (the adapter's
 * publishes) became an unhandled rejection at shutdown (PostgreSQL CI pass, 2026-12-07).
 */
export async function closeRedisClient(client: RedisClient): Promise<void> {
  await new Promise<void>((resolve) => setImmediate(resolve));
  await client.quit().then(
    () => undefined,
    () => client.disconnect(),
  );
}

/** KEYS[1]; ARGV: expected, next, delete (1/0), ttl ms (0: none). ioredis prefixes KEYS[1]. */
const COMPARE_AND_SET = `
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return 0 end
if ARGV[3] == '1' then redis.call('DEL', KEYS[1])
elseif ARGV[4] ~= '0' then redis.call('SET', KEYS[1], ARGV[2], 'PX', ARGV[4])
else redis.call('SET', KEYS[1], ARGV[2]) end
return 1`;

/**
 * KEYS[1]; ARGV[1]: window ms. INCR, the window's PEXPIRE from the first hit (NX keeps it fixed) and
 * the time left, as one command: a MULTI of the three was five commands and a write of its own, since
 * auto-pipelining leaves transactions out, on every message sent (the send rate limit).
 */
const INCREMENT_IN_WINDOW = `
local count = redis.call('INCR', KEYS[1])
redis.call('PEXPIRE', KEYS[1], ARGV[1], 'NX')
return {count, redis.call('PTTL', KEYS[1])}`;

/** The command `defineCommand` adds for INCREMENT_IN_WINDOW (EVALSHA, EVAL on a connection's first use). */
interface WindowCounter {
  incrementInWindow(key: string, windowMs: number): Promise<[number, number]>;
}

/** KEYS[1]. DECR only while the key lives: a refund after expiry must not leave a keyless -1. */
const DECREMENT_IF_PRESENT = `
if redis.call('EXISTS', KEYS[1]) == 1 then redis.call('DECR', KEYS[1]) end
return 1`;

/** Redis-backed cache shared by every Parley process pointed at the same `REDIS_URL`. */
export class RedisCache implements Cache {
  readonly client: RedisClient;

  constructor(url: string, options: { keyPrefix?: string } = {}) {
    this.client = newRedisClient(url, {
      keyPrefix: options.keyPrefix ?? 'parley:',
      // Fail commands fast while Redis is away instead of queueing them: ResilientCache then answers
      // from its local fallback. The command timeout covers a Redis that accepts but does not answer.
      maxRetriesPerRequest: 1,
      enableOfflineQueue: false,
      commandTimeout: 1000,
      connectTimeout: 2000,
      lazyConnect: false,
      // The commands of one turn of the event loop (a burst of sends: rate-limit counters, settings
      // reads) leave in one write instead of one each.
      enableAutoPipelining: true,
    });
    // Connection errors are retried by ioredis; without a listener they would crash the process.
    this.client.on('error', () => {});
    this.client.defineCommand('incrementInWindow', { numberOfKeys: 1, lua: INCREMENT_IN_WINDOW });
  }

  async get(key: string): Promise<string | null> {
    return this.client.get(key);
  }

  async set(key: string, value: string, ttlMs?: number): Promise<void> {
    if (ttlMs === undefined) await this.client.set(key, value);
    else await this.client.set(key, value, 'PX', Math.max(1, Math.ceil(ttlMs)));
  }

  async del(key: string): Promise<void> {
    await this.client.del(key);
  }

  async incr(key: string, windowMs: number): Promise<{ count: number; ttlMs: number }> {
    const [count, ttlMs] = await (this.client as unknown as WindowCounter).incrementInWindow(key, Math.max(1, Math.ceil(windowMs)));
    return { count: Number(count), ttlMs: Number(ttlMs) };
  }

  async decr(key: string): Promise<void> {
    await this.client.eval(DECREMENT_IF_PRESENT, 1, key);
  }

  async ttl(key: string): Promise<number> {
    return this.client.pttl(key);
  }

  async setAdd(key: string, member: string): Promise<number> {
    const result = await this.client.multi().sadd(key, member).scard(key).exec();
    return Number(result?.[1]?.[1] ?? 0);
  }

  async setRemove(key: string, member: string): Promise<number> {
    const result = await this.client.multi().srem(key, member).scard(key).exec();
    return Number(result?.[1]?.[1] ?? 0);
  }

  async setMembers(key: string): Promise<string[]> {
    return this.client.smembers(key);
  }

  async setIfAbsent(key: string, value: string, ttlMs?: number): Promise<boolean> {
    const result = ttlMs === undefined ? await this.client.set(key, value, 'NX') : await this.client.set(key, value, 'PX', Math.max(1, Math.ceil(ttlMs)), 'NX');
    return result === 'OK';
  }

  async compareAndSet(key: string, expected: string, next: string | null, ttlMs?: number): Promise<boolean> {
    // One script, so no other client's write can land between the comparison and the write.
    const result = await this.client.eval(
      COMPARE_AND_SET,
      1,
      key,
      expected,
      next ?? '',
      next === null ? '1' : '0',
      ttlMs === undefined ? '0' : String(Math.max(1, Math.ceil(ttlMs))),
    );
    return Number(result) === 1;
  }

  async getMany(keys: readonly string[]): Promise<Array<string | null>> {
    if (keys.length === 0) return [];
    // MGET needs every key in one hash slot on a cluster; single GETs are routed per key there.
    if (this.client.isCluster) return Promise.all(keys.map((key) => this.client.get(key)));
    return this.client.mget(...keys);
  }

  async ping(): Promise<void> {
    await this.client.ping();
  }

  async close(): Promise<void> {
    await closeRedisClient(this.client);
  }
}
