import { randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { createReportsRepository, type NewReport } from '../src/modules/reports/reports.repository.js';
import { bareUserRow } from './support/rows.js';
import { storageLabel, withMigratedDatabase } from './support/server.js';

/**
 * Identical reports arriving together, at the repository, where their inserts reach the database
 * within microseconds of each other (through HTTP, CI's load was needed to line them up). On
 * MariaDB a closed report's index entry, delete-marked, made two of them deadlock: each held a
 * shared lock on it and waited to insert; five immediate retries then lost to CI's load (15 of 16
 * inserts of one round answered the deadlock), so inserts of one reporter now queue on its row.
 */
describe(`identical reports inserted at once (${storageLabel})`, () => {
  it('stores exactly one open report per round and answers every other insert as a duplicate, round after round of closing it', async () => {
    await withMigratedDatabase(async (database) => {
      const now = Date.now();
      const [reporterId, targetId] = [randomUUID(), randomUUID()];
      await database.db
        .insertInto('users')
        .values([reporterId, targetId].map((id) => bareUserRow(id, now)))
        .execute();
      const reports = createReportsRepository(database.db);
      const report: NewReport = {
        reporter_id: reporterId,
        target_type: 'user',
        target_user_id: targetId,
        message_id: null,
        conversation_id: null,
        message_content: null,
        reason: 'spam',
        note: '',
        status: 'open',
        created_at: now,
      };
      for (let round = 0; round < 30; round++) {
        const settled = await Promise.allSettled(Array.from({ length: 16 }, () => reports.insert(report)));
        const failures = settled.flatMap((outcome) => (outcome.status === 'rejected' ? [String((outcome.reason as Error).message)] : []));
        expect(failures).toEqual([]);
        const stored = settled.flatMap((outcome) => (outcome.status === 'fulfilled' && outcome.value ? [outcome.value] : []));
        expect(stored).toHaveLength(1);
        const winner = stored[0];
        if (!winner) throw new Error('no report stored');
        expect(await reports.close(Number(winner.id), { status: 'dismissed', closed_by: reporterId, closed_at: now, action: null, resolution_note: null })).toBe(true);
      }
      const rows = await database.db.selectFrom('reports').select('status').where('reporter_id', '=', reporterId).execute();
      expect(rows.map((row) => row.status)).toEqual(Array.from({ length: 30 }, () => 'dismissed'));
    });
  });
});
