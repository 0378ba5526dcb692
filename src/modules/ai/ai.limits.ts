import type { Cache } from '../../platform/cache/cache.js';
import type { Logger } from '../../platform/logger.js';
import type { Clock } from '../../shared/clock.js';
import { AppError } from '../../shared/errors.js';

/** The part of `config.ai` the limits use. */
export interface AiLimitSettings {
  rateLimit: { max: number; windowSec: number };
  /** Tokens per user per UTC day; 0: no limit. */
  dailyTokenQuota: number;
}

export interface AiLimitsDeps {
  cache: Cache;
  clock: Clock;
  settings: AiLimitSettings;
  log: Logger;
}

const quotaKey = (userId: string, at: Date) => `ai:tokens:${userId}:${at.toISOString().slice(0, 10)}`;

function msUntilUtcMidnight(at: Date): number {
  const midnight = Date.UTC(at.getUTCFullYear(), at.getUTCMonth(), at.getUTCDate() + 1);
  return midnight - at.getTime();
}

/**
 * Per-user AI request rate and daily token quota, counted in the cache (shared by every process
 * with Redis).
 */
export function createAiLimits({ cache, clock, settings, log }: AiLimitsDeps) {
  return {
    /** Refuses with RATE_LIMITED (and when to retry) when the user's quota or request rate is used up. */
    async check(userId: string): Promise<void> {
      // The quota first: a request refused for it does not also use up the rate window.
      if (settings.dailyTokenQuota > 0) {
        const now = clock.now();
        const used = Number((await cache.get(quotaKey(userId, now))) ?? 0);
        if (used >= settings.dailyTokenQuota) {
          throw new AppError(
            'RATE_LIMITED',
            `the daily AI token quota (${settings.dailyTokenQuota}) is used up; it resets at 00:00 UTC`,
            { quota: settings.dailyTokenQuota, used },
            Math.ceil(msUntilUtcMidnight(now) / 1000),
          );
        }
      }
      const { count, ttlMs } = await cache.incr(`ai:rate:${userId}`, settings.rateLimit.windowSec * 1000);
      if (count > settings.rateLimit.max) throw new AppError('RATE_LIMITED', 'too many AI requests; wait a little', undefined, Math.ceil(ttlMs / 1000));
    },

    /** Adds tokens to the user's count for today (compare-and-set, so concurrent replies add up). */
    async recordUsage(userId: string, tokens: number): Promise<void> {
      if (settings.dailyTokenQuota <= 0 || tokens <= 0) return;
      const now = clock.now();
      const key = quotaKey(userId, now);
      // The key names the day; it only has to outlive it.
      const ttlMs = msUntilUtcMidnight(now) + 3_600_000;
      for (let attempt = 0; attempt < 10; attempt++) {
        const current = await cache.get(key);
        const stored = current === null ? await cache.setIfAbsent(key, String(tokens), ttlMs) : await cache.compareAndSet(key, current, String(Number(current) + tokens), ttlMs);
        if (stored) return;
      }
      log.warn({ userId, tokens }, 'AI token usage not recorded: too much contention');
    },
  };
}

export type AiLimits = ReturnType<typeof createAiLimits>;
