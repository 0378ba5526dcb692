import type { FastifyRateLimitStore, FastifyRateLimitStoreCtor } from '@fastify/rate-limit';
import type { Cache } from '../cache/cache.js';

/**
 * A @fastify/rate-limit store over Parley's Cache, so request limits hold across processes when
 * Redis is configured and need nothing when it is not.
 */
export function cacheRateLimitStore(cache: Cache, prefix = 'rl:'): FastifyRateLimitStoreCtor {
  class CacheStore implements FastifyRateLimitStore {
    constructor(private readonly keyPrefix: string = prefix) {}

    incr(key: string, callback: (error: Error | null, result?: { current: number; ttl: number }) => void, timeWindow: number): void {
      cache.incr(this.keyPrefix + key, timeWindow).then(
        ({ count, ttlMs }) => callback(null, { current: count, ttl: Math.max(0, ttlMs) }),
        (error: unknown) => callback(error instanceof Error ? error : new Error(String(error))),
      );
    }

    child(routeOptions: Parameters<FastifyRateLimitStore['child']>[0]): FastifyRateLimitStore {
      const route = `${String(routeOptions.method)}${routeOptions.url}:`;
      return new CacheStore(this.keyPrefix + route);
    }
  }
  return CacheStore as unknown as FastifyRateLimitStoreCtor;
}
