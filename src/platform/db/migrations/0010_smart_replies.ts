import type { Kysely } from 'kysely';

/**
 * Smart replies send the open chat's last messages to an AI provider: each user opts in (off until
 * they turn it on in their settings), so no transcript leaves the server without that consent.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .alterTable('profiles')
    .addColumn('smart_replies', 'integer', (c) => c.notNull().defaultTo(0))
    .execute();
}
