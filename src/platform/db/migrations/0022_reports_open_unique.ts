import { type Kysely, sql } from 'kysely';
import { dialectOf, idReferenceType } from '../dialect.js';

/**
 * At most one open report per reporter and target, by construction: `open_target` is generated
 * from the row (the message id for a report of a message, 0 for a report of a user while the
 * report is open; NULL once it is resolved or dismissed), and `(reporter_id, target_user_id,
 * open_target)` is unique. NULLs never collide in a unique index on any dialect, so closed reports
 * pile up freely and a new report may follow; two concurrent identical reports cannot both insert
 * (the loser gets a unique violation and answers the winner's report). A generated column rather
 * than a partial index: MySQL/MariaDB have none. Stored on MySQL and PostgreSQL (PostgreSQL has no
 * other kind); virtual on SQLite, which cannot add a stored column to an existing table.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await closeDuplicates(db);
  const expression = sql`case when ${sql.ref('status')} = 'open' then coalesce(${sql.ref('message_id')}, 0) end`;
  await db.schema
    .alterTable('reports')
    .addColumn('open_target', idReferenceType(db), (c) => {
      const generated = c.generatedAlwaysAs(expression);
      return dialectOf(db) === 'sqlite' ? generated : generated.stored();
    })
    .execute();
  await db.schema.createIndex('reports_open_target').on('reports').columns(['reporter_id', 'target_user_id', 'open_target']).unique().execute();
  // The unique index answers the duplicate check (and covers the reporter's foreign key on MySQL).
  await dropIndex(db, 'reports_reporter_target');
}

/**
 * Duplicates the old check-then-insert let through: all but the first open report of a reporter
 * and target are dismissed, so the unique index can be built. A fresh schema has none.
 */
async function closeDuplicates(db: Kysely<unknown>): Promise<void> {
  const { rows } = await sql<{ id: number | string }>`select later.id as id from reports later
    join reports earlier
      on earlier.reporter_id = later.reporter_id and earlier.target_user_id = later.target_user_id
     and coalesce(earlier.message_id, 0) = coalesce(later.message_id, 0)
     and earlier.status = 'open' and earlier.id < later.id
    where later.status = 'open'`.execute(db);
  const ids = [...new Set(rows.map((row) => Number(row.id)))];
  if (ids.length === 0) return;
  await sql`update reports set status = 'dismissed', closed_at = ${Date.now()}, resolution_note = ${'duplicate of an earlier open report (migration 0022)'}
    where id in (${sql.join(ids)})`.execute(db);
}

/** MySQL names the table of an index to drop; SQLite and PostgreSQL refuse the `on` clause. */
function dropIndex(db: Kysely<unknown>, name: string) {
  const drop = db.schema.dropIndex(name);
  return (dialectOf(db) === 'mysql' ? drop.on('reports') : drop).execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.createIndex('reports_reporter_target').on('reports').columns(['reporter_id', 'target_user_id', 'status']).execute();
  await dropIndex(db, 'reports_open_target');
  await db.schema.alterTable('reports').dropColumn('open_target').execute();
}
