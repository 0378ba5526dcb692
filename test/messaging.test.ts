import { randomUUID } from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import type { Message } from '../src/client/index.js';
import { uploadFile } from './support/files.js';
import { apiClient, expectError } from './support/http.js';
import {
  byId,
  bytes,
  type ConversationView,
  collectN,
  conversations,
  createGroup,
  expectFailure,
  history,
  MESSAGE_FIELDS,
  newClientMsgId,
  openPrivate,
  people,
  postMessage,
  sendText,
} from './support/messaging.js';
import { barrier, collect, nextEvent } from './support/realtime.js';
import { storageLabel } from './support/server.js';
import { useTestServer } from './support/suite.js';

describe(`messaging: conversations, sending, types and rules (${storageLabel})`, () => {
  const suite = useTestServer();
  const crowd = people(() => suite.server.url);
  afterEach(() => crowd.closeAll());

  describe('conversations', () => {
    it('opens the same private conversation from both sides, showing each the other as peer', async () => {
      const alice = await crowd.user();
      const bob = await crowd.user();
      const fromAlice = await alice.client.request<ConversationView>('POST', '/conversations', { peerId: bob.id });
      const fromBob = await bob.client.request<ConversationView>('POST', '/conversations', { peerId: alice.id });
      expect(fromAlice.id).toBe(fromBob.id);
      expect(fromAlice).toMatchObject({ type: 'private', peer: { id: bob.id, username: bob.username }, lastMessage: null, unreadCount: 0 });
      expect(fromBob).toMatchObject({ type: 'private', peer: { id: alice.id }, lastMessage: null, unreadCount: 0 });
      expect(fromAlice.group).toBeUndefined();
      // Opening again is idempotent.
      expect((await alice.client.request<ConversationView>('POST', '/conversations', { peerId: bob.id })).id).toBe(fromAlice.id);
    });

    it('opens the conversation of a group the caller is in, and answers 404 for a group they are not in', async () => {
      const owner = await crowd.user();
      const member = await crowd.user();
      const outsider = await crowd.user();
      const group = await createGroup(owner.client, [member], '周末徒步 🥾');
      const opened = await member.client.request<ConversationView>('POST', '/conversations', { groupId: group.id });
      expect(opened).toMatchObject({ id: group.conversationId, type: 'group', group: { id: group.id, name: '周末徒步 🥾', memberCount: 2 }, unreadCount: 0 });
      // The last message is the group's own event (a system message): no one has written yet.
      expect(opened.lastMessage).toMatchObject({ type: 'system' });
      expect(opened.peer).toBeUndefined();
      await expectFailure(outsider.client.request('POST', '/conversations', { groupId: group.id }), 'NOT_FOUND', 404);
      await expectFailure(owner.client.request('POST', '/conversations', { groupId: randomUUID() }), 'NOT_FOUND', 404);
    });

    it('refuses a conversation with oneself (400), with an unknown user (404), and with both or neither of peerId and groupId (400)', async () => {
      const alice = await crowd.user();
      const bob = await crowd.user();
      const group = await createGroup(alice.client, [bob]);
      await expectFailure(alice.client.request('POST', '/conversations', { peerId: alice.id }), 'VALIDATION_FAILED', 400);
      await expectFailure(alice.client.request('POST', '/conversations', { peerId: randomUUID() }), 'NOT_FOUND', 404);
      await expectFailure(alice.client.request('POST', '/conversations', { peerId: bob.id, groupId: group.id }), 'VALIDATION_FAILED', 400);
      await expectFailure(alice.client.request('POST', '/conversations', {}), 'VALIDATION_FAILED', 400);
    });

    it('lists conversations with peer or group, last message and unread count, the most recently active first', async () => {
      const alice = await crowd.user();
      const bob = await crowd.user();
      const carol = await crowd.user();
      const withBob = await openPrivate(bob.client, alice.id);
      const group = await createGroup(carol.client, [alice, bob], 'book club');

      await sendText(bob.client, withBob, 'first from bob');
      const inGroup = await sendText(carol.client, group.conversationId, 'hello club');
      let list = await conversations(alice.client);
      expect(list.map((c) => c.id)).toEqual([group.conversationId, withBob]);
      expect(list[0]).toMatchObject({ type: 'group', group: { id: group.id, name: 'book club', memberCount: 3 }, unreadCount: 1, lastMessage: inGroup });
      expect(list[1]).toMatchObject({ type: 'private', peer: { id: bob.id }, unreadCount: 1, lastMessage: { content: 'first from bob', senderId: bob.id } });

      // A new message moves its conversation to the top.
      const latest = await sendText(bob.client, withBob, 'second from bob');
      list = await conversations(alice.client);
      expect(list.map((c) => c.id)).toEqual([withBob, group.conversationId]);
      expect(list[0]).toMatchObject({ unreadCount: 2, lastMessage: latest });

      // Own messages are not unread for the sender.
      const bobsView = await conversations(bob.client);
      expect(bobsView.find((c) => c.id === withBob)).toMatchObject({ unreadCount: 0, peer: { id: alice.id } });
      expect(bobsView.find((c) => c.id === group.conversationId)).toMatchObject({ unreadCount: 1 });
    });
  });

  describe('sending', () => {
    it('stores the same message shape whether sent by socket or REST; the ack and the REST result are the stored message', async () => {
      const alice = await crowd.user();
      const bob = await crowd.user();
      const conversationId = await openPrivate(alice.client, bob.id);
      const viaSocket = await alice.client.emit('chat', { conversationId, type: 'text', content: 'by socket', clientMsgId: 'sock-1' });
      const viaRest = await postMessage(alice.client, conversationId, { type: 'text', content: 'by REST', clientMsgId: 'rest-1' });
      for (const [message, content, clientMsgId] of [
        [viaSocket, 'by socket', 'sock-1'],
        [viaRest, 'by REST', 'rest-1'],
      ] as const) {
        expect(Object.keys(message).sort()).toEqual(MESSAGE_FIELDS);
        expect(message).toMatchObject({
          conversationId,
          senderId: alice.id,
          type: 'text',
          content,
          clientMsgId,
          replyToId: null,
          attachments: [],
          reactions: [],
          editedAt: null,
          recalledAt: null,
        });
        expect(message.id).toMatch(/^\S+$/);
        expect(new Date(message.createdAt).toISOString()).toBe(message.createdAt);
      }
      const stored = await history(bob.client, conversationId);
      expect(stored.items).toEqual([viaRest, viaSocket]);
    });

    it('delivers a socket message to every device of every member, the sender’s other devices included, but not back to the sending socket', async () => {
      const alice = await crowd.user();
      const bob = await crowd.user();
      const carol = await crowd.user();
      const aliceTablet = await crowd.device(alice);
      const bobLaptop = await crowd.device(bob);
      const group = await createGroup(alice.client, [bob, carol]);
      const receivers = [aliceTablet.socket, bob.socket, bobLaptop.socket, carol.socket];
      const arrivals = receivers.map((socket) => nextEvent(socket, 'chat'));
      const echoes = collect(alice.socket, 'chat');
      const stored = await sendText(alice.client, group.conversationId, 'to everyone 👋');
      // Each delivery is the stored message plus `notify` for its receiver (never on the sender's own devices).
      expect(await Promise.all(arrivals)).toEqual([false, true, true, true].map((notify) => ({ ...stored, notify })));

      // Private chats too: the peer’s devices and the sender’s other device.
      const direct = await openPrivate(alice.client, bob.id);
      const privateArrivals = [aliceTablet.socket, bob.socket, bobLaptop.socket].map((socket) => nextEvent(socket, 'chat'));
      const carolSees = collect(carol.socket, 'chat');
      const privateMessage = await sendText(alice.client, direct, 'just us');
      expect(await Promise.all(privateArrivals)).toEqual([false, true, true].map((notify) => ({ ...privateMessage, notify })));
      await Promise.all([barrier(alice.socket), barrier(carol.socket)]);
      expect(echoes).toHaveLength(0);
      expect(carolSees).toHaveLength(0);
    });

    it('delivers group messages to devices that connect after their user joined the group', async () => {
      const alice = await crowd.user();
      const bob = await crowd.user();
      const group = await createGroup(alice.client, [bob]);
      const bobLaterPhone = await crowd.device(bob);
      const aliceLaterTablet = await crowd.device(alice);
      bob.client.disconnect();
      const bobReconnected = await bob.client.connect();
      const arrivals = [bobLaterPhone.socket, aliceLaterTablet.socket, bobReconnected].map((socket) => nextEvent(socket, 'chat'));
      const stored = await sendText(alice.client, group.conversationId, 'who is here?');
      expect(await Promise.all(arrivals)).toEqual([true, false, true].map((notify) => ({ ...stored, notify })));
    });

    it('delivers a REST send to every device of the sender and of the peer', async () => {
      const alice = await crowd.user();
      const bob = await crowd.user();
      const aliceTablet = await crowd.device(alice);
      const conversationId = await openPrivate(alice.client, bob.id);
      const arrivals = [alice.socket, aliceTablet.socket, bob.socket].map((socket) => nextEvent(socket, 'chat'));
      const stored = await postMessage(alice.client, conversationId, { type: 'text', content: 'sent over HTTP' });
      expect(await Promise.all(arrivals)).toEqual([false, false, true].map((notify) => ({ ...stored, notify })));
    });

    it('answers a retried clientMsgId with the same message and delivers it only once (socket, REST, concurrent)', async () => {
      const alice = await crowd.user();
      const bob = await crowd.user();
      const aliceTablet = await crowd.device(alice);
      const conversationId = await openPrivate(alice.client, bob.id);
      const atBob = collect(bob.socket, 'chat');
      const atTablet = collect(aliceTablet.socket, 'chat');

      const first = await alice.client.emit('chat', { conversationId, type: 'text', content: 'once', clientMsgId: 'retry-1' });
      const again = await alice.client.emit('chat', { conversationId, type: 'text', content: 'once', clientMsgId: 'retry-1' });
      const overRest = await postMessage(alice.client, conversationId, { type: 'text', content: 'once', clientMsgId: 'retry-1' });
      expect(again).toEqual(first);
      expect(overRest).toEqual(first);

      const restFirst = await postMessage(alice.client, conversationId, { type: 'text', content: 'rest once', clientMsgId: 'retry-2' });
      expect(await postMessage(alice.client, conversationId, { type: 'text', content: 'rest once', clientMsgId: 'retry-2' })).toEqual(restFirst);

      // Two copies of the same send racing each other.
      const racing = await Promise.all([
        alice.client.emit('chat', { conversationId, type: 'text', content: 'race', clientMsgId: 'retry-3' }),
        aliceTablet.emit('chat', { conversationId, type: 'text', content: 'race', clientMsgId: 'retry-3' }),
        postMessage(alice.client, conversationId, { type: 'text', content: 'race', clientMsgId: 'retry-3' }),
      ]);
      expect(new Set(racing.map((m) => m.id)).size).toBe(1);

      // The same clientMsgId in another conversation is a client bug, not a retry.
      const other = await openPrivate(alice.client, (await crowd.user()).id);
      await expectFailure(sendText(alice.client, other, 'once', 'retry-1'), 'CONFLICT');
      await expectFailure(postMessage(alice.client, other, { type: 'text', content: 'once', clientMsgId: 'retry-1' }), 'CONFLICT', 409);

      await Promise.all([barrier(bob.socket), barrier(aliceTablet.socket)]);
      expect(atBob.map((m) => m.id)).toEqual([first.id, restFirst.id, racing[0].id]);
      expect(atTablet.filter((m) => m.id === first.id || m.id === restFirst.id)).toHaveLength(2);
      expect(atTablet.filter((m) => m.id === racing[0].id).length).toBeLessThanOrEqual(1);
      expect((await history(bob.client, conversationId)).items).toHaveLength(3);
    });

    it('stores a burst across many conversations at once (retries inside it included): each ack is the stored message, each conversation shows its own last one', async () => {
      // Sends that arrive together are committed together on SQLite (one transaction per event-loop
      // turn): a retry in the same burst, or a busy neighbour conversation, must not disturb the rest.
      const alice = await crowd.user();
      const others = [await crowd.user(), await crowd.user(), await crowd.user()];
      const groups = [await createGroup(alice.client, [others[0]!]), await createGroup(alice.client, [others[1]!]), await createGroup(alice.client, [others[2]!])];
      const privateWith = await openPrivate(alice.client, others[0]!.id);
      const targets = [...groups.map((g) => g.conversationId), privateWith];
      const sends: Array<Promise<Message>> = [];
      const burstIds = Array.from({ length: 12 }, () => newClientMsgId());
      for (let round = 0; round < 3; round++) {
        burstIds.forEach((clientMsgId, index) => {
          const conversationId = targets[index % targets.length]!;
          // Rounds 1 and 2 retry round 0's clientMsgIds, over the socket and over REST.
          const body = { type: 'text' as const, content: `burst ${index}`, clientMsgId };
          // REST takes the conversation from the path: its body has no conversationId field.
          sends.push(round === 1 ? postMessage(alice.client, conversationId, body) : alice.client.emit('chat', { conversationId, ...body }));
        });
      }
      const acks = await Promise.all(sends);
      const firstRound = acks.slice(0, burstIds.length);
      expect(new Set(firstRound.map((m) => m.id)).size).toBe(burstIds.length);
      for (let round = 1; round < 3; round++) {
        expect(acks.slice(round * burstIds.length, (round + 1) * burstIds.length)).toEqual(firstRound);
      }
      for (const conversationId of targets) {
        const mine = firstRound.filter((m) => m.conversationId === conversationId).sort(byId);
        expect((await history(alice.client, conversationId)).items.filter((m) => m.type !== 'system')).toEqual([...mine].reverse());
        const listed = (await conversations(alice.client)).find((c) => c.id === conversationId);
        expect(listed?.lastMessage).toEqual(mine.at(-1));
      }
    });

    it('delivers the messages of one conversation to every device in id order, even when two senders send quickly', async () => {
      const alice = await crowd.user();
      const bob = await crowd.user();
      const carol = await crowd.user();
      const aliceTablet = await crowd.device(alice);
      const group = await createGroup(alice.client, [bob, carol]);
      const watchers = {
        aliceTablet: collectN<Message>(aliceTablet.socket, 'chat', 30),
        carol: collectN<Message>(carol.socket, 'chat', 30),
        alice: collectN<Message>(alice.socket, 'chat', 15),
        bob: collectN<Message>(bob.socket, 'chat', 30),
      };
      const sends: Array<Promise<Message>> = [];
      for (let i = 0; i < 15; i++) {
        sends.push(sendText(alice.client, group.conversationId, `alice ${i}`));
        sends.push(postMessage(bob.client, group.conversationId, { type: 'text', content: `bob ${i}` }));
      }
      const stored = await Promise.all(sends);
      const sortedIds = [...stored].sort(byId).map((m) => m.id);
      expect(new Set(sortedIds).size).toBe(30);
      for (const received of [await watchers.aliceTablet, await watchers.carol]) {
        expect(received.map((m) => m.id)).toEqual(sortedIds);
      }
      // The sending socket sees only the other sender's messages, still in order.
      expect((await watchers.alice).map((m) => m.id)).toEqual(
        stored
          .filter((m) => m.senderId === bob.id)
          .sort(byId)
          .map((m) => m.id),
      );
      // Bob sent over REST, so his socket gets every message, his own included.
      expect((await watchers.bob).map((m) => m.id)).toEqual(sortedIds);
      const newestFirst = (await history(carol.client, group.conversationId)).items.filter((m) => m.type !== 'system').map((m) => m.id);
      expect(newestFirst).toEqual([...sortedIds].reverse());
    });
  });

  describe('message types and text', () => {
    it('accepts text, emoji, and image/file/audio/video with attachments, and refuses them when incomplete', async () => {
      const alice = await crowd.user();
      const bob = await crowd.user();
      const conversationId = await openPrivate(alice.client, bob.id);
      expect((await alice.client.emit('chat', { conversationId, type: 'emoji', content: '🎉', clientMsgId: newClientMsgId() })).type).toBe('emoji');
      await expectFailure(alice.client.emit('chat', { conversationId, type: 'emoji', content: 'not an emoji', clientMsgId: newClientMsgId() }), 'VALIDATION_FAILED');
      await expectFailure(postMessage(alice.client, conversationId, { type: 'emoji', content: ':-)' }), 'VALIDATION_FAILED', 400);
      await expectFailure(postMessage(alice.client, conversationId, { type: 'text', content: '   ' }), 'VALIDATION_FAILED', 400);
      for (const type of ['image', 'file', 'audio', 'video'] as const) {
        await expectFailure(alice.client.emit('chat', { conversationId, type, content: '', clientMsgId: newClientMsgId() }), 'VALIDATION_FAILED');
        await expectFailure(postMessage(alice.client, conversationId, { type, content: 'caption', attachments: [] }), 'VALIDATION_FAILED', 400);
        // Attachments name real uploads; the server describes them from the file record.
        const fileId = await uploadFile(alice.client, `${type}.bin`);
        const attachments = [{ fileId, filename: `${type}.bin`, contentType: 'application/octet-stream', size: 42 }];
        const stored = await alice.client.emit('chat', { conversationId, type, content: '', clientMsgId: newClientMsgId(), attachments });
        expect(stored).toMatchObject({ type, attachments });
        const viaRest = await postMessage(alice.client, conversationId, { type, content: `a ${type}`, attachments: [{ fileId }] });
        expect(viaRest).toMatchObject({ type, content: `a ${type}`, attachments: [{ fileId }] });
      }
      const kinds = (await history(bob.client, conversationId)).items.map((m) => m.type);
      expect(kinds.sort()).toEqual(['audio', 'audio', 'emoji', 'file', 'file', 'image', 'image', 'video', 'video']);
    });

    it('refuses call and system messages from clients with FORBIDDEN, and unknown types with VALIDATION_FAILED', async () => {
      const alice = await crowd.user();
      const bob = await crowd.user();
      const conversationId = await openPrivate(alice.client, bob.id);
      const seen = collect(bob.socket, 'chat');
      for (const type of ['call', 'system'] as const) {
        await expectFailure(alice.client.emit('chat', { conversationId, type, content: 'spoofed', clientMsgId: newClientMsgId() }), 'FORBIDDEN');
        await expectFailure(postMessage(alice.client, conversationId, { type, content: 'spoofed' }), 'FORBIDDEN', 403);
      }
      const raw = await alice.client.emitRaw('chat', { conversationId, type: 'sticker', content: 'x', clientMsgId: newClientMsgId() } as never);
      expect(raw).toMatchObject({ ok: false, error: { code: 'VALIDATION_FAILED' } });
      await expectFailure(postMessage(alice.client, conversationId, { type: 'sticker' as never, content: 'x' }), 'VALIDATION_FAILED', 400);
      await barrier(bob.socket);
      expect(seen).toHaveLength(0);
      expect((await history(bob.client, conversationId)).items).toHaveLength(0);
    });

    it('round-trips emoji sequences, CJK, RTL and combining marks byte for byte, in history and in delivered events', async () => {
      const alice = await crowd.user();
      const bob = await crowd.user();
      const conversationId = await openPrivate(alice.client, bob.id);
      const samples: Array<[type: 'text' | 'emoji', content: string]> = [
        ['emoji', '👨‍👩‍👧‍👦'],
        ['emoji', '👍🏽'],
        ['emoji', '🇨🇳🇺🇸'],
        ['emoji', '1️⃣'],
        ['text', '你好，世界'],
        ['text', 'שלום עולם مرحبا'],
        ['text', 'caf\u0065\u0301'],
        ['text', 'Mixed: 你好 👋🏻 שלום, café 1️⃣ 🇯🇵 — “quotes” & <tags> \u200f'],
      ];
      const sent: Message[] = [];
      for (const [index, [type, content]] of samples.entries()) {
        const delivered = nextEvent(bob.socket, 'chat', (m) => m.clientMsgId === `u-${index}`);
        const stored =
          index % 2 === 0
            ? await alice.client.emit('chat', { conversationId, type, content, clientMsgId: `u-${index}` })
            : await postMessage(alice.client, conversationId, { type, content, clientMsgId: `u-${index}` });
        expect(bytes(stored.content)).toBe(bytes(content));
        expect(bytes((await delivered).content)).toBe(bytes(content));
        sent.push(stored);
      }
      const stored = (await history(bob.client, conversationId)).items.reverse();
      expect(stored.map((m) => bytes(m.content))).toEqual(samples.map(([, content]) => bytes(content)));
      expect(stored.map((m) => m.id)).toEqual(sent.map((m) => m.id));
      // The combining sequence is stored as sent, not normalised to a precomposed "é".
      expect(stored[6]?.content).toHaveLength(5);
    });
  });

  describe('limits and permissions', () => {
    it('accepts content of exactly 10,000 characters, counting each emoji as one', async () => {
      const alice = await crowd.user();
      const bob = await crowd.user();
      const conversationId = await openPrivate(alice.client, bob.id);
      const letters = 'a'.repeat(10_000);
      const emoji = '😀'.repeat(10_000);
      expect((await alice.client.emit('chat', { conversationId, type: 'text', content: letters, clientMsgId: newClientMsgId() })).content).toBe(letters);
      const delivered = nextEvent(bob.socket, 'chat');
      expect((await postMessage(alice.client, conversationId, { type: 'text', content: emoji })).content).toBe(emoji);
      expect((await delivered).content).toBe(emoji);
      const [newest, older] = (await history(bob.client, conversationId)).items;
      expect(newest?.content).toBe(emoji);
      expect(older?.content).toBe(letters);
    });

    it('refuses 10,001 characters with PAYLOAD_TOO_LARGE, in the socket ack and as REST 413', async () => {
      const alice = await crowd.user();
      const bob = await crowd.user();
      const conversationId = await openPrivate(alice.client, bob.id);
      await expectFailure(alice.client.emit('chat', { conversationId, type: 'text', content: 'a'.repeat(10_001), clientMsgId: newClientMsgId() }), 'PAYLOAD_TOO_LARGE');
      await expectFailure(alice.client.emit('chat', { conversationId, type: 'emoji', content: '😀'.repeat(10_001), clientMsgId: newClientMsgId() }), 'PAYLOAD_TOO_LARGE');
      await expectFailure(postMessage(alice.client, conversationId, { type: 'text', content: 'a'.repeat(10_001) }), 'PAYLOAD_TOO_LARGE', 413);
      await expectFailure(postMessage(alice.client, conversationId, { type: 'text', content: '😀'.repeat(10_001) }), 'PAYLOAD_TOO_LARGE', 413);
      expect((await history(bob.client, conversationId)).items).toHaveLength(0);
    });

    it('refuses messages between two users when either has blocked the other, and allows them again after unblocking', async () => {
      const alice = await crowd.user();
      const bob = await crowd.user();
      const conversationId = await openPrivate(alice.client, bob.id);
      const bobSees = collect(bob.socket, 'chat');
      await alice.client.request('POST', '/blocks', { userId: bob.id });
      await expectFailure(sendText(alice.client, conversationId, 'blocker writes'), 'FORBIDDEN');
      await expectFailure(postMessage(bob.client, conversationId, { type: 'text', content: 'blocked writes' }), 'FORBIDDEN', 403);
      await expectFailure(sendText(bob.client, conversationId, 'blocked writes'), 'FORBIDDEN');
      await alice.client.request('DELETE', `/blocks/${bob.id}`);

      await bob.client.request('POST', '/blocks', { userId: alice.id });
      await expectFailure(sendText(alice.client, conversationId, 'to my blocker'), 'FORBIDDEN');
      await expectFailure(postMessage(bob.client, conversationId, { type: 'text', content: 'to whom I blocked' }), 'FORBIDDEN', 403);
      await barrier(bob.socket);
      expect(bobSees).toHaveLength(0);
      expect((await history(alice.client, conversationId)).items).toHaveLength(0);

      await bob.client.request('DELETE', `/blocks/${alice.id}`);
      const arrived = nextEvent(bob.socket, 'chat');
      await sendText(alice.client, conversationId, 'friends again?');
      expect((await arrived).content).toBe('friends again?');
    });

    it('lets a user accept messages from friends only: strangers get FORBIDDEN, friends get through', async () => {
      const picky = await crowd.user();
      const stranger = await crowd.user();
      const friend = await crowd.user();
      await picky.client.request('PATCH', '/users/me', { allowMessagesFrom: 'friends' });
      const request = await friend.client.request<{ id: string }>('POST', '/friend-requests', { toUserId: picky.id });
      await picky.client.request('POST', `/friend-requests/${request.id}/accept`);

      const withStranger = await openPrivate(stranger.client, picky.id);
      await expectFailure(sendText(stranger.client, withStranger, 'hi?'), 'FORBIDDEN');
      await expectFailure(postMessage(stranger.client, withStranger, { type: 'text', content: 'hi?' }), 'FORBIDDEN', 403);
      // The picky user may still write first.
      await sendText(picky.client, withStranger, 'I may write to you');

      const withFriend = await openPrivate(friend.client, picky.id);
      const arrived = nextEvent(picky.socket, 'chat', (m) => m.conversationId === withFriend);
      const sent = await sendText(friend.client, withFriend, 'hello friend');
      expect((await arrived).id).toBe(sent.id);
    });

    it('answers non-members NOT_FOUND for everything in a conversation, exactly as for a conversation that does not exist', async () => {
      const alice = await crowd.user();
      const bob = await crowd.user();
      const eve = await crowd.user();
      const direct = await openPrivate(alice.client, bob.id);
      const group = await createGroup(alice.client, [bob]);
      const inDirect = await sendText(alice.client, direct, 'private words');
      const inGroup = await sendText(alice.client, group.conversationId, 'group words');
      const [low, high] = [randomUUID(), randomUUID()].sort();
      const missingConversations = [`d.${low}.${high}`, `g.${randomUUID()}`, 'nonsense'];
      const missingMessageId = String(BigInt(inGroup.id) + 1_000_000n);
      const eveSees = [collect(eve.socket, 'chat'), collect(eve.socket, 'message_updated')];

      async function answers(conversationId: string, messageId: string): Promise<string[]> {
        const outcomes = await Promise.all([
          expectFailure(history(eve.client, conversationId), 'NOT_FOUND', 404),
          expectFailure(history(eve.client, conversationId, `?after=${messageId}`), 'NOT_FOUND', 404),
          expectFailure(postMessage(eve.client, conversationId, { type: 'text', content: 'let me in' }), 'NOT_FOUND', 404),
          expectFailure(sendText(eve.client, conversationId, 'let me in'), 'NOT_FOUND'),
          expectFailure(eve.client.request('POST', `/conversations/${encodeURIComponent(conversationId)}/read`, { messageId }), 'NOT_FOUND', 404),
          expectFailure(eve.client.emit('read', { conversationId, messageId }), 'NOT_FOUND'),
          expectFailure(eve.client.emit('typing', { conversationId, typing: true }), 'NOT_FOUND'),
          expectFailure(eve.client.request('GET', `/messages/search?q=words&conversationId=${encodeURIComponent(conversationId)}`), 'NOT_FOUND', 404),
          expectFailure(eve.client.request('GET', `/conversations/${encodeURIComponent(conversationId)}`), 'NOT_FOUND', 404),
        ]);
        return outcomes.map((error) => error.message);
      }
      async function messageAnswers(messageId: string): Promise<string[]> {
        const outcomes = await Promise.all([
          expectFailure(eve.client.request('PUT', `/messages/${messageId}/reactions/${encodeURIComponent('👍')}`), 'NOT_FOUND', 404),
          expectFailure(eve.client.request('DELETE', `/messages/${messageId}/reactions/${encodeURIComponent('👍')}`), 'NOT_FOUND', 404),
          expectFailure(eve.client.request('PATCH', `/messages/${messageId}`, { content: 'mine now' }), 'NOT_FOUND', 404),
          expectFailure(eve.client.request('DELETE', `/messages/${messageId}`), 'NOT_FOUND', 404),
        ]);
        return outcomes.map((error) => error.message);
      }

      const reference = await answers(missingConversations[0] as string, missingMessageId);
      for (const conversationId of missingConversations.slice(1)) expect(await answers(conversationId, missingMessageId)).toEqual(reference);
      expect(await answers(direct, inDirect.id)).toEqual(reference);
      expect(await answers(group.conversationId, inGroup.id)).toEqual(reference);

      const messageReference = await messageAnswers(missingMessageId);
      expect(await messageAnswers(inDirect.id)).toEqual(messageReference);
      expect(await messageAnswers(inGroup.id)).toEqual(messageReference);

      await barrier(eve.socket);
      expect(eveSees.flat()).toHaveLength(0);
      expect((await history(alice.client, direct)).items.map((m) => m.content)).toEqual(['private words']);
      expect((await history(alice.client, group.conversationId)).items.filter((m) => m.type !== 'system')).toEqual([inGroup]);
    });
  });
});

