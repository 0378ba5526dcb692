import { closeSync, openSync, readSync, renameSync, rmSync } from 'node:fs';
import SqliteDatabase from 'better-sqlite3';

/** The 16-byte header every SQLite 3 database file starts with (https://www.sqlite.org/fileformat.html). */
const SQLITE_HEADER = 'SQLite format 3\0';

export function looksLikeSqlite(file: string): boolean {
  const header = Buffer.alloc(SQLITE_HEADER.length);
  const fd = openSync(file, 'r');
  try {
    return readSync(fd, header, 0, header.length, 0) === header.length && header.toString('latin1') === SQLITE_HEADER;
  } finally {
    closeSync(fd);
  }
}

/**
 * Copies a live database with SQLite's online backup API. The default copies 100 pages a step and
 * restarts whenever another process writes in between, so a busy server could keep it going for
 * ever; asking for every page in the second step copies one consistent snapshot while holding a
 * read lock for just that step (WAL readers never block the writer). The copy is written under a
 * temporary name, checked with `PRAGMA integrity_check`, and renamed, so a crash or a bad copy never
 * sits under the final name.
 */
export async function backupSqlite(sourceFile: string, destination: string): Promise<void> {
  const partial = `${destination}.partial`;
  rmSync(partial, { force: true });
  // Not openSqlite(): that would create a missing file and set pragmas on someone else's database.
  const source = new SqliteDatabase(sourceFile, { fileMustExist: true });
  try {
    source.pragma('busy_timeout = 5000');
    await source.backup(partial, { progress: () => 0x7fffffff });
  } catch (error) {
    rmSync(partial, { force: true });
    throw error;
  } finally {
    source.close();
  }
  // Read-write, not readonly: closing the last connection then removes the -wal/-shm it creates.
  const copy = new SqliteDatabase(partial, { fileMustExist: true });
  let problems: string[];
  try {
    problems = integrityProblems(copy);
  } finally {
    copy.close();
  }
  if (problems.length > 0) {
    rmSync(partial, { force: true });
    throw new Error(`the copy fails integrity_check: ${problems.join('; ')}`);
  }
  renameSync(partial, destination);
}

/** `PRAGMA integrity_check`: an empty list when the file is sound, else SQLite's first complaints. */
export function integrityProblems(db: SqliteDatabase.Database): string[] {
  const rows = db.pragma('integrity_check(20)', { simple: false }) as Array<{ integrity_check: string }>;
  const messages = rows.map((row) => row.integrity_check);
  return messages.length === 1 && messages[0] === 'ok' ? [] : messages;
}
