/** A `users` row with nothing but what the table requires, for tests that write through a repository or Kysely directly. */
export function bareUserRow(id: string, at: number) {
  const username = `u${id.slice(0, 8)}`;
  return { id, username, username_lower: username, nickname: 'u', nickname_lower: 'u', is_guest: 0, bio: '', created_at: at, updated_at: at, last_login_at: at };
}
