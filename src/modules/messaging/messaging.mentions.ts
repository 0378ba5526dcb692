import type { Mentions } from '../../contract/messages.js';
import type { ConversationAccess } from '../policy/index.js';

/** Who may use `@all` in a group (MENTION_ALL): the owner and admins, every member, or nobody. */
export type MentionAllRule = 'admins' | 'members' | 'off';

/** Distinct `@names` looked up per message at most: a message naming more mentions the first ones only. */
export const MAX_MENTION_NAMES = 50;

/**
 * `@` followed by username characters (the Username schema: letters, marks, digits, `_ . -`), not
 * inside a word or an address (`a@b.c` mentions nobody).
 */
const MENTION = /(?<![\p{L}\p{M}\p{N}_.@-])@([\p{L}\p{M}\p{N}_.-]{1,64})/gu;

/**
 * The `@names` of a text, lowercased as usernames are looked up, in order of first appearance.
 * A name ending in `.` or `-` ("thanks @bob.") is also tried without them.
 */
export function mentionNames(content: string): string[] {
  if (!content.includes('@')) return [];
  const names: string[] = [];
  for (const match of content.matchAll(MENTION)) {
    const name = (match[1] ?? '').normalize('NFC').toLowerCase();
    const trimmed = name.replace(/[.-]+$/, '');
    for (const candidate of [name, trimmed]) if (candidate !== '' && !names.includes(candidate)) names.push(candidate);
    if (names.length >= MAX_MENTION_NAMES) break;
  }
  return names.slice(0, MAX_MENTION_NAMES);
}

export interface MentionResolverDeps {
  /** Ids of users by lowercased username (unknown names are left out). */
  usersByName(namesLower: readonly string[]): Promise<Array<{ id: string; username_lower: string }>>;
  /** Is the user a member of the group now? (the cached membership) */
  isMember(groupId: string, userId: string): Promise<boolean>;
  mentionAll: MentionAllRule;
}

/**
 * Resolves the mentions of a text message sent (or edited) by `senderId` in `where`: `@username`
 * of members only (non-members and unknown names stay plain text), never the sender; `@all` in a
 * group when the sender's role allows it. Undefined when it mentions nobody.
 */
export function createMentionResolver(deps: MentionResolverDeps) {
  return async function resolveMentions(where: ConversationAccess, senderId: string, type: string, content: string): Promise<Mentions | undefined> {
    if (type !== 'text') return undefined;
    const names = mentionNames(content);
    if (names.length === 0) return undefined;
    const allowedAll = where.kind === 'group' && (deps.mentionAll === 'members' || (deps.mentionAll === 'admins' && (where.role === 'owner' || where.role === 'admin')));
    const all = allowedAll && names.includes('all');
    // In a group `@all` is the everyone-token, never a user called "all".
    const lookup = where.kind === 'group' ? names.filter((name) => name !== 'all') : names;
    const found = lookup.length === 0 ? [] : await deps.usersByName(lookup);
    const idByName = new Map(found.map((row) => [row.username_lower, row.id]));
    const userIds: string[] = [];
    for (const name of lookup) {
      const id = idByName.get(name);
      if (id === undefined || id === senderId || userIds.includes(id)) continue;
      const member = where.kind === 'group' ? await deps.isMember(where.groupId, id) : id === where.peerId;
      if (member) userIds.push(id);
    }
    if (userIds.length === 0 && !all) return undefined;
    return { userIds: userIds.sort(), all };
  };
}

/** Is `userId` mentioned by this message (by name or `@all`, and not its sender)? */
export function mentionsUser(message: { senderId: string; mentions?: Mentions }, userId: string): boolean {
  if (!message.mentions || message.senderId === userId) return false;
  return message.mentions.all || message.mentions.userIds.includes(userId);
}
