/**
 * The cache every process shares: login throttling, rate limits, session revocation and,
 * later, presence. In memory for a single embedded process, Redis when several run.
 */
export interface Cache {
  get(key: string): Promise<string | null>;
  /** Stores a value; `ttlMs` makes it expire. */
  set(key: string, value: string, ttlMs?: number): Promise<void>;
  del(key: string): Promise<void>;
  /**
   * Adds one to a counter and returns the new count with the time left before it resets.
   * The window starts with the first increment (fixed window), which is what throttles need.
   */
  incr(key: string, windowMs: number): Promise<{ count: number; ttlMs: number }>;
  /**
   * Takes one back from a counter made by `incr`, keeping its window; nothing when the counter has
   * expired (a refund must never start a new window). Atomic with other increments.
   */
  decr(key: string): Promise<void>;
  /** Milliseconds until `key` expires; -1 when it has no expiry, -2 when it does not exist. */
  ttl(key: string): Promise<number>;
  /** Adds a member to a set and returns the set's size afterwards (atomic with the add). */
  setAdd(key: string, member: string): Promise<number>;
  /** Removes a member from a set and returns the set's size afterwards. */
  setRemove(key: string, member: string): Promise<number>;
  setMembers(key: string): Promise<string[]>;
  /** Stores a value only when the key does not exist; true when it was stored (atomic). */
  setIfAbsent(key: string, value: string, ttlMs?: number): Promise<boolean>;
  /**
   * Replaces the value only while it still equals `expected` (atomic compare-and-set); `next` null
   * deletes the key. True when it was replaced. `ttlMs` sets the new value's expiry (none: no expiry).
   */
  compareAndSet(key: string, expected: string, next: string | null, ttlMs?: number): Promise<boolean>;
  /** Values of several keys at once, null where missing. */
  getMany(keys: readonly string[]): Promise<Array<string | null>>;
  /** Throws when the backing store cannot be reached. */
  ping(): Promise<void>;
  close(): Promise<void>;
}
