import type { ClusterBus } from './cluster-bus.js';

export interface ProcessCacheOptions {
  /** The cluster bus its invalidations travel on (and the topic, unique per cache). */
  bus: ClusterBus;
  topic: string;
  /** How long an entry is served: bounds what a process keeps when an invalidation never reached it (Redis away). */
  ttlMs: number;
  /** Entries kept at most; the oldest loaded goes first. */
  maxEntries: number;
}

/**
 * Values read on every message (a conversation's notification settings, a sender's blocks, whether
 * recipients have push subscriptions) kept in this process, so a message costs no Redis command for
 * them. A change drops the key in every process and waits for each to confirm (`invalidate`,
 * ClusterBus.publishConfirmed) before the change is answered: once answered, no process serves the
 * old value. A load that an invalidation overtook is served to its caller once and not kept.
 *
 * Hand-written rather than lru-cache and the like: what it needs beyond a map with expiry is the
 * overtaken-load rule and the cluster invalidation, which no cache library knows about.
 */
export function createProcessCache<V>(options: ProcessCacheOptions) {
  const { bus, topic, ttlMs, maxEntries } = options;
  const entries = new Map<string, { loadedAt: number; value: V }>();
  /**
   * Invalidations so far: a load that saw it move is not kept. Any key's invalidation counts (one
   * counter, bounded memory); invalidations are rare next to reads, so the loads it discards are few.
   */
  let invalidations = 0;

  function forget(keys: readonly string[]): void {
    invalidations++;
    for (const key of keys) entries.delete(key);
  }
  bus.subscribe(topic, (payload) => forget(JSON.parse(payload) as string[]));

  function peek(key: string): V | undefined {
    const hit = entries.get(key);
    return hit && Date.now() - hit.loadedAt < ttlMs ? hit.value : undefined;
  }

  /** Keeps `value` unless an invalidation came since `stamp` was taken (before its load began). */
  function store(key: string, value: V, stamp: number): void {
    if (invalidations !== stamp) return;
    entries.delete(key);
    if (entries.size >= maxEntries) {
      const oldest = entries.keys().next().value;
      if (oldest !== undefined) entries.delete(oldest);
    }
    entries.set(key, { loadedAt: Date.now(), value });
  }

  return {
    /** The fresh value this process holds for `key`, if any (with `stamp` and `store`, for loads of many keys at once). */
    peek,
    /** Taken before a load: `store` keeps the loaded value only if no invalidation came since. */
    stamp: () => invalidations,
    store,

    /** The value under `key`, from this process when it holds a fresh one, else from `load`. */
    async get(key: string, load: () => Promise<V>): Promise<V> {
      const hit = peek(key);
      if (hit !== undefined) return hit;
      const stamp = invalidations;
      const value = await load();
      store(key, value, stamp);
      return value;
    },

    /** Drops `keys` in every process; resolves once every process has (or the bus gave up waiting). */
    invalidate(keys: readonly string[]): Promise<void> {
      if (keys.length === 0) return Promise.resolve();
      return bus.publishConfirmed(topic, JSON.stringify(keys));
    },
  };
}

export type ProcessCache<V> = ReturnType<typeof createProcessCache<V>>;
