import { sql } from 'kysely';
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../src/config.js';
import { openDatabase } from '../src/platform/db/database.js';
import { toAppError } from '../src/platform/http/errors.js';
import { createTestEnvironment, TEST_DATABASE_KIND, TEST_DATABASE_URL } from './support/server.js';

/** MySQL's pool on every pass, like test/faults.test.ts: MariaDB runs on every machine. */
const MYSQL_URL = TEST_DATABASE_KIND === 'mysql' ? (TEST_DATABASE_URL as string) : 'mysql://root@127.0.0.1:3306/parley_test';

describe('a MySQL pool with too many queries waiting', () => {
  it('refuses the ones past its queue limit with UNAVAILABLE (retry shortly), not INTERNAL, and serves the rest', async () => {
    const env = await createTestEnvironment({ databaseUrl: MYSQL_URL });
    // One connection: it queues 50 queries (pool size × 50); the rest are refused at once.
    const config = loadConfig({ env: {}, cwd: env.dataDir, overrides: { DATA_DIR: env.dataDir, DATABASE_URL: env.databaseUrl as string, DATABASE_POOL_SIZE: '1' } });
    const database = openDatabase(config.database);
    try {
      const outcomes = await Promise.all(
        Array.from({ length: 60 }, () =>
          sql`select sleep(0.01) as slept`.execute(database.db).then(
            () => 'ok',
            (error: unknown) => toAppError(error).code,
          ),
        ),
      );
      const refused = outcomes.filter((outcome) => outcome !== 'ok');
      expect(refused.length).toBeGreaterThan(0);
      expect(new Set(refused)).toEqual(new Set(['UNAVAILABLE']));
      expect(outcomes.filter((outcome) => outcome === 'ok').length).toBeGreaterThanOrEqual(50);
    } finally {
      await database.close();
      await env.dispose();
    }
  });
});
