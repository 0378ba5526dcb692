import { describe, expect, it } from 'vitest';
import { insertMention, mentionCandidates, mentionQueryAt, mentionsMe } from '../../src/client/mentions.js';
import { createMentionResolver, MAX_MENTION_NAMES, mentionNames } from '../../src/modules/messaging/messaging.mentions.js';
import type { ConversationAccess } from '../../src/modules/policy/index.js';

const users = [
  { id: 'u-bob', username_lower: 'bob' },
  { id: 'u-carol', username_lower: 'carol.w' },
  { id: 'u-all', username_lower: 'all' },
  { id: 'u-owner', username_lower: 'owner' },
];
const members = new Set(['u-bob', 'u-carol', 'u-all', 'u-owner']);
const resolver = (mentionAll: 'admins' | 'members' | 'off') =>
  createMentionResolver({
    usersByName: async (names) => users.filter((user) => names.includes(user.username_lower)),
    isMember: async (_groupId, userId) => members.has(userId),
    mentionAll,
  });
const group = (role: string): ConversationAccess => ({ kind: 'group', id: 'g.1', groupId: '1', role, mutedUntil: null });
const privateChat: ConversationAccess = { kind: 'private', id: 'd.u-all.u-owner', peerId: 'u-all', low: 'u-all', high: 'u-owner' };

describe('mention parsing', () => {
  it('finds @names outside words and addresses, lowercased, trying a trailing dot off', () => {
    expect(mentionNames('hi @Bob, mail me at x@bob.com or @carol.w. @ÉLODIE')).toEqual(['bob', 'carol.w.', 'carol.w', 'élodie']);
    expect(mentionNames('no mentions here')).toEqual([]);
    expect(mentionNames(Array.from({ length: 80 }, (_, i) => `@user${i}`).join(' '))).toHaveLength(MAX_MENTION_NAMES);
  });
});

describe('mention resolution', () => {
  it('honours MENTION_ALL for @all and never mentions the sender', async () => {
    expect(await resolver('admins')(group('admin'), 'u-owner', 'text', '@all @owner')).toEqual({ userIds: [], all: true });
    expect(await resolver('admins')(group('member'), 'u-bob', 'text', '@all')).toBeUndefined();
    expect(await resolver('members')(group('member'), 'u-bob', 'text', '@all')).toEqual({ userIds: [], all: true });
    expect(await resolver('off')(group('owner'), 'u-owner', 'text', '@all @bob')).toEqual({ userIds: ['u-bob'], all: false });
  });

  it('reads @all in a private chat as a username, and resolves text messages only', async () => {
    expect(await resolver('admins')(privateChat, 'u-owner', 'text', 'hey @all')).toEqual({ userIds: ['u-all'], all: false });
    expect(await resolver('admins')(privateChat, 'u-owner', 'text', 'hey @bob')).toBeUndefined();
    expect(await resolver('admins')(group('owner'), 'u-owner', 'emoji', '@bob 👍')).toBeUndefined();
  });
});

describe('mention completion helpers', () => {
  const people = [
    { id: '1', username: 'bob', nickname: 'Robert' },
    { id: '2', username: 'rob', nickname: 'Bobby' },
    { id: '3', username: 'alice', nickname: 'Al' },
  ];

  it('finds the @prefix at the caret and matches usernames before nicknames', () => {
    expect(mentionQueryAt('hi @bo', 6)).toEqual({ start: 3, prefix: 'bo' });
    expect(mentionQueryAt('mail a@bo', 9)).toBeNull();
    expect(mentionQueryAt('@', 1)).toEqual({ start: 0, prefix: '' });
    expect(mentionCandidates(people, 'BO').map((p) => p.id)).toEqual(['1', '2']);
    expect(mentionCandidates(people, '', { exceptUserId: '3' }).map((p) => p.id)).toEqual(['1', '2']);
  });

  it('inserts the chosen username and tells whether a message mentions the reader', () => {
    expect(insertMention('hi @bo there', { start: 3, prefix: 'bo' }, 'bob')).toEqual({ text: 'hi @bob  there', caret: 8 });
    expect(mentionsMe({ senderId: 'a', mentions: { userIds: ['b'], all: false } }, 'b')).toBe(true);
    expect(mentionsMe({ senderId: 'a', mentions: { userIds: [], all: true } }, 'a')).toBe(false);
    expect(mentionsMe({ senderId: 'a' }, 'b')).toBe(false);
  });
});
