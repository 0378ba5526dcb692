import { describe, expect, it } from 'vitest';
import { createAccessPolicy } from '../../src/modules/policy/policy.access.js';

/** One group, `g1`, whose members are alice (owner) and bob (member, muted). */
const policy = createAccessPolicy({
  groupMembership: async (groupId, userId) => {
    if (groupId !== 'g1') return undefined;
    if (userId === 'alice') return { role: 'owner', muted_until: null };
    if (userId === 'bob') return { role: 'member', muted_until: '1700000000000' };
    return undefined;
  },
});

const refusal = (promise: Promise<unknown>) =>
  promise.then(
    () => 'allowed',
    (error: { code?: string }) => error.code,
  );

describe('access policy', () => {
  it('lets the two users a private conversation id names in, nobody else, and refuses ids not in canonical form', async () => {
    expect(await policy.conversation('a', 'd.a.b')).toEqual({ kind: 'private', id: 'd.a.b', peerId: 'b', low: 'a', high: 'b' });
    expect(await policy.conversation('b', 'd.a.b')).toMatchObject({ peerId: 'a' });
    expect(await refusal(policy.conversation('c', 'd.a.b'))).toBe('NOT_FOUND');
    // The same pair written the other way round, or with a third part, is not a conversation id.
    expect(await refusal(policy.conversation('a', 'd.b.a'))).toBe('NOT_FOUND');
    expect(await refusal(policy.conversation('a', 'd.a.a'))).toBe('NOT_FOUND');
    expect(await refusal(policy.conversation('a', 'd.a.b.c'))).toBe('NOT_FOUND');
    expect(await refusal(policy.conversation('a', 'x'))).toBe('NOT_FOUND');
  });

  it('lets group members in with their role and mute, and answers NOT_FOUND to everyone else', async () => {
    expect(await policy.conversation('alice', 'g.g1')).toEqual({ kind: 'group', id: 'g.g1', groupId: 'g1', role: 'owner', mutedUntil: null });
    expect(await policy.conversation('bob', 'g.g1')).toMatchObject({ role: 'member', mutedUntil: 1_700_000_000_000 });
    expect(await refusal(policy.conversation('carol', 'g.g1'))).toBe('NOT_FOUND');
    expect(await refusal(policy.conversation('alice', 'g.other'))).toBe('NOT_FOUND');
    expect(await policy.mayReadConversation('carol', 'g.g1')).toBe(false);
  });

  it('lets only the sender change a message', () => {
    expect(() => policy.requireMessageSender('a', { sender_id: 'a' })).not.toThrow();
    expect(() => policy.requireMessageSender('b', { sender_id: 'a' })).toThrowError(expect.objectContaining({ code: 'FORBIDDEN' }));
  });

  it('lets a file be read by its uploader, by anyone as an avatar, and by readers of a conversation it was sent to', async () => {
    const attachment = { uploader_id: 'alice', purpose: 'attachment' };
    const none = async () => [];
    expect(await policy.mayReadFile('alice', attachment, none)).toBe(true);
    expect(await policy.mayReadFile('carol', attachment, none)).toBe(false);
    expect(await policy.mayReadFile('carol', { uploader_id: 'alice', purpose: 'avatar' }, none)).toBe(true);
    expect(await policy.mayReadFile('bob', attachment, async () => ['d.x.y', 'g.g1'])).toBe(true);
    expect(await policy.mayReadFile('carol', attachment, async () => ['d.x.y', 'g.g1'])).toBe(false);
  });

  it('gives uploads to their uploader, calls to their two parties, AI conversations to their owner and invitations to their invitee', () => {
    expect(policy.isUploader('a', { uploader_id: 'a' })).toBe(true);
    expect(policy.isUploader('b', { uploader_id: 'a' })).toBe(false);
    const call = { caller_id: 'a', callee_id: 'b' };
    expect([policy.isCallParty('a', call), policy.isCallParty('b', call), policy.isCallParty('c', call)]).toEqual([true, true, false]);
    expect([policy.ownsAiConversation('a', { user_id: 'a' }), policy.ownsAiConversation('b', { user_id: 'a' })]).toEqual([true, false]);
    expect([policy.isInvitee('a', { invitee_id: 'a' }), policy.isInvitee('b', { invitee_id: 'a' })]).toEqual([true, false]);
  });
});
