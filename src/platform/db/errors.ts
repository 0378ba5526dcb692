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

/** SQLSTATE deadlock_detected: PostgreSQL's `code` when it cancels one side of a deadlock. */
const PG_DEADLOCK_DETECTED = '40P01';

/**
 * A statement the database rolled back to break a deadlock (MySQL/MariaDB ER_LOCK_DEADLOCK,
 * PostgreSQL deadlock_detected); SQLite has one writer and none. The other side went through, so
 * the same statement, sent again, meets what it committed.
 */
export function isDeadlock(error: unknown): boolean {
  const code = (error as { code?: string }).code;
  return code === 'ER_LOCK_DEADLOCK' || code === PG_DEADLOCK_DETECTED;
}

/** The `code` a MySQL pool's "Queue limit reached" error gets (database.ts): too many queries already wait for a connection. */
export const POOL_QUEUE_FULL = 'POOL_QUEUE_FULL';
