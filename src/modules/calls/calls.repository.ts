import type { Kysely, Selectable, Updateable } from 'kysely';
import type { CallsTable, Database } from '../../platform/db/schema.js';

export type CallRow = Selectable<CallsTable>;

/** Call records: written when a call starts, completed once when it reaches its final state. */
export function createCallsRepository(db: Kysely<Database>) {
  return {
    async insert(row: CallRow): Promise<void> {
      await db.insertInto('calls').values(row).execute();
    },

    async update(id: string, patch: Updateable<CallsTable>): Promise<void> {
      await db.updateTable('calls').set(patch).where('id', '=', id).execute();
    },

    /** Marks a call answered, unless its final state was written first (a hang-up racing the accept). */
    async markAccepted(id: string, answeredAt: number): Promise<void> {
      await db.updateTable('calls').set({ state: 'accepted', answered_at: answeredAt }).where('id', '=', id).where('state', '=', 'ringing').execute();
    },

    find(id: string): Promise<CallRow | undefined> {
      return db.selectFrom('calls').selectAll().where('id', '=', id).executeTakeFirst();
    },

    /** The user's calls, either side, newest first; `before` is the last row of the previous page. */
    page(userId: string, before: { startedAt: number; id: string } | undefined, limit: number): Promise<CallRow[]> {
      let query = db
        .selectFrom('calls')
        .selectAll()
        .where((eb) => eb.or([eb('caller_id', '=', userId), eb('callee_id', '=', userId)]));
      if (before) {
        query = query.where((eb) => eb.or([eb('started_at', '<', before.startedAt), eb.and([eb('started_at', '=', before.startedAt), eb('id', '<', before.id)])]));
      }
      return query.orderBy('started_at', 'desc').orderBy('id', 'desc').limit(limit).execute();
    },

    /** Calls whose record still says ringing or accepted and that started before `startedBefore`. */
    unfinished(startedBefore: number, limit = 500): Promise<CallRow[]> {
      return db.selectFrom('calls').selectAll().where('state', 'in', ['ringing', 'accepted']).where('started_at', '<', startedBefore).limit(limit).execute();
    },
  };
}

export type CallsRepository = ReturnType<typeof createCallsRepository>;
