import path from 'node:path';
import { type Kysely, Migrator } from 'kysely';
import type { DatabaseConfig } from '../../src/config.js';
import { openDatabase } from '../../src/platform/db/database.js';
import { migrationProvider } from '../../src/platform/db/migrations/index.js';
import type { Database } from '../../src/platform/db/schema.js';
import { createTestEnvironment, databaseKindOf } from './server.js';

/**
 * A database of the suite's kind (a fresh SQLite file, or a scratch MySQL/PostgreSQL database) with no
 * server on it, for tests that migrate to an older schema, store rows the way it stored them, then
 * run the migrations after it, as an upgrade does. `close` closes it and drops the environment.
 */
export async function openUpgradeDatabase() {
  const env = await createTestEnvironment();
  const url = env.databaseUrl;
  const kind = databaseKindOf(url);
  const config: DatabaseConfig = url === undefined || kind === 'sqlite' ? { kind: 'sqlite', file: path.join(env.dataDir, 'upgrade.db') } : { kind, url, poolSize: 2 };
  const handle = openDatabase(config);
  return {
    env,
    handle,
    db: handle.db as unknown as Kysely<Database>,
    migrator: new Migrator({ db: handle.db, provider: migrationProvider }),
    async close() {
      await handle.close();
      await env.dispose();
    },
  };
}
