import type { Transaction } from 'kysely';
import { dialectOf } from './dialect.js';
import type { Database } from './schema.js';

/**
 * Holds these rows until the transaction ends (`SELECT … FOR UPDATE`), so that a change decided by
 * reads (is there a pending request, is this person a member yet) is decided against what the
 * change before it committed, not beside it: without it two requests at once both read "nothing
 * there" and both wrote. The rows are locked in id order, so two transactions locking overlapping
 * sets wait for each other instead of deadlocking. SQLite runs one write transaction at a time
 * (Kysely's SQLite driver holds its one connection for the whole transaction) and has no FOR UPDATE.
 */
export async function lockRowsById(trx: Transaction<Database>, table: 'users' | 'user_groups' | 'conversations', ids: readonly string[]): Promise<void> {
  if (ids.length === 0 || dialectOf<Database>(trx) === 'sqlite') return;
  await trx
    .selectFrom(table)
    .select('id')
    .where('id', 'in', [...ids])
    .orderBy('id')
    .forUpdate()
    .execute();
}
