import { randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../src/config.js';
import { openDatabase } from '../src/platform/db/database.js';
import { dialectOf } from '../src/platform/db/dialect.js';
import { isUniqueViolation } from '../src/platform/db/errors.js';
import { connectedUser } from './support/realtime.js';
import { bareUserRow } from './support/rows.js';
import { createTestEnvironment, storageLabel, TEST_DATABASE_KIND } from './support/server.js';
import { useTestServer } from './support/suite.js';

/**
 * What each dialect's driver hands back is the same to the code above it: the dialect Kysely
 * speaks, generated ids, BIGINT values as numbers, duplicate keys recognised as such.
 */
describe(`the database dialect as the repositories see it (${storageLabel})`, () => {
  it('opens the configured dialect, returns BIGINT and COUNT as numbers, and recognises a duplicate key', async () => {
    const env = await createTestEnvironment();
    const config = loadConfig({ env: {}, cwd: env.dataDir, overrides: { DATA_DIR: env.dataDir, ...(env.databaseUrl ? { DATABASE_URL: env.databaseUrl } : {}) } });
    const database = openDatabase(config.database);
    try {
      expect(database.dialect).toBe(TEST_DATABASE_KIND);
      expect(dialectOf(database.db)).toBe(TEST_DATABASE_KIND);
      await database.migrate();
      const id = randomUUID();
      const later = 2 ** 52 + 7;
      const user = bareUserRow(id, later);
      await database.db.insertInto('users').values(user).execute();
      const row = await database.db.selectFrom('users').select(['created_at', 'is_guest']).where('id', '=', id).executeTakeFirstOrThrow();
      expect(row).toEqual({ created_at: later, is_guest: 0 });
      const counted = await database.db
        .selectFrom('users')
        .select((eb) => eb.fn.countAll<number>().as('n'))
        .executeTakeFirstOrThrow();
      expect(counted.n).toBe(1);
      const duplicate = await database.db
        .insertInto('users')
        .values({ ...user, id: randomUUID() })
        .execute()
        .then(
          () => undefined,
          (error: unknown) => error,
        );
      expect(isUniqueViolation(duplicate)).toBe(true);
    } finally {
      await database.close();
      await env.dispose();
    }
  });
});

describe(`text with U+0000 (${storageLabel})`, () => {
  const suite = useTestServer();

  // PostgreSQL's text cannot hold NUL: the send is refused as invalid (never INTERNAL) and nothing
  // is stored; SQLite and MySQL store it like any character.
  it(TEST_DATABASE_KIND === 'postgres' ? 'refuses it with VALIDATION_FAILED and stores nothing' : 'stores it byte for byte', async () => {
    const alice = await connectedUser(suite.server.url);
    const bob = await connectedUser(suite.server.url);
    const { id: conversationId } = await alice.client.request<{ id: string }>('POST', '/conversations', { peerId: bob.id });
    const ack = await alice.client.emitRaw('chat', { conversationId, type: 'text', content: 'a\u0000b', clientMsgId: 'nul-1' });
    const history = await bob.client.request<{ items: Array<{ content: string }> }>('GET', `/conversations/${conversationId}/messages`);
    if (TEST_DATABASE_KIND === 'postgres') {
      expect(ack).toMatchObject({ ok: false, error: { code: 'VALIDATION_FAILED' } });
      expect(history.items).toEqual([]);
    } else {
      expect(ack).toMatchObject({ ok: true, data: { content: 'a\u0000b' } });
      expect(history.items.map((m) => m.content)).toEqual(['a\u0000b']);
    }
    for (const user of [alice, bob]) user.client.disconnect();
  });
});
