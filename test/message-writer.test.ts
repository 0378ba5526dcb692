import { randomUUID } from 'node:crypto';
import { sql } from 'kysely';
import { describe, expect, it } from 'vitest';
import { createMessagingRepository } from '../src/modules/messaging/messaging.repository.js';
import type { NewMessage } from '../src/modules/messaging/messaging.rows.js';
import { isUniqueViolation } from '../src/platform/db/errors.js';
import { bareUserRow } from './support/rows.js';
import { type OpenedDatabase, TEST_DATABASE_KIND, TEST_DATABASE_URL, withMigratedDatabase } from './support/server.js';

/**
 * The pooled message writer stores a batch in one round trip: on MySQL/MariaDB as one
 * multi-statement query, on PostgreSQL as one call of `parley_store_messages`
 * (messaging.pooled-writer.ts). On every pass, against both servers, like test/faults.test.ts:
 * both run on every machine, and these are their own code paths.
 */
const SERVERS = {
  mysql: TEST_DATABASE_KIND === 'mysql' ? (TEST_DATABASE_URL as string) : 'mysql://root@127.0.0.1:3306/parley_test',
  postgres: TEST_DATABASE_KIND === 'postgres' ? (TEST_DATABASE_URL as string) : 'postgres://root@127.0.0.1:5432/parley_test',
};

/** Alice and a private conversation with a peer of her own per name, written directly. */
async function seed(database: OpenedDatabase, names: string[]) {
  const at = Date.now();
  const alice = randomUUID();
  const peers = names.map(() => randomUUID());
  await database.db
    .insertInto('users')
    .values([alice, ...peers].map((id) => bareUserRow(id, at)))
    .execute();
  const conversations = names.map(() => randomUUID());
  await database.db
    .insertInto('conversations')
    .values(
      conversations.map((id, i) => {
        const [low, high] = [alice, peers[i] as string].sort() as [string, string];
        return { id, type: 'private', group_id: null, user_low: low, user_high: high, last_message_id: null, created_at: at, updated_at: at };
      }),
    )
    .execute();
  const message = (conversationId: string, content: string, clientMsgId: string = randomUUID()): NewMessage => ({
    conversation_id: conversationId,
    sender_id: alice,
    type: 'text',
    content,
    client_msg_id: clientMsgId,
    reply_to_id: null,
    attachments: null,
    created_at: Date.now(),
  });
  return { conversations, message };
}

async function lastMessageIds(database: OpenedDatabase, ids: string[]): Promise<Map<string, number | null>> {
  const rows = await database.db.selectFrom('conversations').select(['id', 'last_message_id']).where('id', 'in', ids).execute();
  return new Map(rows.map((row) => [row.id, row.last_message_id]));
}

async function indexedIds(database: OpenedDatabase, token: string): Promise<number[]> {
  const rows = await database.db.selectFrom('message_search_tokens').select('message_id').where('token', '=', token).orderBy('message_id').execute();
  return rows.map((row) => Number(row.message_id));
}

