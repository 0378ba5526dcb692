import { type Kysely, sql } from 'kysely';
import { isSearchable, messageTokens } from '../../shared/search-tokens.js';
import type { Database, MessageSearchTokensTable } from './schema.js';

/** What indexing a message needs to know of it. */
export interface IndexedMessage {
  id: number;
  conversation_id: string;
  type: string;
  content: string;
  recalled_at?: number | null;
}

/** Rows per insert statement: 3 parameters each, well under every dialect's limit (SQLite 32,766). */
const ROWS_PER_STATEMENT = 1000;

/** The index rows of a message: none for calls, system records and recalled messages. */
export function searchTokenRows(message: IndexedMessage): MessageSearchTokensTable[] {
  if (!isSearchable(message.type) || (message.recalled_at ?? null) !== null) return [];
  return messageTokens(message.content).map((token) => ({ message_id: message.id, token, conversation_id: message.conversation_id }));
}

/** Inserts index rows, a few statements for any number (inside the caller's transaction when given one). */
export async function insertSearchTokens(db: Kysely<Database>, rows: readonly MessageSearchTokensTable[]): Promise<void> {
  for (let i = 0; i < rows.length; i += ROWS_PER_STATEMENT) {
    await db
      .insertInto('message_search_tokens')
      .values(rows.slice(i, i + ROWS_PER_STATEMENT))
      .execute();
  }
}

/**
 * Indexes every message after `afterId`, in batches of `batch` messages (each batch one
 * transaction), oldest first. The migration runs it so an upgraded database searches its history;
 * tools that write messages straight into the database (the benchmark) run it afterwards.
 * Returns the number of messages read.
 */
export async function backfillSearchIndex(db: Kysely<Database>, options: { afterId?: number; batch?: number } = {}): Promise<number> {
  const batch = options.batch ?? 2000;
  let after = options.afterId ?? 0;
  let read = 0;
  for (;;) {
    const messages = await db
      .selectFrom('messages')
      .select(['id', 'conversation_id', 'type', 'content', 'recalled_at'])
      // Literals, not parameters: the schema printer (sql/create.sql) records this migration and takes none.
      .where('id', '>', sql.lit(after))
      .orderBy('id', 'asc')
      .limit(sql.lit(batch))
      .execute();
    if (messages.length === 0) return read;
    const rows = messages.flatMap((message) => searchTokenRows({ ...message, id: Number(message.id) }));
    // Inside a migration `db` may already be a transaction (SQLite, PostgreSQL): Kysely nests none.
    if (db.isTransaction) await insertSearchTokens(db, rows);
    else await db.transaction().execute((trx) => insertSearchTokens(trx, rows));
    read += messages.length;
    after = Number((messages.at(-1) as { id: number }).id);
  }
}
