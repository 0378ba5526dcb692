// Bench tools write messages straight into a stopped Parley's SQLite file (a million rows in
// seconds); the search index is then filled here the way the migration's backfill would
// (src/platform/db/search-index.ts: on SQLite the FTS5 table of migration 0021, one row per
// message), on prepared statements in large transactions.
import { performance } from 'node:perf_hooks';
import SqliteDatabase from 'better-sqlite3';
import { searchFtsRow } from '../src/platform/db/search-index.js';

/** Indexes the messages after `afterId` (all of them by default). */
export function indexSqliteMessages(file: string, afterId = 0): { tokens: number; seconds: number } {
  const started = performance.now();
  const db = new SqliteDatabase(file);
  let tokens = 0;
  try {
    db.pragma('journal_mode = WAL');
    db.pragma('synchronous = OFF');
    const insert = db.prepare('insert into message_search_fts (rowid, tokens, conversation) values (?, ?, ?)');
    const page = db.prepare('select id, conversation_id, type, content, recalled_at from messages where id > ? order by id limit 20000');
    let after = afterId;
    for (;;) {
      const rows = page.all(after) as Array<{ id: number; conversation_id: string; type: string; content: string; recalled_at: number | null }>;
      if (rows.length === 0) break;
      db.transaction(() => {
        for (const row of rows) {
          const indexed = searchFtsRow(row);
          if (!indexed) continue;
          insert.run(indexed.rowid, indexed.tokens, indexed.conversation);
          tokens += indexed.tokens.split(' ').length;
        }
      })();
      after = (rows.at(-1) as { id: number }).id;
    }
    db.pragma('wal_checkpoint(TRUNCATE)');
  } finally {
    db.close();
  }
  return { tokens, seconds: (performance.now() - started) / 1000 };
}
