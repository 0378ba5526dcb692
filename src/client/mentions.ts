/**
 * Mention helpers for clients: what is being typed after `@`, which members match it, how to
 * insert the choice, and whether a message mentions the reader. The server resolves mentions
 * itself (`Message.mentions`); these only help write `@username` and show the result.
 */
import type { Message } from '../contract/messages.js';
import type { User } from '../contract/users.js';

/** Who can be offered for `@` completion: a member's username and nickname. */
export type Mentionable = Pick<User, 'id' | 'username' | 'nickname'>;

/** The `@prefix` that ends at `caret` in `text` (start index of the `@` and the prefix typed), or null. */
export function mentionQueryAt(text: string, caret: number): { start: number; prefix: string } | null {
  const before = text.slice(0, caret);
  const match = /(^|[^\p{L}\p{M}\p{N}_.@-])@([\p{L}\p{M}\p{N}_.-]{0,32})$/u.exec(before);
  if (!match) return null;
  const prefix = match[2] ?? '';
  return { start: caret - prefix.length - 1, prefix };
}

/**
 * Members whose username or nickname starts with `prefix` (case-insensitive), usernames first,
 * at most `limit`, without `exceptUserId` (the writer). An empty prefix matches everyone.
 */
export function mentionCandidates<T extends Mentionable>(members: readonly T[], prefix: string, options: { limit?: number; exceptUserId?: string } = {}): T[] {
  const wanted = prefix.normalize('NFC').toLowerCase();
  const limit = options.limit ?? 8;
  const byUsername: T[] = [];
  const byNickname: T[] = [];
  for (const member of members) {
    if (member.id === options.exceptUserId) continue;
    if (member.username.toLowerCase().startsWith(wanted)) byUsername.push(member);
    else if (member.nickname.toLowerCase().startsWith(wanted)) byNickname.push(member);
  }
  return [...byUsername, ...byNickname].slice(0, limit);
}

/** `text` with the `@prefix` at `query` replaced by `@username ` and the caret position after it. */
export function insertMention(text: string, query: { start: number; prefix: string }, username: string): { text: string; caret: number } {
  const end = query.start + 1 + query.prefix.length;
  const inserted = `@${username} `;
  return { text: text.slice(0, query.start) + inserted + text.slice(end), caret: query.start + inserted.length };
}

/** Does `message` mention `userId` (by name or `@all`)? A sender never mentions themself. */
export function mentionsMe(message: Pick<Message, 'senderId' | 'mentions'>, userId: string): boolean {
  if (!message.mentions || message.senderId === userId) return false;
  return message.mentions.all || message.mentions.userIds.includes(userId);
}
