import { describe, expect, it } from 'vitest';
import { MemoryCache } from '../../src/platform/cache/memory.js';

/** The embedded cache with a clock the test moves by hand. */
function cacheWithClock() {
  let now = 1_000_000;
  const cache = new MemoryCache(() => now);
  return { cache, advance: (ms: number) => (now += ms) };
}

describe('memory cache', () => {
  it('forgets a value when its time is up, not before', async () => {
    const { cache, advance } = cacheWithClock();
    await cache.set('k', 'v', 1000);
    advance(999);
    expect(await cache.get('k')).toBe('v');
    advance(1);
    expect(await cache.get('k')).toBeNull();
    expect(await cache.ttl('k')).toBe(-2);
  });

  it('counts in a fixed window: the window starts at the first hit and the count restarts after it', async () => {
    const { cache, advance } = cacheWithClock();
    expect(await cache.incr('hits', 60_000)).toEqual({ count: 1, ttlMs: 60_000 });
    advance(10_000);
    expect(await cache.incr('hits', 60_000)).toEqual({ count: 2, ttlMs: 50_000 });
    advance(50_000);
    expect(await cache.incr('hits', 60_000)).toEqual({ count: 1, ttlMs: 60_000 });
  });

  it('keeps a value without a time to live, and says so', async () => {
    const { cache, advance } = cacheWithClock();
    await cache.set('forever', 'x');
    advance(10 ** 9);
    expect(await cache.get('forever')).toBe('x');
    expect(await cache.ttl('forever')).toBe(-1);
  });

  it('answers set sizes after each add and remove, counting a member once', async () => {
    const { cache } = cacheWithClock();
    expect(await cache.setAdd('s', 'a')).toBe(1);
    expect(await cache.setAdd('s', 'a')).toBe(1);
    expect(await cache.setAdd('s', 'b')).toBe(2);
    expect(await cache.setRemove('s', 'a')).toBe(1);
    expect((await cache.setMembers('s')).sort()).toEqual(['b']);
    expect(await cache.setRemove('missing', 'a')).toBe(0);
  });
});
