// `npm run db:restore <file>`: replaces the SQLite database with a backup. The server must be
// stopped: it keeps the old file open and would go on writing to it.
import { copyFileSync, existsSync, mkdirSync, renameSync, rmSync } from 'node:fs';
import path from 'node:path';
import SqliteDatabase from 'better-sqlite3';
import { type Config, loadConfig } from '../config.js';
import { migrations } from '../platform/db/migrations/index.js';
import { MIGRATION_TABLE } from '../platform/db/mysql-schema.js';
import { backupSqlite, integrityProblems, looksLikeSqlite } from '../platform/db/sqlite-backup.js';
import { runScript, ScriptError } from './cli.js';
import { fileStamp, mysqlClientArgs, postgresClientArgs, somethingListens } from './db-tools.js';

/** Refuses files that are not sound Parley databases this build can run. */
function checkCandidate(file: string): void {
  const db = new SqliteDatabase(file, { fileMustExist: true });
  try {
    const problems = integrityProblems(db);
    if (problems.length > 0) throw new ScriptError(`the backup fails integrity_check: ${problems.join('; ')}`);
    const hasMigrations = db.prepare('select 1 from sqlite_master where type = ? and name = ?').get('table', MIGRATION_TABLE);
    if (!hasMigrations) throw new ScriptError('the backup is a SQLite database but not a Parley one (no migration table)');
    const applied = db.prepare<[], { name: string }>(`select name from ${MIGRATION_TABLE}`).all();
    const unknown = applied.map((row) => row.name).filter((name) => !(name in migrations));
    if (unknown.length > 0) throw new ScriptError(`the backup was made by a newer Parley (migrations ${unknown.join(', ')}): upgrade first`);
  } finally {
    // Closing the last connection checkpoints the WAL into the file and removes it.
    db.close();
  }
}

async function refuseIfServerRuns(config: Config): Promise<void> {
  if (config.port === 0) {
    process.stderr.write('parley: PORT is 0, cannot check for a running server: make sure it is stopped\n');
    return;
  }
  if (await somethingListens(config.host, config.port)) {
    throw new ScriptError(`something is listening on port ${config.port}: stop the Parley server before restoring`);
  }
}

runScript(async () => {
  const config = loadConfig();
  if (config.database.kind === 'mysql') {
    const { flags, database } = mysqlClientArgs(config.database.url);
    throw new ScriptError(
      `db:restore restores SQLite databases only; DATABASE_URL is MySQL, restore a mysqldump file with:\n` +
        `  mysql --default-character-set=utf8mb4 ${flags} ${database} < parley-YYYYMMDD-HHMMSS.sql`,
    );
  }
  if (config.database.kind === 'postgres') {
    const { flags, database } = postgresClientArgs(config.database.url);
    throw new ScriptError(
      `db:restore restores SQLite databases only; DATABASE_URL is PostgreSQL, stop Parley and restore a pg_dump file with:\n` +
        `  pg_restore --clean --if-exists --no-owner --single-transaction ${flags} -d ${database} parley-YYYYMMDD-HHMMSS.dump`,
    );
  }
  const given = process.argv[2];
  if (!given) throw new ScriptError('usage: npm run db:restore <backup.db>');
  const backup = path.resolve(given);
  if (!existsSync(backup)) throw new ScriptError(`no such file: ${backup}`);
  if (!looksLikeSqlite(backup)) throw new ScriptError(`${backup} is not a SQLite database`);
  await refuseIfServerRuns(config);

  const target = config.database.file;
  mkdirSync(path.dirname(target), { recursive: true });
  // Check a copy next to the target: opening the backup itself would leave -wal/-shm files beside it,
  // and the final rename stays on one file system.
  const staged = `${target}.restoring`;
  copyFileSync(backup, staged);
  try {
    checkCandidate(staged);
  } catch (error) {
    rmSync(staged, { force: true });
    throw error;
  }

  if (existsSync(target)) {
    const previous = path.join(config.dataDir, 'backups', `parley-before-restore-${fileStamp()}.db`);
    mkdirSync(path.dirname(previous), { recursive: true });
    await backupSqlite(target, previous);
    process.stdout.write(`saved the current database as ${previous}\n`);
  }
  // A WAL left from the old database would be replayed into the restored one.
  for (const suffix of ['-wal', '-shm', '-journal']) rmSync(`${target}${suffix}`, { force: true });
  renameSync(staged, target);
  process.stdout.write(`restored ${backup} into ${target}\n`);
});
