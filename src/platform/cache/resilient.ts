import type { Cache } from './cache.js';
import { MemoryCache } from './memory.js';
import type { RedisCache } from './redis.js';

export interface CacheHealthListener {
  /** Redis stopped answering: this process now counts, throttles and tracks presence on its own. */
  degraded(): void;
  /** Redis answers again: shared state this process holds (its sockets' presence) must be written back. */
  recovered(): void;
}

/**
 * Redis with a local fallback. While Redis is unreachable every call goes to an in-process
 * MemoryCache at once (Redis commands fail fast: no offline queue, a command timeout), so sends,
 * logins and presence keep working for the clients of this process instead of hanging or failing.
 * What degrades: rate limits and login throttling count per process, presence is per process, and
 * a session revoked on another process during the outage is only known here once its access token
 * expires. `ping` still asks Redis, so `/readyz` reports the cache down.
 */
export class ResilientCache implements Cache {
  private readonly fallback = new MemoryCache();
  private readonly listeners: CacheHealthListener[] = [];
  /** Down until the first connection is ready, so nothing is written to Redis half-connected. */
  private down = true;
  private closing = false;

  constructor(private readonly redis: RedisCache) {
    redis.client.on('ready', () => this.markUp());
    redis.client.on('close', () => this.markDown());
    redis.client.on('end', () => this.markDown());
  }

  /** Resolves once Redis is connected, or after `timeoutMs` (then the fallback serves until it is). */
  async whenReady(timeoutMs: number): Promise<void> {
    if (this.redis.client.status === 'ready') return;
    await new Promise<void>((resolve) => {
      const timer = setTimeout(done, timeoutMs);
      function done() {
        clearTimeout(timer);
        resolve();
      }
      this.redis.client.once('ready', done);
    });
  }

  onHealthChange(listener: CacheHealthListener): void {
    this.listeners.push(listener);
  }

  /** True while calls are answered by the local fallback. */
  get degraded(): boolean {
    return this.down;
  }

  private markDown(): void {
    if (this.down || this.closing) return;
    this.down = true;
    for (const listener of this.listeners) listener.degraded();
  }

  private markUp(): void {
    if (!this.down) return;
    this.down = false;
    for (const listener of this.listeners) listener.recovered();
  }

  /** Runs a call on Redis when it is up, on the fallback when it is not or when the call fails. */
  private async run<T>(call: (cache: Cache) => Promise<T>): Promise<T> {
    if (!this.down && this.redis.client.status === 'ready') {
      try {
        return await call(this.redis);
      } catch {
        // A timeout or a dropped connection: the fallback answers this call; `close` flips the state.
      }
    }
    return call(this.fallback);
  }

  get(key: string) {
    return this.run((cache) => cache.get(key));
  }
  set(key: string, value: string, ttlMs?: number) {
    return this.run((cache) => cache.set(key, value, ttlMs));
  }
  del(key: string) {
    return this.run((cache) => cache.del(key));
  }
  incr(key: string, windowMs: number) {
    return this.run((cache) => cache.incr(key, windowMs));
  }
  decr(key: string) {
    return this.run((cache) => cache.decr(key));
  }
  ttl(key: string) {
    return this.run((cache) => cache.ttl(key));
  }
  setAdd(key: string, member: string) {
    return this.run((cache) => cache.setAdd(key, member));
  }
  setRemove(key: string, member: string) {
    return this.run((cache) => cache.setRemove(key, member));
  }
  setMembers(key: string) {
    return this.run((cache) => cache.setMembers(key));
  }
  setIfAbsent(key: string, value: string, ttlMs?: number) {
    return this.run((cache) => cache.setIfAbsent(key, value, ttlMs));
  }
  compareAndSet(key: string, expected: string, next: string | null, ttlMs?: number) {
    return this.run((cache) => cache.compareAndSet(key, expected, next, ttlMs));
  }
  getMany(keys: readonly string[]) {
    return this.run((cache) => cache.getMany(keys));
  }

  async ping(): Promise<void> {
    await this.redis.ping();
  }

  async close(): Promise<void> {
    this.closing = true;
    await this.redis.close();
    await this.fallback.close();
  }
}
