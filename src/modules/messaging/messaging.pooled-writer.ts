import { performance } from 'node:perf_hooks';
import { type Expression, type Kysely, sql, type Transaction } from 'kysely';
import { MESSAGE_WRITER_LANES } from '../../platform/db/database.js';
import type { DialectName } from '../../platform/db/dialect.js';
import { isUniqueViolation } from '../../platform/db/errors.js';
import type { MultiStatementRunner } from '../../platform/db/mysql-multi-statement.js';
import type { Database } from '../../platform/db/schema.js';
import { indexMessages, searchTokenInserts, searchTokenRows } from '../../platform/db/search-index.js';
import type { InsertedMessageRow, NewMessage } from './messaging.rows.js';
import { storedRow } from './messaging.sqlite-writer.js';

interface PendingInsert {
  message: NewMessage;
  resolve(row: InsertedMessageRow | undefined): void;
  reject(error: unknown): void;
}

/** How a MySQL/MariaDB server numbers the rows of one multi-row insert. */
interface AutoIncrement {
  /** Whether one statement's rows get consecutive ids (innodb_autoinc_lock_mode 0 or 1). */
  consecutive: boolean;
  /** auto_increment_increment: the step between them (1 unless a Galera or multi-primary set-up changed it). */
  step: number;
}

/**
 * Batches of different lanes run at once, each on its own pool connection. A conversation always maps
 * to the same lane, so its messages are stored one batch after another, in the order `insert` was called.
 */
const LANES = MESSAGE_WRITER_LANES;

function laneOf(conversationId: string): number {
  let hash = 0;
  for (let i = 0; i < conversationId.length; i++) hash = (hash * 31 + conversationId.charCodeAt(i)) | 0;
  return Math.abs(hash) % LANES;
}

/**
 * Group commit for new messages on MySQL/MariaDB and PostgreSQL, the pooled counterpart of the SQLite
 * writer: every message that arrives in one turn of the event loop (and while its lane's previous
 * batch is still committing) is stored by one transaction of a fixed number of statements:
 *
 * 1. `SELECT … FOR UPDATE` on the batch's conversations, in id order (no deadlock between batches).
 *    This is what keeps a conversation's order across processes: ids are drawn only after the lock,
 *    and the lock is held until commit, so within one conversation a larger id always commits later.
 *    A reader that has seen message 11 can never later discover message 10 (a catch-up `after=11`
 *    would have lost it). Without the lock another process could draw 10, then commit after 11.
 * 2. One multi-row `INSERT` of the messages (MySQL reports the first id and numbers the rest
 *    consecutively under innodb_autoinc_lock_mode 0 or 1; under mode 2, MySQL 8's default, the rows
 *    go in one statement each, still inside the one transaction).
 * 3. One multi-row `INSERT` of their search index rows.
 * 4. One `UPDATE` moving each conversation's last message (a CASE over the batch's conversations).
 *
 * The transaction costs one round trip: on MySQL/MariaDB its statements go as one multi-statement
 * query (storeBatchInOneTrip; statement by statement only under mode 2 with several messages, or
 * without the runner), on PostgreSQL they are one function, `parley_store_messages` (migration
 * 0023). Before the group commit each message took its own transaction of five round trips (BEGIN,
 * INSERT, UPDATE, INSERT, COMMIT), then each batch six. `npm run bench` (scenario "send") prints
 * round trips and CPU per message.
 *
 * A duplicate `(sender, clientMsgId)` (a client's retry) fails the multi-row insert as a whole: the
 * batch is rolled back and its messages are stored again one transaction each, where the duplicate
 * resolves undefined like before. Retries are rare; the fast path stays free of a pre-check.
 * Acknowledgement follows the commit, as on SQLite: a promise resolves only after its batch committed.
 */
