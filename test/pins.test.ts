import { afterEach, describe, expect, it } from 'vitest';
import { type Message, rest } from '../src/client/index.js';
import { MAX_PINS_PER_CONVERSATION } from '../src/contract/pins.js';
import { download, uploadFile } from './support/files.js';
import { createGroup, expectFailure, history, newClientMsgId, openPrivate, people, postMessage, sendText } from './support/messaging.js';
import { barrier, collect, nextEvent } from './support/realtime.js';
import { storageLabel } from './support/server.js';
import { useTestServer } from './support/suite.js';

describe(`pins (${storageLabel})`, () => {
  const suite = useTestServer();
  const crowd = people(() => suite.server.url);
  afterEach(() => crowd.closeAll());

  it('lets either person pin in a private chat and tells every device of both, including the pinner’s second device', async () => {
    const alice = await crowd.user();
    const bob = await crowd.user();
    const aliceTablet = await crowd.device(alice);
    const bobPhone = await crowd.device(bob);
    {
      const conversationId = await openPrivate(alice.client, bob.id);
      const message = await sendText(alice.client, conversationId, 'meet at 7');
      const onTablet = nextEvent(aliceTablet.socket, 'message_updated', (e) => e.message.id === message.id);
      const onBob = nextEvent(bob.socket, 'message_updated', (e) => e.message.id === message.id);
      const onBobPhone = nextEvent(bobPhone.socket, 'message_updated', (e) => e.message.id === message.id);
      const pinned = await rest(bob.client).messages.pin(message.id);
      expect(pinned).toMatchObject({ id: message.id, pinnedBy: bob.id });
      expect(Date.parse(pinned.pinnedAt as string)).not.toBeNaN();
      for (const event of await Promise.all([onTablet, onBob, onBobPhone])) expect(event.message).toMatchObject({ pinnedBy: bob.id, pinnedAt: pinned.pinnedAt });

      // History and the pinned list both show it.
      expect((await history(alice.client, conversationId)).items[0]).toMatchObject({ id: message.id, pinnedBy: bob.id });
      expect((await rest(alice.client).conversations.pins(conversationId)).items.map((m) => m.id)).toEqual([message.id]);

      // Pinning again changes nothing and tells nobody.
      const seen = collect(alice.socket, 'message_updated');
      expect(await rest(alice.client).messages.pin(message.id)).toMatchObject({ pinnedBy: bob.id });
      await barrier(alice.socket);
      expect(seen).toEqual([]);

      // Unpinning tells both people; the field goes.
      const unpinnedOnBob = nextEvent(bob.socket, 'message_updated', (e) => e.message.id === message.id);
      const unpinned = await rest(alice.client).messages.unpin(message.id);
      expect(unpinned.pinnedAt).toBeUndefined();
      expect((await unpinnedOnBob).message.pinnedAt).toBeUndefined();
      expect((await rest(bob.client).conversations.pins(conversationId)).items).toEqual([]);
      await expectFailure(rest(alice.client).messages.unpin(message.id), 'NOT_FOUND', 404);
    }
  });

  it('lets only the owner and admins pin in a group, and every member device hears it', async () => {
    const owner = await crowd.user();
    const admin = await crowd.user();
    const member = await crowd.user();
    const group = await createGroup(owner.client, [admin, member]);
    await owner.client.request('PATCH', `/groups/${group.id}/members/${admin.id}`, { role: 'admin' });
    const message = await sendText(member.client, group.conversationId, 'agenda');
    await expectFailure(rest(member.client).messages.pin(message.id), 'FORBIDDEN', 403);
    const heard = nextEvent(member.socket, 'message_updated', (e) => e.message.id === message.id && e.message.pinnedBy === admin.id);
    await rest(admin.client).messages.pin(message.id);
    await heard;
    await expectFailure(rest(member.client).messages.unpin(message.id), 'FORBIDDEN', 403);
    expect((await rest(member.client).conversations.pins(group.conversationId)).items.map((m) => m.id)).toEqual([message.id]);
    await rest(owner.client).messages.unpin(message.id);
  });

  it('drops the pin of a recalled message and refuses to pin a recalled one', async () => {
    const alice = await crowd.user();
    const bob = await crowd.user();
    const conversationId = await openPrivate(alice.client, bob.id);
    const message = await sendText(alice.client, conversationId, 'oops');
    await rest(bob.client).messages.pin(message.id);
    const recalledOnBob = nextEvent(bob.socket, 'message_updated', (e) => e.message.id === message.id && e.message.recalledAt !== null);
    await rest(alice.client).messages.recall(message.id);
    expect((await recalledOnBob).message.pinnedAt).toBeUndefined();
    expect((await rest(bob.client).conversations.pins(conversationId)).items).toEqual([]);
    await expectFailure(rest(bob.client).messages.pin(message.id), 'CONFLICT', 409);
  });

  it('pages the pinned list most recently pinned first, and refuses a pin past the cap with PIN_LIMIT_REACHED', async () => {
    const alice = await crowd.user();
    const bob = await crowd.user();
    const conversationId = await openPrivate(alice.client, bob.id);
    const sent: Message[] = [];
    for (let i = 0; i <= MAX_PINS_PER_CONVERSATION; i++) sent.push(await postMessage(alice.client, conversationId, { type: 'text', content: `note ${i}` }));
    for (const message of sent.slice(0, MAX_PINS_PER_CONVERSATION)) await rest(alice.client).messages.pin(message.id);
    const refused = await expectFailure(rest(alice.client).messages.pin((sent.at(-1) as Message).id), 'PIN_LIMIT_REACHED', 409);
    expect(refused.message).toContain(String(MAX_PINS_PER_CONVERSATION));

    const seen: string[] = [];
    let cursor: string | undefined;
    do {
      const page = await rest(bob.client).conversations.pins(conversationId, { cursor, limit: 20 });
      seen.push(...page.items.map((m) => m.id));
      cursor = page.nextCursor ?? undefined;
    } while (cursor);
    // Pinned one after another: the last pinned comes first (same-millisecond pins by message id).
    expect(seen).toEqual(
      sent
        .slice(0, MAX_PINS_PER_CONVERSATION)
        .map((m) => m.id)
        .reverse(),
    );
    // Unpinning one makes room.
    await rest(alice.client).messages.unpin((sent[0] as Message).id);
    expect(await rest(alice.client).messages.pin((sent.at(-1) as Message).id)).toMatchObject({ pinnedBy: alice.id });
    await expectFailure(rest(bob.client).conversations.pins(conversationId, { cursor: 'bogus' }), 'VALIDATION_FAILED', 400);
  });

  it('refuses pins across a block but lets the pin be taken back', async () => {
    const alice = await crowd.user();
    const bob = await crowd.user();
    const conversationId = await openPrivate(alice.client, bob.id);
    const message = await sendText(alice.client, conversationId, 'hello');
    const later = await sendText(alice.client, conversationId, 'later');
    await rest(alice.client).messages.pin(message.id);
    await bob.client.request('POST', '/blocks', { userId: alice.id });
    await expectFailure(rest(bob.client).messages.pin(later.id), 'FORBIDDEN', 403);
    expect(await rest(alice.client).messages.unpin(message.id)).not.toHaveProperty('pinnedAt');
  });
});

