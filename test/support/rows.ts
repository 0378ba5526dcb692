import { randomUUID } from 'node:crypto';
import type { Kysely } from 'kysely';
import type { Database } from '../../src/platform/db/schema.js';

/** A `users` row with nothing but what the table requires, for tests that write through a repository or Kysely directly. */
export function bareUserRow(id: string, at: number) {
  const username = `u${id.slice(0, 8)}`;
  return { id, username, username_lower: username, nickname: 'u', nickname_lower: 'u', is_guest: 0, bio: '', created_at: at, updated_at: at, last_login_at: at };
}

/**
 * Adds `count` members to a group, users written straight into the database (thousands in a second,
 * where registering them would take minutes): for tests about a group's size.
 */
export async function addSeededMembers(db: Kysely<Database>, groupId: string, count: number): Promise<void> {
  const now = Date.now();
  const ids = Array.from({ length: count }, () => randomUUID());
  // A username unique per id (32 characters at most): `s` and 31 of the id's hex digits.
  const name = (id: string) => `s${id.replaceAll('-', '').slice(0, 31)}`;
  for (let i = 0; i < ids.length; i += 200) {
    const chunk = ids.slice(i, i + 200);
    await db
      .insertInto('users')
      .values(chunk.map((id) => ({ ...bareUserRow(id, now), username: name(id), username_lower: name(id) })))
      .execute();
    await db
      .insertInto('group_members')
      .values(chunk.map((user_id) => ({ group_id: groupId, user_id, role: 'member', muted_until: null, joined_at: now })))
      .execute();
  }
}
