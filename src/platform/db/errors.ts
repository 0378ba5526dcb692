/** SQLSTATE unique_violation: PostgreSQL's `code` for a duplicate key. */
const PG_UNIQUE_VIOLATION = '23505';

/**
 * Unique-index violations on every dialect. Repositories use them as the "someone else wrote
 * it first" signal (retried sends, concurrent first reads) instead of a read-then-write race.
 */
export function isUniqueViolation(error: unknown): boolean {
  const code = (error as { code?: string }).code;
  return code === 'ER_DUP_ENTRY' || code === 'SQLITE_CONSTRAINT_UNIQUE' || code === 'SQLITE_CONSTRAINT_PRIMARYKEY' || code === PG_UNIQUE_VIOLATION;
}
