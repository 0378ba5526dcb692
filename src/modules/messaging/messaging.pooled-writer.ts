import { performance } from 'node:perf_hooks';
import { type Kysely, sql, type Transaction } from 'kysely';
import type { DialectName } from '../../platform/db/dialect.js';
import { isUniqueViolation } from '../../platform/db/errors.js';
import type { Database } from '../../platform/db/schema.js';
import { indexMessages } from '../../platform/db/search-index.js';
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
 * Batches run at once, each on its own pool connection. A conversation always maps to the same lane,
 * so its messages are stored one batch after another, in the order `insert` was called.
 */
const LANES = 4;

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
 * 2. One multi-row `INSERT` of the messages (PostgreSQL returns the ids; MySQL reports the first one
 *    and numbers the rest consecutively under innodb_autoinc_lock_mode 0 or 1; under mode 2, MySQL
 *    8's default, the rows go in one statement each, still inside the one transaction).
 * 3. One multi-row `INSERT` of their search index rows.
 * 4. One `UPDATE` moving each conversation's last message (a CASE over the batch's conversations).
 *
 * Before it, each message took its own transaction of five round trips (BEGIN, INSERT, UPDATE,
 * INSERT, COMMIT). `npm run bench` (scenario "send") prints statements and CPU per message.
 *
 * A duplicate `(sender, clientMsgId)` (a client's retry) fails the multi-row insert as a whole: the
 * batch is rolled back and its messages are stored again one transaction each, where the duplicate
 * resolves undefined like before. Retries are rare; the fast path stays free of a pre-check.
 * Acknowledgement follows the commit, as on SQLite: a promise resolves only after its batch committed.
 */
export function createPooledMessageWriter(db: Kysely<Database>, dialect: Exclude<DialectName, 'sqlite'>) {
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

  /** Inserts the messages and returns their ids, in the order given. */
  async function insertMessages(trx: Transaction<Database>, messages: readonly NewMessage[]): Promise<number[]> {
    if (dialect === 'postgres') {
      const rows = await trx.insertInto('messages').values(messages).returning('id').execute();
      // Rows of one VALUES list draw their identity values in list order; sorting does not rely on
      // RETURNING's own order, which PostgreSQL does not promise.
      return rows.map((row) => Number(row.id)).sort((a, b) => a - b);
    }
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

  /** `when <conversation> then <value>` pairs for one CASE, typed so PostgreSQL accepts the parameters. */
  function caseOver(entries: ReadonlyArray<[string, number]>) {
    const type = dialect === 'postgres' ? sql.raw('bigint') : sql.raw('signed');
    return sql<number>`case id ${sql.join(
      entries.map(([conversationId, value]) => sql`when ${conversationId} then cast(${value} as ${type})`),
      sql` `,
    )} end`;
  }

  async function storeBatch(batch: readonly PendingInsert[]): Promise<InsertedMessageRow[]> {
    const messages = batch.map((item) => item.message);
    const conversationIds = [...new Set(messages.map((message) => message.conversation_id))].sort();
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