export function createPooledMessageWriter(db: Kysely<Database>, dialect: Exclude<DialectName, 'sqlite'>, multiStatement?: MultiStatementRunner) {
  const lanes = Array.from({ length: LANES }, () => ({ pending: [] as PendingInsert[], busy: false, scheduled: false }));
  let autoIncrement: Promise<AutoIncrement> | undefined;

  function mysqlAutoIncrement(): Promise<AutoIncrement> {
    autoIncrement ??= sql<{ mode: number | string; step: number | string }>`select @@innodb_autoinc_lock_mode as mode, @@auto_increment_increment as step`
      .execute(db)
      .then(({ rows }) => ({ consecutive: Number(rows[0]?.mode) <= 1, step: Number(rows[0]?.step) || 1 }))
      .catch((error: unknown) => {
        autoIncrement = undefined;
        throw error;
      });
    return autoIncrement;
  }

  /** MySQL/MariaDB, statement by statement: inserts the messages and returns their ids, in the order given. */
  async function insertMessages(trx: Transaction<Database>, messages: readonly NewMessage[]): Promise<number[]> {
    const numbering = await mysqlAutoIncrement();
    if (numbering.consecutive || messages.length === 1) {
      const { insertId } = await trx.insertInto('messages').values(messages).executeTakeFirstOrThrow();
      const first = Number(insertId);
      return messages.map((_, index) => first + index * numbering.step);
    }
    const ids: number[] = [];
    for (const message of messages) ids.push(Number((await trx.insertInto('messages').values(message).executeTakeFirstOrThrow()).insertId));
    return ids;
  }

  /** `when <conversation> then <value>` pairs for one CASE (MySQL/MariaDB), each value cast to an integer. */
  function caseOver(entries: ReadonlyArray<[string, number | Expression<number>]>) {
    return sql<number>`case id ${sql.join(
      entries.map(([conversationId, value]) => sql`when ${conversationId} then cast(${value} as signed)`),
      sql` `,
    )} end`;
  }

  /**
   * MySQL/MariaDB, where one statement's ids are consecutive: the same transaction sent as one
   * round trip (MultiStatementRunner), the ids taken in SQL. `LAST_INSERT_ID()` is the first id
   * of the multi-row insert, kept in a session variable the index rows and the conversations'
   * last message are computed from; the last statement returns it, so the rows are numbered here
   * as insertMessages numbers them. A failed statement stops the rest and is rolled back.
   */
  async function storeBatchInOneTrip(runner: MultiStatementRunner, messages: readonly NewMessage[], conversationIds: string[], step: number): Promise<InsertedMessageRow[]> {
    const idAt = (index: number) => sql<number>`@parley_first_id + ${index * step}`;
    const last = new Map<string, { index: number; at: number }>();
    for (const [index, message] of messages.entries()) last.set(message.conversation_id, { index, at: message.created_at });
    const entries = [...last];
    const results = await runner.run([
      sql`start transaction`.compile(db),
      db.selectFrom('conversations').select('id').where('id', 'in', conversationIds).orderBy('id').forUpdate().compile(),
      db.insertInto('messages').values(messages).compile(),
      sql`set @parley_first_id = last_insert_id()`.compile(db),
      ...searchTokenInserts(
        db,
        messages.map((message, index) => ({ message, id: idAt(index) })),
      ),
      db
        .updateTable('conversations')
        .set({
          last_message_id: caseOver(entries.map(([id, { index }]) => [id, idAt(index)])),
          updated_at: caseOver(entries.map(([id, { at }]) => [id, at])),
        })
        .where('id', 'in', conversationIds)
        .compile(),
      sql`commit`.compile(db),
      sql`select @parley_first_id as first_id`.compile(db),
    ]);
    const first = Number((results.at(-1) as Array<{ first_id: number | string }>)[0]?.first_id);
    if (!Number.isSafeInteger(first) || first <= 0) throw new Error(`the message insert reported no first id (${String(first)})`);
    return messages.map((message, index) => storedRow(message, first + index * step));
  }

  /**
   * PostgreSQL: the transaction as one call of `parley_store_messages` (migration 0023), one round
   * trip. Its index rows name their message by position in the batch (from 1); the function
   * returns the ids ascending, which is the batch's order (one insert draws them in array order).
   */
  async function storeBatchByFunction(messages: readonly NewMessage[], conversationIds: string[]): Promise<InsertedMessageRow[]> {
    const tokens = messages.flatMap((message, index) => searchTokenRows({ ...message, id: index + 1 }).map((row) => [row.message_id, row.token]));
    const { rows } = await sql<{
      id: number | string;
    }>`select parley_store_messages(${conversationIds}::text[], ${JSON.stringify(messages)}::jsonb, ${JSON.stringify(tokens)}::jsonb) as id`.execute(db);
    if (rows.length !== messages.length) throw new Error(`parley_store_messages returned ${rows.length} ids for ${messages.length} messages`);
    // Ascending already; sorted here too, so nothing rests on the order a set-returning call's rows arrive in.
    const ids = rows.map((row) => Number(row.id)).sort((a, b) => a - b);
    return messages.map((message, index) => storedRow(message, ids[index] as number));
  }

  async function storeBatch(batch: readonly PendingInsert[]): Promise<InsertedMessageRow[]> {
    const messages = batch.map((item) => item.message);
    const conversationIds = [...new Set(messages.map((message) => message.conversation_id))].sort();
    if (dialect === 'postgres') return storeBatchByFunction(messages, conversationIds);
    if (dialect === 'mysql' && multiStatement) {
      const numbering = await mysqlAutoIncrement();
      if (numbering.consecutive || messages.length === 1) return storeBatchInOneTrip(multiStatement, messages, conversationIds, numbering.step);
    }
    return db.transaction().execute(async (trx) => {
      await trx.selectFrom('conversations').select('id').where('id', 'in', conversationIds).orderBy('id').forUpdate().execute();
      const ids = await insertMessages(trx, messages);
      const rows = messages.map((message, index) => storedRow(message, ids[index] as number));
      await indexMessages(trx, rows);
      const last = new Map<string, { id: number; at: number }>();
      for (const row of rows) last.set(row.conversation_id, { id: row.id, at: row.created_at });
      const entries = [...last];
      await trx
        .updateTable('conversations')
        .set({
          last_message_id: caseOver(entries.map(([id, { id: messageId }]) => [id, messageId])),
          updated_at: caseOver(entries.map(([id, { at }]) => [id, at])),
        })
        .where('id', 'in', conversationIds)
        .execute();
      return rows;
    });
  }

  function settle(items: readonly PendingInsert[], rows: ReadonlyArray<InsertedMessageRow | undefined>): void {
    const committedAt = performance.now();
    for (const [index, item] of items.entries()) {
      const row = rows[index];
      if (row) row.committedAt = committedAt;
      item.resolve(row);
    }
  }

  async function run(batch: PendingInsert[]): Promise<void> {
    try {
      settle(batch, await storeBatch(batch));
      return;
    } catch (error) {
      if (!isUniqueViolation(error)) {
        for (const item of batch) item.reject(error);
        return;
      }
      if (batch.length === 1) {
        settle(batch, [undefined]);
        return;
      }
    }
    // A duplicate somewhere in the batch: one transaction per message finds which (in order).
    for (const item of batch) {
      try {
        settle([item], await storeBatch([item]));
      } catch (error) {
        if (isUniqueViolation(error)) settle([item], [undefined]);
        else item.reject(error);
      }
    }
  }

  function flush(lane: (typeof lanes)[number]): void {
    lane.scheduled = false;
    if (lane.busy || lane.pending.length === 0) return;
    const batch = lane.pending;
    lane.pending = [];
    lane.busy = true;
    void run(batch).finally(() => {
      lane.busy = false;
      // What arrived while this batch committed forms the next one.
      flush(lane);
    });
  }

  return {
    /** Stores `message` with the others of its lane; undefined when `(sender, clientMsgId)` exists. */
    insert(message: NewMessage): Promise<InsertedMessageRow | undefined> {
      return new Promise((resolve, reject) => {
        const lane = lanes[laneOf(message.conversation_id)] as (typeof lanes)[number];
        lane.pending.push({ message, resolve, reject });
        if (!lane.scheduled && !lane.busy) {
          lane.scheduled = true;
          // After the poll phase: every message read from the sockets in this turn joins the batch.
          setImmediate(() => flush(lane));
        }
      });
    },
  };
}
