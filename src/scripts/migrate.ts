// `npm run db:migrate`: applies pending migrations without starting the server, e.g. during a
// maintenance window; the server also applies them at start. On MySQL the Migrator's lock makes it
// safe beside starting servers; on SQLite it takes none (see docs/operations.md).
import { loadConfig } from '../config.js';
import { openDatabase } from '../platform/db/database.js';
import { runScript } from './cli.js';

runScript(async () => {
  const config = loadConfig();
  const database = openDatabase(config.database);
  try {
    const applied = await database.migrate();
    for (const name of applied) process.stdout.write(`applied ${name}\n`);
    if (applied.length === 0) process.stdout.write('database is up to date: no migration to apply\n');
  } finally {
    await database.close();
  }
});
