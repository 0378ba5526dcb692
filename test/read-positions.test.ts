import { afterEach, describe, expect, it } from 'vitest';
import type { Page, ReadPosition } from '../src/client/index.js';
import { type ConversationView, conversations, createGroup, expectFailure, openPrivate, people, sendText } from './support/messaging.js';
import { storageLabel } from './support/server.js';
import { useTestServer } from './support/suite.js';

/**
 * Read receipts that survive a reload: what the others have read is stored, and a client that
 * starts afresh (a reload, a new login, another device) gets it back from REST, not only from the
 * live `read` events it happened to be connected for.
 */
describe(`read positions: the others' receipts come back from REST (${storageLabel})`, () => {
  const suite = useTestServer();
  const crowd = people(() => suite.server.url);
  afterEach(() => crowd.closeAll());

  const describeAs = (client: { request: <T>(method: string, path: string) => Promise<T> }, conversationId: string) =>
    client.request<ConversationView>('GET', `/conversations/${encodeURIComponent(conversationId)}`);
  const readsOf = (client: { request: <T>(method: string, path: string) => Promise<T> }, conversationId: string, query = '') =>
    client.request<Page<ReadPosition>>('GET', `/conversations/${encodeURIComponent(conversationId)}/reads${query}`);

  it("gives a private chat's peer position in the conversation, the list and /reads, on a device that signed in after the read", async () => {
    const alice = await crowd.user();
    const bob = await crowd.user();
    const conversationId = await openPrivate(alice.client, bob.id);
    const first = await sendText(alice.client, conversationId, 'are you there?');
    await sendText(alice.client, conversationId, 'hello?');
    expect((await describeAs(alice.client, conversationId)).peerLastReadMessageId).toBeNull();

    await bob.client.request('POST', `/conversations/${conversationId}/read`, { messageId: first.id });
    // A fresh login is what a reload or another device starts from: nothing live was received.
    const laptop = await crowd.device(alice);
    expect(await describeAs(laptop, conversationId)).toMatchObject({ peerLastReadMessageId: first.id, lastReadMessageId: null });
    expect((await conversations(laptop)).find((c) => c.id === conversationId)).toMatchObject({ peerLastReadMessageId: first.id });
    const reads = await readsOf(laptop, conversationId);
    expect(reads).toEqual({ items: [{ userId: bob.id, lastReadMessageId: first.id, readAt: expect.any(String) }], nextCursor: null });
    // Bob's own view carries his position as lastReadMessageId, and Alice has read nothing.
    expect(await describeAs(bob.client, conversationId)).toMatchObject({ lastReadMessageId: first.id, peerLastReadMessageId: null });
    expect((await readsOf(bob.client, conversationId)).items).toEqual([]);
  });

  it("pages a group's other members' positions by user id, leaving out the caller; a group conversation has no single peer position", async () => {
    const alice = await crowd.user();
    const bob = await crowd.user();
    const carol = await crowd.user();
    const dave = await crowd.user();
    const group = await createGroup(alice.client, [bob, carol, dave]);
    const m1 = await sendText(alice.client, group.conversationId, 'one');
    const m2 = await sendText(alice.client, group.conversationId, 'two');
    await bob.client.request('POST', `/conversations/${group.conversationId}/read`, { messageId: m1.id });
    await carol.client.request('POST', `/conversations/${group.conversationId}/read`, { messageId: m2.id });
    await alice.client.request('POST', `/conversations/${group.conversationId}/read`, { messageId: m2.id });

    const seen: ReadPosition[] = [];
    let page = await readsOf(alice.client, group.conversationId, '?limit=1');
    seen.push(...page.items);
    while (page.nextCursor) {
      page = await readsOf(alice.client, group.conversationId, `?limit=1&cursor=${encodeURIComponent(page.nextCursor)}`);
      seen.push(...page.items);
    }
    const expected = [
      { userId: bob.id, lastReadMessageId: m1.id },
      { userId: carol.id, lastReadMessageId: m2.id },
    ].sort((a, b) => (a.userId < b.userId ? -1 : 1));
    expect(seen.map(({ userId, lastReadMessageId }) => ({ userId, lastReadMessageId }))).toEqual(expected);
    expect((await describeAs(alice.client, group.conversationId)).peerLastReadMessageId).toBeNull();
    // Dave has read nothing: he sees the three others who have, himself left out.
    expect((await readsOf(dave.client, group.conversationId)).items.map((r) => r.userId).sort()).toEqual([alice.id, bob.id, carol.id].sort());
  });

  it('shows no stored receipt across a block, in a private chat or a shared group, and shows it again after unblocking', async () => {
    const alice = await crowd.user();
    const bob = await crowd.user();
    const carol = await crowd.user();
    const conversationId = await openPrivate(alice.client, bob.id);
    const sent = await sendText(alice.client, conversationId, 'read me');
    await bob.client.request('POST', `/conversations/${conversationId}/read`, { messageId: sent.id });
    const group = await createGroup(carol.client, [alice, bob]);
    const inGroup = await sendText(carol.client, group.conversationId, 'hi all');
    await bob.client.request('POST', `/conversations/${group.conversationId}/read`, { messageId: inGroup.id });

    // Either side's block hides it: the blocker's and the blocked one's.
    for (const [blocker, blocked] of [
      [bob, alice],
      [alice, bob],
    ] as const) {
      await blocker.client.request('POST', '/blocks', { userId: blocked.id });
      expect((await describeAs(alice.client, conversationId)).peerLastReadMessageId).toBeNull();
      expect((await conversations(alice.client)).find((c) => c.id === conversationId)?.peerLastReadMessageId).toBeNull();
      expect((await readsOf(alice.client, conversationId)).items).toEqual([]);
      expect((await readsOf(alice.client, group.conversationId)).items.map((r) => r.userId)).not.toContain(bob.id);
      // Carol blocked no one: she still sees Bob's position in the group.
      expect((await readsOf(carol.client, group.conversationId)).items.map((r) => r.userId)).toContain(bob.id);
      await blocker.client.request('DELETE', `/blocks/${blocked.id}`);
    }
    expect((await describeAs(alice.client, conversationId)).peerLastReadMessageId).toBe(sent.id);
    expect((await readsOf(alice.client, group.conversationId)).items.map((r) => r.userId)).toContain(bob.id);
  });

  it("keeps a stranger's receipt from a user who accepts messages from friends only, like the live event", async () => {
    const alice = await crowd.user();
    const bob = await crowd.user();
    const conversationId = await openPrivate(alice.client, bob.id);
    const sent = await sendText(alice.client, conversationId, 'hello stranger');
    await alice.client.request('PATCH', '/users/me', { allowMessagesFrom: 'friends' });
    await bob.client.request('POST', `/conversations/${conversationId}/read`, { messageId: sent.id });
    expect((await describeAs(alice.client, conversationId)).peerLastReadMessageId).toBeNull();
    expect((await readsOf(alice.client, conversationId)).items).toEqual([]);
  });

  it('answers 404 to someone outside the conversation and 400 to a cursor it did not hand out', async () => {
    const alice = await crowd.user();
    const bob = await crowd.user();
    const outsider = await crowd.user();
    const conversationId = await openPrivate(alice.client, bob.id);
    const group = await createGroup(alice.client, [bob]);
    await expectFailure(readsOf(outsider.client, conversationId), 'NOT_FOUND', 404);
    await expectFailure(readsOf(outsider.client, group.conversationId), 'NOT_FOUND', 404);
    await expectFailure(readsOf(alice.client, group.conversationId, '?cursor=garbage'), 'VALIDATION_FAILED', 400);
  });
});
