import type { Migration, MigrationProvider } from 'kysely';
import * as m0001 from './0001_users.js';
import * as m0002 from './0002_messaging.js';

/**
 * Every migration in order. They are imported statically (not read from a folder) so the built
 * server, the tests and the schema printer all see the same list.
 */
export const migrations: Record<string, Migration> = {
  '0001_users': m0001,
  '0002_messaging': m0002,
};

export const migrationProvider: MigrationProvider = {
  getMigrations: async () => migrations,
};
