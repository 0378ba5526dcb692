import { type Kysely, sql } from 'kysely';
import { dialectOf, idReferenceType, withTableOptions } from '../dialect.js';
import type { Database } from '../schema.js';
import { backfillSearchIndex } from '../search-index.js';

/**
 * The message search index: the tokens of src/shared/search-tokens.ts (CJK characters and
 * bigrams, trigrams of other words), one row per distinct token of a message. Keyed by message
 * (edits and recalls replace or drop a message's rows; deleting a message cascades), and looked up
 * by `(token, message_id)` newest first, the conversation alongside so the lookup needs no other row.
 * A portable table rather than each dialect's full-text engine: the same tokens, so the same
 * results, on SQLite, MySQL/MariaDB and PostgreSQL. Existing messages are indexed here, in batches
 * (on SQLite by 0021, which replaces this table there with an FTS5 one holding the same tokens).
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  let table = db.schema
    .createTable('message_search_tokens')
    .addColumn('message_id', idReferenceType(db), (c) => c.notNull())
    // Three characters at most (a trigram); utf8mb4_bin on MySQL compares them exactly.
    .addColumn('token', 'varchar(12)', (c) => c.notNull())
    .addColumn('conversation_id', 'varchar(80)', (c) => c.notNull())
    .addPrimaryKeyConstraint('message_search_tokens_pk', ['message_id', 'token'])
    .addForeignKeyConstraint('message_search_tokens_message_id_fk', ['message_id'], 'messages', ['id'], (fk) => fk.onDelete('cascade'));
  // SQLite: the primary key is the table (no separate rowid tree to write on every send).
  if (dialectOf(db) === 'sqlite') table = table.modifyEnd(sql`without rowid`);
  await withTableOptions(db, table).execute();
  await db.schema.createIndex('message_search_tokens_lookup').on('message_search_tokens').columns(['token', 'message_id', 'conversation_id']).execute();
  // SQLite's history is indexed by 0021, into the FTS5 table that replaces this one there.
  if (dialectOf(db) !== 'sqlite') await backfillSearchIndex(db as unknown as Kysely<Database>, { into: 'tokens' });
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.dropTable('message_search_tokens').ifExists().execute();
}
