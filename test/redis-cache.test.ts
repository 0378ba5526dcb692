import { once } from 'node:events';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RedisCache } from '../src/platform/cache/redis.js';
import { type OwnRedis, ownRedis } from './support/services.js';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * The rate-limit counter on a real redis-server of the test's own (every pass, SQLite's included):
 * one script per increment, so what it must keep from the MULTI it replaced is checked here.
 */
describe('RedisCache.incr: a fixed-window counter as one Redis script', () => {
  let redis: OwnRedis;
  let cache: RedisCache;

  beforeAll(async () => {
    redis = await ownRedis();
    await redis.start();
    cache = new RedisCache(redis.url, { keyPrefix: 'cache-test:' });
    // Commands fail fast while it connects (no offline queue), as the server's cache wants.
    if (cache.client.status !== 'ready') await once(cache.client, 'ready');
  });

  afterAll(async () => {
    await cache?.close();
    await redis?.stop();
  });

  it('counts up, keeps the window from the first hit, and starts a new one after it passes', async () => {
    const first = await cache.incr('window', 400);
    expect(first.count).toBe(1);
    expect(first.ttlMs).toBeGreaterThan(0);
    expect(first.ttlMs).toBeLessThanOrEqual(400);
    await sleep(150);
    const second = await cache.incr('window', 400);
    expect(second.count).toBe(2);
    // The second hit did not restart the window.
    expect(second.ttlMs).toBeLessThanOrEqual(first.ttlMs - 100);
    await sleep(second.ttlMs + 100);
    const fresh = await cache.incr('window', 400);
    expect(fresh.count).toBe(1);
    expect(fresh.ttlMs).toBeGreaterThan(250);
  });

  it('gives a burst of increments in one turn (one pipelined write) distinct counts under the prefix', async () => {
    const results = await Promise.all(Array.from({ length: 100 }, () => cache.incr('burst', 60_000)));
    expect(results.map((result) => result.count).sort((a, b) => a - b)).toEqual(Array.from({ length: 100 }, (_, i) => i + 1));
    expect(await cache.client.get('burst')).toBe('100');
    // The prefix is on the stored key: a client without one sees it there.
    const keys = await cache.client.call('KEYS', '*burst*');
    expect(keys).toEqual(['cache-test:burst']);
  });

  it('keeps counting after the server forgot its scripts (SCRIPT FLUSH, as after a restart or a failover)', async () => {
    expect((await cache.incr('flushed', 60_000)).count).toBe(1);
    await cache.client.script('FLUSH');
    expect((await cache.incr('flushed', 60_000)).count).toBe(2);
    expect((await cache.incr('flushed', 60_000)).count).toBe(3);
  });

  it('gives a key left without a window (a counter written by hand or by an old version) one at the next hit', async () => {
    await cache.client.set('no-window', '5');
    const hit = await cache.incr('no-window', 500);
    expect(hit.count).toBe(6);
    expect(hit.ttlMs).toBeGreaterThan(0);
    expect(hit.ttlMs).toBeLessThanOrEqual(500);
  });
});
