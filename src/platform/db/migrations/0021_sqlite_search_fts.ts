import { type Kysely, sql } from 'kysely';
import { dialectOf } from '../dialect.js';
import type { Database } from '../schema.js';
import { backfillSearchIndex } from '../search-index.js';
import { up as createTokenTable } from './0020_search_index.js';

/**
 * SQLite only: the search index moves from the token table of 0020 to an FTS5 table,
 * `message_search_fts` (see src/platform/db/search-index.ts for why and what is measured). The
 * same tokens, made in JavaScript, joined by spaces and read back by the `ascii` tokenizer, so the
 * same candidates and the same results as on MySQL/MariaDB and PostgreSQL, whose index is unchanged.
 * - `detail=none`: only which messages hold a token (no positions: every query is an AND of words);
 *   `columnsize=0`: no per-row size table (nothing ranks). Both keep each send's write small.
 * - The table keeps each row's text (18 bytes of conversation word plus the tokens), so a row can be
 *   deleted by id (an edit or a recall) and read back.
 * - A message deleted (a group dissolved) takes its row along by trigger, as the token table's
 *   foreign key cascade did.
 * History is indexed here in batches, then the token table is dropped.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  if (dialectOf(db) !== 'sqlite') return;
  await sql`create virtual table message_search_fts using fts5(tokens, conversation, detail=none, columnsize=0, tokenize='ascii')`.execute(db);
  await sql`create trigger messages_search_fts_delete after delete on messages begin delete from message_search_fts where rowid = old.id; end`.execute(db);
  await backfillSearchIndex(db as unknown as Kysely<Database>, { into: 'fts' });
  await db.schema.dropTable('message_search_tokens').execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  if (dialectOf(db) !== 'sqlite') return;
  await sql`drop trigger if exists messages_search_fts_delete`.execute(db);
  await sql`drop table if exists message_search_fts`.execute(db);
  await createTokenTable(db);
  await backfillSearchIndex(db as unknown as Kysely<Database>, { into: 'tokens' });
}
