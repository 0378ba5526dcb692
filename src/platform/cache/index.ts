import type { Cache } from './cache.js';
import { MemoryCache } from './memory.js';
import { RedisCache } from './redis.js';
import { ResilientCache } from './resilient.js';

export type { Cache } from './cache.js';
export type { CacheHealthListener } from './resilient.js';
export { ResilientCache } from './resilient.js';

/** With REDIS_URL, Redis behind a local fallback for outages (see ResilientCache); else memory. */
export function createCache(redisUrl: string | undefined, keyPrefix?: string): Cache {
  return redisUrl ? new ResilientCache(new RedisCache(redisUrl, { keyPrefix })) : new MemoryCache();
}
