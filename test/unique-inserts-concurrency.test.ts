import { randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { MAX_PINS_PER_CONVERSATION } from '../src/contract/pins.js';
import { createMessagingRepository } from '../src/modules/messaging/index.js';
import { createPinsRepository } from '../src/modules/messaging/pins.repository.js';
import { bareUserRow } from './support/rows.js';
import { type OpenedDatabase, storageLabel, withMigratedDatabase } from './support/server.js';

/**
 * Rows taken away and put back under the same key (a pin, a reaction), then put back by several
 * requests at once (two devices, two admins). On InnoDB the removed row's delete-marked index
 * entry is where identical inserts deadlocked (as identical reports did); each insert must answer
 * "stored" or "already there", never the deadlock.
 */
describe(`identical inserts after a removal (${storageLabel})`, () => {
  it('pins a message once per round and answers every other pin as already pinned, round after round of unpinning', async () => {
    await withMessage(async ({ db, userId, conversationId, messageId }) => {
      const pins = createPinsRepository(db);
      for (let round = 0; round < 30; round++) {
        const outcomes = await settle(Array.from({ length: 16 }, () => pins.pin(messageId, conversationId, userId, round, MAX_PINS_PER_CONVERSATION)));
        expect(outcomes.filter((outcome) => outcome === 'pinned')).toHaveLength(1);
        expect(outcomes.filter((outcome) => outcome === 'already-pinned')).toHaveLength(15);
        expect(await pins.unpin(messageId)).toBe(true);
      }
    });
  });

  it('adds a reaction once per round and answers every other add as already there, round after round of removing it', async () => {
    await withMessage(async ({ db, sqlite, userId, messageId }) => {
      const messages = createMessagingRepository(db, { sqlite });
      for (let round = 0; round < 30; round++) {
        const outcomes = await settle(Array.from({ length: 16 }, () => messages.addReaction(messageId, userId, '👍', round)));
        expect(outcomes.filter((stored) => stored)).toHaveLength(1);
        expect(await messages.removeReaction(messageId, userId, '👍')).toBe(true);
      }
    });
  });
});

/** Every outcome, after checking that none failed (a failure's message says which error it was). */
async function settle<T>(attempts: Promise<T>[]): Promise<T[]> {
  const settled = await Promise.allSettled(attempts);
  expect(settled.flatMap((outcome) => (outcome.status === 'rejected' ? [String((outcome.reason as Error).message)] : []))).toEqual([]);
  return settled.flatMap((outcome) => (outcome.status === 'fulfilled' ? [outcome.value] : []));
}

async function withMessage(
  body: (fixture: { db: OpenedDatabase['db']; sqlite: OpenedDatabase['sqlite']; userId: string; conversationId: string; messageId: number }) => Promise<void>,
): Promise<void> {
  await withMigratedDatabase(async (database) => {
    const now = Date.now();
    const [userId, peerId] = [randomUUID(), randomUUID()].sort() as [string, string];
    await database.db
      .insertInto('users')
      .values([userId, peerId].map((id) => bareUserRow(id, now)))
      .execute();
    const conversationId = `p:${userId}:${peerId}`;
    await database.db
      .insertInto('conversations')
      .values({ id: conversationId, type: 'private', group_id: null, user_low: userId, user_high: peerId, last_message_id: null, created_at: now, updated_at: now })
      .execute();
    const inserted = await database.db
      .insertInto('messages')
      .values({ conversation_id: conversationId, sender_id: userId, type: 'text', content: 'hi', client_msg_id: randomUUID(), created_at: now })
      .executeTakeFirst();
    const messageId = Number(
      inserted.insertId ?? (await database.db.selectFrom('messages').select('id').where('conversation_id', '=', conversationId).executeTakeFirstOrThrow()).id,
    );
    await body({ db: database.db, sqlite: database.sqlite, userId, conversationId, messageId });
  });
}
