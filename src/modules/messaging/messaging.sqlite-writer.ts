import { performance } from 'node:perf_hooks';
import type SqliteDatabase from 'better-sqlite3';
import { searchFtsRow } from '../../platform/db/search-index.js';
import type { InsertedMessageRow, NewMessage } from './messaging.rows.js';

interface PendingInsert {
  message: NewMessage;
  resolve(row: InsertedMessageRow | undefined): void;
  reject(error: unknown): void;
}

/**
 * The stored row of a message just inserted under `id`. Spelled out field by field on purpose: on
 * Node 20 (V8 11.3) objects made by a spread, `{ ...message, id }`, survived young-generation
 * collections in bulk (about 1 MB copied per scavenge, ten times what a literal or Object.assign
 * leaves), which made the send path's GC pauses three times as long. `npm run bench` shows it in
 * its send scenario: 4.3-5.1 ms of young-GC pause per 1,000 messages with the spread, 1.4 without.
 */
export function storedRow(message: NewMessage, id: number): InsertedMessageRow {
  return {
    id,
    conversation_id: message.conversation_id,
    sender_id: message.sender_id,
    type: message.type,
    content: message.content,
    client_msg_id: message.client_msg_id,
    reply_to_id: message.reply_to_id,
    attachments: message.attachments,
    created_at: message.created_at,
    edited_at: null,
    recalled_at: null,
    // Set once the transaction has committed; present from the start so the object keeps one shape.
    committedAt: 0,
  };
}

const UNIQUE_VIOLATION = new Set(['SQLITE_CONSTRAINT_UNIQUE', 'SQLITE_CONSTRAINT_PRIMARYKEY']);

/**
 * Group commit for new messages on SQLite: every message that arrives in one turn of the event loop
 * is stored by one synchronous transaction on prepared statements, then each sender is answered.
 *
 * Why not Kysely here: a message is the hottest write Parley has, and per message Kysely's query
 * building, its async hops and a transaction of its own (BEGIN, INSERT, UPDATE, COMMIT, each commit
 * appending the touched pages to the WAL) cost more CPU than fanning the message out to 20
 * sockets. One commit for the whole turn shares those page writes among its messages.
 *
 * Acknowledgement still follows the commit: a promise resolves only after its batch committed.
 * Promises resolve in the order `insert` was called, which is also the order of the ids: batches
 * commit one after another and each resolves its messages in turn. The service delivers in that
 * order, so devices get a conversation's messages in id order with no queue per conversation.
 * A duplicate `(sender, clientMsgId)` fails only its own statement (SQLite's default ABORT keeps
 * the transaction), so it resolves undefined like the Kysely path; any other error fails the batch.
 */
export function createSqliteMessageWriter(sqlite: SqliteDatabase.Database) {
  const insert = sqlite.prepare<[string, string, string, string, string, number | null, string | null, number]>(
    'insert into messages (conversation_id, sender_id, type, content, client_msg_id, reply_to_id, attachments, created_at) values (?, ?, ?, ?, ?, ?, ?, ?)',
  );
  const moveLast = sqlite.prepare<[number, number, string]>('update conversations set last_message_id = ?, updated_at = ? where id = ?');
  // SQLite's search index is FTS5 (migration 0021, src/platform/db/search-index.ts): one row per
  // message, its tokens gathered in memory and written as one segment when the batch commits.
  const indexMessage = sqlite.prepare<[number, string, string]>('insert into message_search_fts (rowid, tokens, conversation) values (?, ?, ?)');

  const storeBatch = sqlite.transaction((batch: PendingInsert[]) => {
    const rows: Array<InsertedMessageRow | undefined> = [];
    const last = new Map<string, { id: number; at: number }>();
    for (const { message } of batch) {
      try {
        const { lastInsertRowid } = insert.run(
          message.conversation_id,
          message.sender_id,
          message.type,
          message.content,
          message.client_msg_id,
          message.reply_to_id,
          message.attachments,
          message.created_at,
        );
        const id = Number(lastInsertRowid);
        // The search index is written with the message, in the same transaction: never out of step.
        const indexed = searchFtsRow({ id, conversation_id: message.conversation_id, type: message.type, content: message.content });
        if (indexed) indexMessage.run(indexed.rowid, indexed.tokens, indexed.conversation);
        rows.push(storedRow(message, id));
        last.set(message.conversation_id, { id, at: message.created_at });
      } catch (error) {
        if (!UNIQUE_VIOLATION.has((error as { code?: string }).code ?? '')) throw error;
        rows.push(undefined);
      }
    }
    for (const [conversationId, { id, at }] of last) moveLast.run(id, at, conversationId);
    return rows;
  });

  let pending: PendingInsert[] = [];
  let scheduled = false;

  function flush(): void {
    // A Kysely transaction spans several turns of the event loop on this same connection; a batch
    // run inside it would become a savepoint of someone else's transaction (and be rolled back
    // with it after being acknowledged). Wait for it to end instead.
    if (sqlite.inTransaction) {
      setImmediate(flush);
      return;
    }
    const batch = pending;
    pending = [];
    scheduled = false;
    let rows: Array<InsertedMessageRow | undefined>;
    try {
      rows = storeBatch(batch);
    } catch (error) {
      for (const item of batch) item.reject(error);
      return;
    }
    const committedAt = performance.now();
    for (const [index, item] of batch.entries()) {
      const row = rows[index];
      if (row) row.committedAt = committedAt;
      item.resolve(row);
    }
  }

  return {
    /** Stores `message` with the others of this turn; undefined when `(sender, clientMsgId)` exists. */
    insert(message: NewMessage): Promise<InsertedMessageRow | undefined> {
      return new Promise((resolve, reject) => {
        pending.push({ message, resolve, reject });
        if (!scheduled) {
          scheduled = true;
          // After the poll phase: every message read from the sockets in this turn joins the batch.
          setImmediate(flush);
        }
      });
    },
  };
}