describe.each(['mysql', 'postgres'] as const)('the %s message writer: one round trip per batch', (kind) => {
  it('stores a batch in one query: ids in call order, the search index rows, the conversation’s last message', async () => {
    const queries: string[] = [];
    await withMigratedDatabase(
      async (database) => {
        const { conversations, message } = await seed(database, ['one']);
        const [conversation] = conversations as [string];
        const messages = createMessagingRepository(database.db, { multiStatement: database.multiStatement });
        // The first insert also reads how the server numbers rows (once per process).
        await messages.insertMessage(message(conversation, 'warm-up'));
        queries.length = 0;
        const rows = await Promise.all(
          ['zebra one', 'zebra two', 'zebra three', 'zebra four', 'zebra five'].map((content) => messages.insertMessage(message(conversation, content))),
        );

        expect(queries).toHaveLength(1);
        expect(queries[0]).toMatch(kind === 'mysql' ? /^start transaction;/ : /^select parley_store_messages\(/);
        const ids = rows.map((row) => row?.id as number);
        expect(ids).toEqual([...ids].sort((a, b) => a - b));
        expect(new Set(ids).size).toBe(5);
        const stored = await database.db.selectFrom('messages').select(['id', 'content']).where('id', 'in', ids).orderBy('id').execute();
        expect(stored.map((row) => [Number(row.id), row.content])).toEqual(rows.map((row) => [row?.id, row?.content]));
        expect(await indexedIds(database, 'zeb')).toEqual(ids);
        expect(await indexedIds(database, 'fiv')).toEqual([ids[4]]);
        expect((await lastMessageIds(database, [conversation])).get(conversation)).toBe(ids[4]);
      },
      { databaseUrl: SERVERS[kind], onQuery: (sqlText) => queries.push(sqlText) },
    );
  });

  it('rolls back a batch holding a retried clientMsgId, stores the rest one by one, and leaves no transaction open on its connections', async () => {
    await withMigratedDatabase(
      async (database) => {
        const { conversations, message } = await seed(database, ['a', 'b', 'c', 'd', 'e', 'f']);
        const messages = createMessagingRepository(database.db, { multiStatement: database.multiStatement });
        const first = await messages.insertMessage(message(conversations[0] as string, 'quokka original', 'retried'));
        // One batch (the messages of a turn); the retry sits in the middle of the first conversation's.
        const batch = await Promise.all([
          messages.insertMessage(message(conversations[0] as string, 'quokka before')),
          messages.insertMessage(message(conversations[0] as string, 'quokka retry', 'retried')),
          messages.insertMessage(message(conversations[0] as string, 'quokka after')),
          ...conversations.slice(1).map((id) => messages.insertMessage(message(id, 'quokka elsewhere'))),
        ]);
        expect(batch[1]).toBeUndefined();
        const stored = batch.filter((row) => row !== undefined);
        expect(stored).toHaveLength(2 + conversations.length - 1);
        // The failed attempt left nothing: no index rows, no last message pointing at a missing row.
        const all = [first?.id as number, ...stored.map((row) => row.id)].sort((a, b) => a - b);
        expect(await indexedIds(database, 'quo')).toEqual(all);
        const last = await lastMessageIds(database, conversations);
        expect(last.get(conversations[0] as string)).toBe(batch[2]?.id);
        for (const [index, id] of conversations.slice(1).entries()) expect(last.get(id)).toBe(batch[3 + index]?.id);
        // Every connection of the writer is usable again: a rolled-back one that kept its locks would
        // stall these (a lock wait), one that kept its transaction open would commit it with the next.
        const again = await Promise.all(conversations.map((id) => messages.insertMessage(message(id, 'quokka again'))));
        expect(again.every((row) => row !== undefined)).toBe(true);
        expect((await lastMessageIds(database, conversations)).get(conversations[0] as string)).toBe(again[0]?.id);
      },
      { databaseUrl: SERVERS[kind] },
    );
  });
});

describe('the MySQL/MariaDB multi-statement runner', () => {
  it('rolls back what a failed multi-statement run left open before its connection is used again', async () => {
    await withMigratedDatabase(
      async (database) => {
        const runner = database.multiStatement;
        if (!runner) throw new Error('MySQL opens a multi-statement runner');
        const at = Date.now();
        const id = randomUUID();
        const insert = database.db.insertInto('users').values(bareUserRow(id, at)).compile();
        // The first insert succeeds inside the transaction, the second fails on the duplicate key.
        const failed = await runner.run([sql`start transaction`.compile(database.db), insert, insert]).then(
          () => undefined,
          (error: unknown) => error,
        );
        expect(isUniqueViolation(failed)).toBe(true);
        // Not rolled back, the first insert would hold its row lock (and stay uncommitted) until that
        // connection's next transaction: an insert of the same id elsewhere would wait for it.
        await database.db.connection().execute(async (connection) => {
          await sql`set session innodb_lock_wait_timeout = 1`.execute(connection);
          await connection.insertInto('users').values(bareUserRow(id, at)).execute();
        });
        expect(await database.db.selectFrom('users').select('id').where('id', '=', id).execute()).toEqual([{ id }]);
      },
      { databaseUrl: SERVERS.mysql },
    );
  });
});