describe(`forwarding (${storageLabel})`, () => {
  const suite = useTestServer();
  const crowd = people(() => suite.server.url);
  afterEach(() => crowd.closeAll());

  it('copies messages into several conversations in send order, recording the original sender and time but not the origin conversation', async () => {
    const alice = await crowd.user();
    const bob = await crowd.user();
    const carol = await crowd.user();
    const dave = await crowd.user();
    const origin = await openPrivate(alice.client, bob.id);
    const first = await sendText(alice.client, origin, 'first');
    const second = await sendText(bob.client, origin, 'second');
    const toCarol = await openPrivate(bob.client, carol.id);
    const group = await createGroup(bob.client, [dave]);

    const carolGets = nextEvent(carol.socket, 'chat', (m) => m.content === 'second');
    const daveGets = nextEvent(dave.socket, 'chat', (m) => m.content === 'first');
    const { messages } = await rest(bob.client).messages.forward({
      messageIds: [second.id, first.id],
      conversationIds: [toCarol, group.conversationId],
      clientMsgId: newClientMsgId(),
    });
    expect(messages.map((m) => [m.conversationId, m.content])).toEqual([
      [toCarol, 'first'],
      [toCarol, 'second'],
      [group.conversationId, 'first'],
      [group.conversationId, 'second'],
    ]);
    for (const m of messages) expect(m.senderId).toBe(bob.id);
    expect(messages[0]?.forwardedFrom).toEqual({ senderId: alice.id, senderName: alice.username, sentAt: first.createdAt });
    expect(messages[1]?.forwardedFrom).toEqual({ senderId: bob.id, senderName: bob.username, sentAt: second.createdAt });
    expect((await carolGets).forwardedFrom).toMatchObject({ senderId: bob.id });
    const seenByDave = await daveGets;
    expect(seenByDave.forwardedFrom).toMatchObject({ senderId: alice.id, senderName: alice.username });
    expect(JSON.stringify(seenByDave)).not.toContain(origin);
    // Stored: history shows the origin too.
    expect((await history(carol.client, toCarol)).items.map((m) => m.forwardedFrom?.senderId)).toEqual([bob.id, alice.id]);

    // Forwarding a forward keeps the first origin.
    const again = await rest(carol.client).messages.forward({
      messageIds: [(messages[0] as Message).id],
      conversationIds: [await openPrivate(carol.client, dave.id)],
      clientMsgId: newClientMsgId(),
    });
    expect(again.messages[0]?.forwardedFrom).toEqual(messages[0]?.forwardedFrom);
  });

  it('returns the same messages for a retried clientMsgId and delivers nothing twice', async () => {
    const alice = await crowd.user();
    const bob = await crowd.user();
    const carol = await crowd.user();
    const origin = await openPrivate(alice.client, bob.id);
    const message = await sendText(alice.client, origin, 'once');
    const target = await openPrivate(bob.client, carol.id);
    const body = { messageIds: [message.id], conversationIds: [target], clientMsgId: newClientMsgId() };
    const received = collect(carol.socket, 'chat');
    const first = await rest(bob.client).messages.forward(body);
    const retry = await rest(bob.client).messages.forward(body);
    expect(retry.messages).toEqual(first.messages);
    await barrier(carol.socket);
    expect(received.map((m) => m.id)).toEqual([first.messages[0]?.id]);
  });

  it('refuses sources the caller cannot read (404), recalled ones (409), targets they may not write to, and writes nothing then', async () => {
    const alice = await crowd.user();
    const bob = await crowd.user();
    const carol = await crowd.user();
    const mallory = await crowd.user();
    const origin = await openPrivate(alice.client, bob.id);
    const secret = await sendText(alice.client, origin, 'secret');
    const toCarol = await openPrivate(mallory.client, carol.id);
    const forward = (who: typeof bob, messageIds: string[], conversationIds: string[]) =>
      rest(who.client).messages.forward({ messageIds, conversationIds, clientMsgId: newClientMsgId() });

    // Mallory cannot read Alice and Bob's chat.
    await expectFailure(forward(mallory, [secret.id], [toCarol]), 'NOT_FOUND', 404);
    await expectFailure(forward(mallory, ['999999999'], [toCarol]), 'NOT_FOUND', 404);
    // Bob cannot write into Mallory and Carol's chat, nor into a group he is not in.
    const group = await createGroup(mallory.client, [carol]);
    await expectFailure(forward(bob, [secret.id], [toCarol]), 'NOT_FOUND', 404);
    await expectFailure(forward(bob, [secret.id], [group.conversationId]), 'NOT_FOUND', 404);
    // A block and a mute refuse as a send would.
    await carol.client.request('POST', '/blocks', { userId: bob.id });
    await expectFailure(forward(bob, [secret.id], [await openPrivate(bob.client, carol.id)]), 'FORBIDDEN', 403);
    const bobsGroup = await createGroup(alice.client, [bob]);
    await alice.client.request('PATCH', `/groups/${bobsGroup.id}/members/${bob.id}`, { mutedUntil: new Date(Date.now() + 3_600_000).toISOString() });
    await expectFailure(forward(bob, [secret.id], [bobsGroup.conversationId]), 'FORBIDDEN', 403);
    // Recalled.
    const gone = await sendText(alice.client, origin, 'gone');
    await rest(alice.client).messages.recall(gone.id);
    await expectFailure(forward(bob, [secret.id, gone.id], [origin]), 'CONFLICT', 409);
    // Nothing was written by any refused forward.
    expect((await history(bob.client, origin)).items.map((m) => m.content)).toEqual(['', 'secret']);
    // Caps and shapes.
    await expectFailure(forward(bob, [], [origin]), 'VALIDATION_FAILED', 400);
    await expectFailure(forward(bob, [secret.id, secret.id], [origin]), 'VALIDATION_FAILED', 400);
    await expectFailure(
      forward(
        bob,
        Array.from({ length: 21 }, (_, i) => String(i + 1)),
        [origin],
      ),
      'VALIDATION_FAILED',
      400,
    );
  });

  it('gives the recipient the forwarded file through the new message, and nothing else of the origin conversation', async () => {
    const alice = await crowd.user();
    const bob = await crowd.user();
    const carol = await crowd.user();
    const origin = await openPrivate(alice.client, bob.id);
    const shared = await uploadFile(alice.client, 'plan.pdf', Buffer.from('the plan'));
    const other = await uploadFile(alice.client, 'other.pdf', Buffer.from('not forwarded'));
    const withFile = await postMessage(alice.client, origin, { type: 'file', content: '', attachments: [{ fileId: shared }] });
    const notForwarded = await postMessage(alice.client, origin, { type: 'file', content: '', attachments: [{ fileId: other }] });
    const fileUrl = (id: string) => `${suite.server.url}/api/v1/files/${id}/content`;
    expect((await download(fileUrl(shared), carol.client.accessToken as string)).status).toBe(404);

    const target = await openPrivate(bob.client, carol.id);
    const { messages } = await rest(bob.client).messages.forward({ messageIds: [withFile.id], conversationIds: [target], clientMsgId: newClientMsgId() });
    expect(messages[0]?.attachments).toMatchObject([{ fileId: shared, filename: 'plan.pdf' }]);
    const got = await download(fileUrl(shared), carol.client.accessToken as string);
    expect(got.status).toBe(200);
    expect(got.bytes.toString()).toBe('the plan');
    // Nothing else from the origin: the other file, its messages, its history.
    expect((await download(fileUrl(other), carol.client.accessToken as string)).status).toBe(404);
    await expectFailure(history(carol.client, origin), 'NOT_FOUND', 404);
    await expectFailure(rest(carol.client).messages.forward({ messageIds: [notForwarded.id], conversationIds: [target], clientMsgId: newClientMsgId() }), 'NOT_FOUND', 404);
    // Someone outside both conversations still cannot read it.
    const dave = await crowd.user();
    expect((await download(fileUrl(shared), dave.client.accessToken as string)).status).toBe(404);
    // Recalling the copy takes the access it gave away again.
    await rest(bob.client).messages.recall((messages[0] as Message).id);
    expect((await download(fileUrl(shared), carol.client.accessToken as string)).status).toBe(404);
  });
});

describe(`forwarding under the send limit (${storageLabel})`, () => {
  const suite = useTestServer({ SEND_RATE_LIMIT_MAX: '6' });
  const crowd = people(() => suite.server.url);
  afterEach(() => crowd.closeAll());

  it('counts every created message against the send limit', async () => {
    const alice = await crowd.user();
    const bob = await crowd.user();
    const carol = await crowd.user();
    const withBob = await openPrivate(alice.client, bob.id);
    const withCarol = await openPrivate(alice.client, carol.id);
    const one = await sendText(alice.client, withBob, 'one');
    const two = await sendText(alice.client, withBob, 'two');
    const forward = () => rest(alice.client).messages.forward({ messageIds: [one.id, two.id], conversationIds: [withBob, withCarol], clientMsgId: newClientMsgId() });
    // 2 sends + 4 copies = 6: within the limit; the next forward's 4 copies are not.
    expect((await forward()).messages).toHaveLength(4);
    await expectFailure(forward(), 'RATE_LIMITED', 429);
  });
});
