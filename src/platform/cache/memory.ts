import type { Cache } from './cache.js';

interface Entry {
  value: string;
  expiresAt: number | null;
}

/** Single-process cache for the embedded default; expired entries are dropped lazily and by a sweep. */
export class MemoryCache implements Cache {
  private readonly entries = new Map<string, Entry>();
  private readonly sweeper: NodeJS.Timeout;

  constructor(private readonly now: () => number = Date.now) {
    this.sweeper = setInterval(() => this.sweep(), 60_000);
    this.sweeper.unref();
  }

  private live(key: string): Entry | undefined {
    const entry = this.entries.get(key);
    if (entry && entry.expiresAt !== null && entry.expiresAt <= this.now()) {
      this.entries.delete(key);
      return undefined;
    }
    return entry;
  }

  private sweep(): void {
    const now = this.now();
    for (const [key, entry] of this.entries) {
      if (entry.expiresAt !== null && entry.expiresAt <= now) this.entries.delete(key);
    }
  }

  async get(key: string): Promise<string | null> {
    return this.live(key)?.value ?? null;
  }

  async set(key: string, value: string, ttlMs?: number): Promise<void> {
    this.entries.set(key, { value, expiresAt: ttlMs === undefined ? null : this.now() + ttlMs });
  }

  async del(key: string): Promise<void> {
    this.entries.delete(key);
  }

  async incr(key: string, windowMs: number): Promise<{ count: number; ttlMs: number }> {
    const entry = this.live(key);
    if (!entry) {
      const expiresAt = this.now() + windowMs;
      this.entries.set(key, { value: '1', expiresAt });
      return { count: 1, ttlMs: windowMs };
    }
    const count = Number(entry.value) + 1;
    entry.value = String(count);
    return { count, ttlMs: entry.expiresAt === null ? -1 : entry.expiresAt - this.now() };
  }

  async decr(key: string): Promise<void> {
    const entry = this.live(key);
    if (entry) entry.value = String(Number(entry.value) - 1);
  }

  async ttl(key: string): Promise<number> {
    const entry = this.live(key);
    if (!entry) return -2;
    return entry.expiresAt === null ? -1 : entry.expiresAt - this.now();
  }

  private readonly sets = new Map<string, Set<string>>();

  async setAdd(key: string, member: string): Promise<number> {
    const set = this.sets.get(key) ?? new Set<string>();
    set.add(member);
    this.sets.set(key, set);
    return set.size;
  }

  async setRemove(key: string, member: string): Promise<number> {
    const set = this.sets.get(key);
    if (!set) return 0;
    set.delete(member);
    if (set.size === 0) this.sets.delete(key);
    return set.size;
  }

  async setMembers(key: string): Promise<string[]> {
    return [...(this.sets.get(key) ?? [])];
  }

  async setIfAbsent(key: string, value: string, ttlMs?: number): Promise<boolean> {
    if (this.live(key)) return false;
    await this.set(key, value, ttlMs);
    return true;
  }

  async compareAndSet(key: string, expected: string, next: string | null, ttlMs?: number): Promise<boolean> {
    if (this.live(key)?.value !== expected) return false;
    if (next === null) this.entries.delete(key);
    else await this.set(key, next, ttlMs);
    return true;
  }

  async getMany(keys: readonly string[]): Promise<Array<string | null>> {
    return keys.map((key) => this.live(key)?.value ?? null);
  }

  async ping(): Promise<void> {}

  async close(): Promise<void> {
    clearInterval(this.sweeper);
    this.entries.clear();
    this.sets.clear();
  }
}