describe(`messaging: send rate limit (${storageLabel})`, () => {
  const suite = useTestServer({ SEND_RATE_LIMIT_MAX: '5' });
  const crowd = people(() => suite.server.url);
  afterEach(() => crowd.closeAll());

  it('refuses the sixth send within the window with RATE_LIMITED, over the socket and as REST 429 with Retry-After', async () => {
    const alice = await crowd.user();
    const bob = await crowd.user();
    const conversationId = await openPrivate(alice.client, bob.id);
    const bobSees = collect(bob.socket, 'chat');
    const accepted: Message[] = [];
    for (let i = 0; i < 5; i++) {
      accepted.push(
        i % 2 === 0
          ? await sendText(alice.client, conversationId, `m${i}`, `rl-${i}`)
          : await postMessage(alice.client, conversationId, { type: 'text', content: `m${i}`, clientMsgId: `rl-${i}` }),
      );
    }
    await expectFailure(sendText(alice.client, conversationId, 'one too many'), 'RATE_LIMITED');
    const api = apiClient(suite.server.url);
    const rest = await api('POST', `/conversations/${conversationId}/messages`, {
      token: alice.client.accessToken,
      body: { type: 'text', content: 'still too many', clientMsgId: newClientMsgId() },
    });
    expectError(rest, 429, 'RATE_LIMITED');
    expect(Number(rest.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);

    // A retry of a message already stored is answered, not counted against the limit.
    expect(await sendText(alice.client, conversationId, 'm0', 'rl-0')).toEqual(accepted[0]);
    // The limit is per sender: Bob can still write.
    await sendText(bob.client, conversationId, 'I am fine');

    await barrier(bob.socket);
    expect(bobSees.map((m) => m.id)).toEqual(accepted.map((m) => m.id));
    expect((await history(bob.client, conversationId)).items).toHaveLength(6);
  });
});
