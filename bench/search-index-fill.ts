// Bench tools write messages straight into a stopped Parley's SQLite file (a million rows in
// seconds); the search index (migration 0020) is then filled here the way the migration's
// backfill would, but on prepared statements with the lookup index dropped during the load and
// rebuilt once after it (a sorted build instead of tens of millions of random B-tree inserts).
import { performance } from 'node:perf_hooks';
import SqliteDatabase from 'better-sqlite3';
import { searchTokenRows } from '../src/platform/db/search-index.js';

export function indexSqliteMessages(file: string): { tokens: number; seconds: number } {
  const started = performance.now();
  const db = new SqliteDatabase(file);
  let tokens = 0;
  try {
    db.pragma('journal_mode = WAL');
    db.pragma('synchronous = OFF');
    db.exec('drop index if exists message_search_tokens_lookup');
    const insert = db.prepare('insert or ignore into message_search_tokens (message_id, token, conversation_id) values (?, ?, ?)');
    const page = db.prepare('select id, conversation_id, type, content, recalled_at from messages where id > ? order by id limit 20000');
    let after = 0;
    for (;;) {
      const rows = page.all(after) as Array<{ id: number; conversation_id: string; type: string; content: string; recalled_at: number | null }>;
      if (rows.length === 0) break;
      db.transaction(() => {
        for (const row of rows) {
          for (const token of searchTokenRows(row)) {
            insert.run(token.message_id, token.token, token.conversation_id);
            tokens++;
          }
        }
      })();
      after = (rows.at(-1) as { id: number }).id;
    }
    db.exec('create index message_search_tokens_lookup on message_search_tokens (token, message_id, conversation_id)');
    db.pragma('wal_checkpoint(TRUNCATE)');
  } finally {
    db.close();
  }
  return { tokens, seconds: (performance.now() - started) / 1000 };
}
