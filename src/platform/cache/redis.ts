import { createRequire } from 'node:module';
import type { Redis, RedisOptions } from 'ioredis';
import type { Cache } from './cache.js';

const require = createRequire(import.meta.url);

/**
 * A Redis client, with ioredis loaded on first use (synchronously: it is CommonJS). A process
 * without REDIS_URL never loads it, which keeps about 10 MiB off an embedded server's RSS.
 */
export function newRedisClient(url: string, options: RedisOptions): Redis {
  const { Redis: RedisClient } = require('ioredis') as typeof import('ioredis');
  return new RedisClient(url, options);
}

/** KEYS[1]; ARGV: expected, next, delete (1/0), ttl ms (0: none). ioredis prefixes KEYS[1]. */
const COMPARE_AND_SET = `
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return 0 end
if ARGV[3] == '1' then redis.call('DEL', KEYS[1])
elseif ARGV[4] ~= '0' then redis.call('SET', KEYS[1], ARGV[2], 'PX', ARGV[4])
else redis.call('SET', KEYS[1], ARGV[2]) end
return 1`;

/** KEYS[1]. DECR only while the key lives: a refund after expiry must not leave a keyless -1. */
const DECREMENT_IF_PRESENT = `
if redis.call('EXISTS', KEYS[1]) == 1 then redis.call('DECR', KEYS[1]) end
return 1`;

/** Redis-backed cache shared by every Parley process pointed at the same `REDIS_URL`. */
export class RedisCache implements Cache {
  readonly client: Redis;

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
    });
    // Connection errors are retried by ioredis; without a listener they would crash the process.
    this.client.on('error', () => {});
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
    // INCR and the first PEXPIRE in one round trip; NX keeps the window fixed from the first hit.
    const result = await this.client
      .multi()
      .incr(key)
      .pexpire(key, Math.max(1, Math.ceil(windowMs)), 'NX')
      .pttl(key)
      .exec();
    if (!result) throw new Error('redis transaction aborted');
    const [incrResult, , ttlResult] = result;
    if (incrResult?.[0]) throw incrResult[0];
    return { count: Number(incrResult?.[1]), ttlMs: Number(ttlResult?.[1]) };
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
    return this.client.mget(...keys);
  }

  async ping(): Promise<void> {
    await this.client.ping();
  }

  async close(): Promise<void> {
    await this.client.quit().catch(() => this.client.disconnect());
  }
}
