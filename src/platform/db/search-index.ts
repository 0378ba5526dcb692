import { createHash } from 'node:crypto';
import { type CompiledQuery, type Expression, type Kysely, sql } from 'kysely';
import { isSearchable, messageTokens } from '../../shared/search-tokens.js';
import { dialectOf } from './dialect.js';
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

/**
 * Where a dialect keeps the search index. MySQL/MariaDB and PostgreSQL: the portable table
 * `message_search_tokens` (migration 0020), one row per token. SQLite: the FTS5 table
 * `message_search_fts` (migration 0021), one row per message holding the same tokens joined by
 * spaces. Why SQLite differs, measured (bench `BENCH_ONLY=search-write`): the token table costs a
 * send ~30 random B-tree inserts into its token-first index, 1-2 ms a message on the event loop
 * with a varied vocabulary (20-50x the message insert itself); FTS5 gathers a transaction's
 * tokens in memory and writes them as one segment at commit, about a tenth of that. Deferring the
 * token-table inserts to larger sorted batches was measured too and saved only a third.
 */
export type SearchIndexKind = 'tokens' | 'fts';

export function searchIndexKindOf<DB>(db: Kysely<DB>): SearchIndexKind {
  return dialectOf(db) === 'sqlite' ? 'fts' : 'tokens';
}

/** The index rows of a message: none for calls, system records and recalled messages. */
export function searchTokenRows(message: IndexedMessage): MessageSearchTokensTable[] {
  if (!isSearchable(message.type) || (message.recalled_at ?? null) !== null) return [];
  return messageTokens(message.content).map((token) => ({ message_id: message.id, token, conversation_id: message.conversation_id }));
}

/**
 * The FTS5 word standing for a conversation: `zc` and 16 hex digits of its id's SHA-256. Longer
 * than any message token (three characters at most) and pure ASCII, so it never equals one;
 * a hash, not the id, so each message stores 18 bytes for it. Two conversations sharing a hash
 * would only add candidates: the search still requires `messages.conversation_id` in the list.
 */
export function conversationToken(conversationId: string): string {
  return `zc${createHash('sha256').update(conversationId).digest('hex').slice(0, 16)}`;
}

/** The FTS5 row of a message (SQLite), undefined when the message is not indexed. */
export function searchFtsRow(message: IndexedMessage): { rowid: number; tokens: string; conversation: string } | undefined {
  if (!isSearchable(message.type) || (message.recalled_at ?? null) !== null) return undefined;
  // Tokens are letters, digits and marks only (src/shared/search-tokens.ts): the `ascii`
  // tokenizer, which splits on ASCII punctuation and spaces only, reads each back as one word.
  return { rowid: message.id, tokens: messageTokens(message.content).join(' '), conversation: conversationToken(message.conversation_id) };
}

/**
 * The FTS5 query for messages holding every token and, when given, in one of `conversationIds`.
 * Each token is a quoted string (a `"` doubled), so no token is read as query syntax.
 */
export function searchFtsMatch(tokens: readonly string[], conversationIds: readonly string[] = []): string {
  const quote = (word: string) => `"${word.replaceAll('"', '""')}"`;
  const all = tokens.map(quote).join(' AND ');
  if (conversationIds.length === 0) return all;
  return `${all} AND (${conversationIds.map((id) => quote(conversationToken(id))).join(' OR ')})`;
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
 * The token-table inserts for messages whose ids are not known yet, compiled: each id is an SQL
 * expression the same round trip computes (the MySQL writer's `@first_id + offset`), so the rows
 * can be sent with the insert that draws those ids (messaging.pooled-writer.ts).
 */
export function searchTokenInserts(db: Kysely<Database>, messages: ReadonlyArray<{ message: Omit<IndexedMessage, 'id'>; id: Expression<number> }>): CompiledQuery[] {
  const rows = messages.flatMap(({ message, id }) => searchTokenRows({ ...message, id: 0 }).map((row) => ({ ...row, message_id: id })));
  const statements: CompiledQuery[] = [];
  for (let i = 0; i < rows.length; i += ROWS_PER_STATEMENT) {
    statements.push(
      db
        .insertInto('message_search_tokens')
        .values(rows.slice(i, i + ROWS_PER_STATEMENT))
        .compile(),
    );
  }
  return statements;
}

/** Indexes messages in the dialect's index (inside the caller's transaction when given one). */
export async function indexMessages(db: Kysely<Database>, messages: readonly IndexedMessage[], kind: SearchIndexKind = searchIndexKindOf(db)): Promise<void> {
  if (kind === 'tokens') {
    await insertSearchTokens(
      db,
      messages.flatMap((message) => searchTokenRows(message)),
    );
    return;
  }
  const rows = messages.flatMap((message) => searchFtsRow(message) ?? []);
  for (let i = 0; i < rows.length; i += ROWS_PER_STATEMENT) {
    await db
      .insertInto('message_search_fts')
      .values(rows.slice(i, i + ROWS_PER_STATEMENT))
      .execute();
  }
}

/** Drops a message's index entries (before re-indexing an edit, or on a recall). */
export async function unindexMessage(db: Kysely<Database>, id: number): Promise<void> {
  if (searchIndexKindOf(db) === 'tokens') await db.deleteFrom('message_search_tokens').where('message_id', '=', id).execute();
  else await db.deleteFrom('message_search_fts').where('rowid', '=', id).execute();
}

/**
 * Indexes every message after `afterId`, in batches of `batch` messages (each batch one
 * transaction), oldest first, into the dialect's index (`into` names another: migration 0020 on
 * SQLite fills the token table that 0021 replaces). The migrations run it so an upgraded database
 * searches its history; tools that write messages straight into the database run it afterwards.
 * Returns the number of messages read.
 */
export async function backfillSearchIndex(db: Kysely<Database>, options: { afterId?: number; batch?: number; into?: SearchIndexKind } = {}): Promise<number> {
  const batch = options.batch ?? 2000;
  const into = options.into ?? searchIndexKindOf(db);
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
    const indexed = messages.map((message) => ({ ...message, id: Number(message.id) }));
    // Inside a migration `db` may already be a transaction (SQLite, PostgreSQL): Kysely nests none.
    if (db.isTransaction) await indexMessages(db, indexed, into);
    else await db.transaction().execute((trx) => indexMessages(trx, indexed, into));
    read += messages.length;
    after = Number((messages.at(-1) as { id: number }).id);
  }
}
