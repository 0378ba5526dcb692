import type { Cache } from './cache.js';
import { MemoryCache } from './memory.js';
import { RedisCache } from './redis.js';

export type { Cache } from './cache.js';

export function createCache(redisUrl: string | undefined, keyPrefix?: string): Cache {
  return redisUrl ? new RedisCache(redisUrl, { keyPrefix }) : new MemoryCache();
}
