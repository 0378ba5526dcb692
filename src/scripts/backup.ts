// `npm run db:backup [dest]`: an online, consistent copy of the SQLite database, safe while the
// server runs and writes. Prints the path of the copy on stdout and nothing else, for scripts.
import { existsSync, mkdirSync } from 'node:fs';
import path from 'node:path';
import { loadConfig } from '../config.js';
import { backupSqlite } from '../platform/db/sqlite-backup.js';
import { runScript, ScriptError } from './cli.js';
import { fileStamp, mysqlClientArgs, postgresClientArgs } from './db-tools.js';

runScript(async () => {
  const config = loadConfig();
  if (config.database.kind === 'mysql') {
    const { flags, database } = mysqlClientArgs(config.database.url);
    throw new ScriptError(
      `db:backup copies SQLite databases only; DATABASE_URL is MySQL, back it up with mysqldump:\n` +
        `  mysqldump --single-transaction --default-character-set=utf8mb4 ${flags} ${database} > parley-${fileStamp()}.sql`,
    );
  }
  if (config.database.kind === 'postgres') {
    const { flags, database } = postgresClientArgs(config.database.url);
    throw new ScriptError(
      `db:backup copies SQLite databases only; DATABASE_URL is PostgreSQL, back it up with pg_dump (a consistent snapshot, safe while Parley runs):\n` +
        `  pg_dump --format=custom ${flags} -d ${database} -f parley-${fileStamp()}.dump`,
    );
  }
  const source = config.database.file;
  if (!existsSync(source)) throw new ScriptError(`no database at ${source} (check DATA_DIR or DATABASE_URL)`);
  const destination = path.resolve(process.argv[2] ?? path.join(config.dataDir, 'backups', `parley-${fileStamp()}.db`));
  if (existsSync(destination)) throw new ScriptError(`${destination} already exists: refusing to overwrite it`);
  mkdirSync(path.dirname(destination), { recursive: true });

  await backupSqlite(source, destination);
  process.stdout.write(`${destination}\n`);
});
