// The fan-out on the set-ups teams deploy: Parley on MariaDB + Redis and on PostgreSQL + Redis, each
// in a database of its own made for the run, with the same clients, groups and rate steps as the
// SQLite run, and compared with the bare Socket.IO relay measured in the same run. A set-up whose
// service does not answer is reported as such and skipped; it does not fail the bench.
import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import { createScratchDatabase } from '../src/platform/db/scratch-database.js';
import { benchParleyFanout, type FanoutOptions, type FanoutResult, printFanout } from './fanout.js';
import { fixed, prepareUserPool, removeTempDir, say, thousands } from './lib.js';

export interface ProductionSetup {
  label: string;
  /** Database server URL (a database in its path is ignored): the run makes and drops a database of its own there. */
  databaseServerUrl: string;
  redisUrl: string;
}

/** BENCH_PRODUCTION (comma list of mysql://… and postgres://… server URLs) and BENCH_REDIS_URL pick the set-ups. */
export function productionSetups(env: NodeJS.ProcessEnv = process.env): ProductionSetup[] {
  const redisUrl = env.BENCH_REDIS_URL ?? 'redis://127.0.0.1:6379';
  const servers = (env.BENCH_PRODUCTION ?? 'mysql://root@127.0.0.1:3306,postgres://root@127.0.0.1:5432').split(',').map((url) => url.trim());
  return servers.filter(Boolean).map((url) => ({ label: `${/^postgres/.test(url) ? 'PostgreSQL' : 'MariaDB'} + Redis`, databaseServerUrl: url, redisUrl }));
}

async function redisAnswers(url: string): Promise<boolean> {
  const redis = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null, connectTimeout: 2000 });
  try {
    await redis.connect();
    return (await redis.ping()) === 'PONG';
  } catch {
    return false;
  } finally {
    redis.disconnect();
  }
}

/**
 * One set-up: users registered on its database (argon2, as on SQLite), then the stepped fan-out.
 * Returns undefined when its database or Redis is unreachable.
 */
export async function benchProductionFanout(setup: ProductionSetup, options: FanoutOptions, registerDeadline: number): Promise<FanoutResult | undefined> {
  if (!(await redisAnswers(setup.redisUrl))) {
    say(`  ${setup.label}: Redis at ${setup.redisUrl} does not answer; skipped\n`);
    return undefined;
  }
  let database: Awaited<ReturnType<typeof createScratchDatabase>>;
  try {
    database = await createScratchDatabase(setup.databaseServerUrl, `parley_bench_${process.pid}_${randomBytes(3).toString('hex')}`);
  } catch (error) {
    say(`  ${setup.label}: cannot make a database at ${setup.databaseServerUrl} (${error instanceof Error ? error.message : String(error)}); skipped\n`);
    return undefined;
  }
  // Its own key prefix: another run's (or a test suite's) keys on the same Redis stay apart.
  const serverEnv = { DATABASE_URL: database.url, REDIS_URL: setup.redisUrl, REDIS_KEY_PREFIX: `bench${randomBytes(3).toString('hex')}:` };
  try {
    const pool = await prepareUserPool(options.clients, registerDeadline, serverEnv);
    try {
      say(`  ${setup.label}: ${pool.users.length} users registered in ${fixed(pool.seconds)} s\n`);
      const result = await benchParleyFanout({ ...options, serverEnv: { ...options.serverEnv, ...serverEnv } }, pool);
      printFanout(result);
      return result;
    } finally {
      removeTempDir(pool.dataDir);
    }
  } finally {
    await database.drop().catch(() => {});
  }
}

/** The production set-ups next to SQLite and the relay: best passing delivered/s and server CPU per 1,000 deliveries. */
export function printProductionRatios(rows: Array<{ label: string; result: FanoutResult | undefined }>, relay: FanoutResult | undefined): void {
  const relayRate = relay?.best?.deliveredPerSec;
  say('\nfan-out by set-up (best passing step; ratio = delivered/s against the bare relay of this run):\n');
  for (const { label, result } of rows) {
    const best = result?.best;
    if (!best) {
      say(`  ${label.padEnd(22)} ${result ? 'no passing step' : 'not measured in this run'}\n`);
      continue;
    }
    const ratio = relayRate ? `${fixed(best.deliveredPerSec / relayRate, 2)}x the relay` : 'relay not measured';
    say(
      `  ${label.padEnd(22)} ${thousands(best.deliveredPerSec).padStart(7)} deliveries/s at ${best.label} msg/s = ${ratio}; server CPU ${fixed(best.serverCpuPer1k * 1000, 0)} ms per 1,000 deliveries\n`,
    );
  }
}
