import { randomUUID } from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import type { Message, SyncResult } from '../src/client/index.js';
import { uploadFile } from './support/files.js';
import { byId, conversations, createGroup, expectFailure, history, openPrivate, type Page, people, postMessage, sendText } from './support/messaging.js';
import { barrier, collect, nextEvent } from './support/realtime.js';
import { storageLabel } from './support/server.js';
import { useTestServer } from './support/suite.js';

const enc = encodeURIComponent;

describe(`messaging: replies, edits, recalls, reactions, typing, reads, history, sync and search (${storageLabel})`, () => {
  const suite = useTestServer();
  const crowd = people(() => suite.server.url);
  afterEach(() => crowd.closeAll());

  /** Two connected users with their private conversation. */
  async function pair() {
    const alice = await crowd.user();
    const bob = await crowd.user();
    const conversationId = await openPrivate(alice.client, bob.id);
    return { alice, bob, conversationId };
  }

  function search(client: { request: <T>(m: string, p: string) => Promise<T> }, q: string, conversationId?: string): Promise<Page<Message>> {
    return client.request<Page<Message>>('GET', `/messages/search?q=${enc(q)}${conversationId ? `&conversationId=${enc(conversationId)}` : ''}`);
  }

  describe('replies', () => {
    it('stores replyToId for a reply to a message of the same conversation, and refuses one to another conversation with 400', async () => {
      const { alice, bob, conversationId } = await pair();
      const original = await sendText(alice.client, conversationId, 'what time?');
      const delivered = nextEvent(alice.socket, 'chat');
      const reply = await bob.client.emit('chat', { conversationId, type: 'text', content: 'at noon', clientMsgId: randomUUID(), replyToId: original.id });
      expect(reply.replyToId).toBe(original.id);
      expect((await delivered).replyToId).toBe(original.id);
      const viaRest = await postMessage(bob.client, conversationId, { type: 'emoji', content: '👌', replyToId: original.id });
      expect(viaRest.replyToId).toBe(original.id);
      expect((await history(alice.client, conversationId)).items.map((m) => m.replyToId)).toEqual([original.id, original.id, null]);

      const elsewhere = await openPrivate(bob.client, (await crowd.user()).id);
      const foreign = await sendText(bob.client, elsewhere, 'other chat');
      await expectFailure(bob.client.emit('chat', { conversationId, type: 'text', content: 'x', clientMsgId: randomUUID(), replyToId: foreign.id }), 'VALIDATION_FAILED');
      await expectFailure(postMessage(bob.client, conversationId, { type: 'text', content: 'x', replyToId: foreign.id }), 'VALIDATION_FAILED', 400);
      await expectFailure(postMessage(bob.client, conversationId, { type: 'text', content: 'x', replyToId: '99999999999' }), 'VALIDATION_FAILED', 400);
      await expectFailure(postMessage(bob.client, conversationId, { type: 'text', content: 'x', replyToId: 'abc' }), 'VALIDATION_FAILED', 400);
      expect((await history(alice.client, conversationId)).items).toHaveLength(3);
    });
  });

  describe('editing', () => {
    it('edits the caller’s own text message and tells every member’s devices with editedAt', async () => {
      const { alice, bob, conversationId } = await pair();
      const aliceTablet = await crowd.device(alice);
      const original = await sendText(alice.client, conversationId, 'helo wrold');
      const updates = [alice.socket, aliceTablet.socket, bob.socket].map((socket) => nextEvent(socket, 'message_updated', (e) => e.message.id === original.id));
      const edited = await alice.client.request<Message>('PATCH', `/messages/${original.id}`, { content: 'hello world ✍️' });
      expect(edited).toMatchObject({ id: original.id, content: 'hello world ✍️', createdAt: original.createdAt, recalledAt: null });
      expect(edited.editedAt).toEqual(expect.any(String));
      for (const update of await Promise.all(updates)) expect(update.message).toEqual(edited);
      expect((await history(bob.client, conversationId)).items).toEqual([edited]);
    });

    it('refuses to edit someone else’s message (403), a recalled one (409), a non-text one (403) or to make it too long (413)', async () => {
      const { alice, bob, conversationId } = await pair();
      const mine = await sendText(alice.client, conversationId, 'mine');
      await expectFailure(bob.client.request('PATCH', `/messages/${mine.id}`, { content: 'hijacked' }), 'FORBIDDEN', 403);
      await expectFailure(alice.client.request('PATCH', `/messages/${mine.id}`, { content: 'x'.repeat(10_001) }), 'PAYLOAD_TOO_LARGE', 413);
      await expectFailure(alice.client.request('PATCH', `/messages/${mine.id}`, { content: '' }), 'VALIDATION_FAILED', 400);
      const emoji = await postMessage(alice.client, conversationId, { type: 'emoji', content: '🎈' });
      await expectFailure(alice.client.request('PATCH', `/messages/${emoji.id}`, { content: '🎉' }), 'FORBIDDEN', 403);
      const image = await postMessage(alice.client, conversationId, { type: 'image', content: '', attachments: [{ fileId: await uploadFile(alice.client, 'img.bin') }] });
      await expectFailure(alice.client.request('PATCH', `/messages/${image.id}`, { content: 'caption' }), 'FORBIDDEN', 403);
      await alice.client.request('DELETE', `/messages/${mine.id}`);
      await expectFailure(alice.client.request('PATCH', `/messages/${mine.id}`, { content: 'too late' }), 'CONFLICT', 409);
      await expectFailure(alice.client.request('PATCH', '/messages/abc', { content: 'x' }), 'VALIDATION_FAILED', 400);
      const stored = (await history(bob.client, conversationId)).items;
      expect(stored.map((m) => m.editedAt)).toEqual([null, null, null]);
    });
  });

  describe('recalling', () => {
    it('recalls the caller’s own message: members get message_updated with recalledAt; history and search no longer serve its content or attachments', async () => {
      const { alice, bob, conversationId } = await pair();
      const aliceTablet = await crowd.device(alice);
      const secretFile = await uploadFile(alice.client, 'file-secret.png');
      const secret = await postMessage(alice.client, conversationId, { type: 'image', content: 'quokka-secret-caption', attachments: [{ fileId: secretFile, filename: 'x.png' }] });
      const text = await sendText(alice.client, conversationId, 'quokka-secret text');
      await bob.client.request('PUT', `/messages/${text.id}/reactions/${enc('😮')}`);
      expect((await search(bob.client, 'quokka-secret')).items.map((m) => m.id)).toEqual([text.id, secret.id]);

      for (const message of [secret, text]) {
        const updates = [alice.socket, aliceTablet.socket, bob.socket].map((socket) => nextEvent(socket, 'message_updated', (e) => e.message.id === message.id));
        const recalled = await alice.client.request<Message>('DELETE', `/messages/${message.id}`);
        expect(recalled).toMatchObject({ id: message.id, content: '', attachments: [], reactions: [], recalledAt: expect.any(String) });
        for (const update of await Promise.all(updates)) expect(update.message).toEqual(recalled);
      }
      const stored = (await history(bob.client, conversationId)).items;
      expect(stored.map((m) => [m.id, m.content, m.attachments, m.reactions, m.recalledAt === null])).toEqual([
        [text.id, '', [], [], false],
        [secret.id, '', [], [], false],
      ]);
      expect(JSON.stringify(stored)).not.toContain('quokka');
      expect(JSON.stringify(stored)).not.toContain('file-secret');
      expect(JSON.stringify(stored)).not.toContain(secretFile);
      expect((await search(bob.client, 'quokka-secret')).items).toEqual([]);
      expect((await search(alice.client, 'quokka-secret', conversationId)).items).toEqual([]);
      // The conversation list does not leak it either.
      const listed = (await conversations(bob.client)).find((c) => c.id === conversationId);
      expect(listed?.lastMessage).toMatchObject({ id: text.id, content: '', recalledAt: expect.any(String) });
      expect(listed?.unreadCount).toBe(0);
    });

    it('refuses to recall twice (409) or to recall someone else’s message (403)', async () => {
      const { alice, bob, conversationId } = await pair();
      const message = await sendText(alice.client, conversationId, 'oops');
      await expectFailure(bob.client.request('DELETE', `/messages/${message.id}`), 'FORBIDDEN', 403);
      await alice.client.request('DELETE', `/messages/${message.id}`);
      const updates = collect(bob.socket, 'message_updated');
      await expectFailure(alice.client.request('DELETE', `/messages/${message.id}`), 'CONFLICT', 409);
      await expectFailure(alice.client.request('PUT', `/messages/${message.id}/reactions/${enc('👍')}`), 'CONFLICT', 409);
      await barrier(bob.socket);
      expect(updates).toHaveLength(0);
    });
  });

  describe('reactions', () => {
    it('adds reactions with any emoji, counts each user once per emoji, tells the members, and removes them', async () => {
      const { alice, bob, conversationId } = await pair();
      const message = await sendText(bob.client, conversationId, 'react to me');
      const atBob = collect(bob.socket, 'message_updated');
      const atAlice = collect(alice.socket, 'message_updated');

      const heart = '❤️';
      const thumb = '👍🏾';
      const rainbow = '🏳️‍🌈';
      let result = await alice.client.request<Message>('PUT', `/messages/${message.id}/reactions/${enc(heart)}`);
      expect(result.reactions).toEqual([{ emoji: heart, count: 1, userIds: [alice.id] }]);
      await alice.client.request('PUT', `/messages/${message.id}/reactions/${enc(thumb)}`);
      await bob.client.request('PUT', `/messages/${message.id}/reactions/${enc(heart)}`);
      result = await bob.client.request<Message>('PUT', `/messages/${message.id}/reactions/${enc(rainbow)}`);
      expect(result.reactions).toEqual(
        expect.arrayContaining([
          { emoji: heart, count: 2, userIds: expect.arrayContaining([alice.id, bob.id]) },
          { emoji: thumb, count: 1, userIds: [alice.id] },
          { emoji: rainbow, count: 1, userIds: [bob.id] },
        ]),
      );
      expect(result.reactions).toHaveLength(3);

      // The same reaction again counts once and tells nobody.
      await Promise.all([barrier(bob.socket), barrier(alice.socket)]);
      const before = atBob.length;
      const twice = await alice.client.request<Message>('PUT', `/messages/${message.id}/reactions/${enc(heart)}`);
      expect(twice.reactions.find((r) => r.emoji === heart)?.count).toBe(2);
      await Promise.all([barrier(bob.socket), barrier(alice.socket)]);
      expect(atBob).toHaveLength(before);
      expect(before).toBe(4);
      expect(atAlice).toHaveLength(4);
      expect(atBob.at(-1)?.message).toEqual(result);

      const removed = nextEvent(bob.socket, 'message_updated');
      result = await alice.client.request<Message>('DELETE', `/messages/${message.id}/reactions/${enc(heart)}`);
      expect(result.reactions.find((r) => r.emoji === heart)).toEqual({ emoji: heart, count: 1, userIds: [bob.id] });
      expect((await removed).message).toEqual(result);
      await expectFailure(alice.client.request('DELETE', `/messages/${message.id}/reactions/${enc(heart)}`), 'NOT_FOUND', 404);
      await expectFailure(alice.client.request('DELETE', `/messages/${message.id}/reactions/${enc('🐙')}`), 'NOT_FOUND', 404);

      const stored = (await history(alice.client, conversationId)).items[0];
      expect(stored?.reactions).toEqual(result.reactions);
    });

    it('refuses reactions that are not emoji with 400', async () => {
      const { alice, bob, conversationId } = await pair();
      const message = await sendText(bob.client, conversationId, 'react to me');
      for (const notEmoji of ['abc', '1', ' ', '👍 👍', '\u0007👍']) {
        await expectFailure(alice.client.request('PUT', `/messages/${message.id}/reactions/${enc(notEmoji)}`), 'VALIDATION_FAILED', 400);
      }
      expect((await history(alice.client, conversationId)).items[0]?.reactions).toEqual([]);
    });
  });

  describe('typing', () => {
    it('relays typing to the other members only, and never stores it', async () => {
      const alice = await crowd.user();
      const bob = await crowd.user();
      const carol = await crowd.user();
      const aliceTablet = await crowd.device(alice);
      const group = await createGroup(alice.client, [bob, carol]);
      const direct = await openPrivate(alice.client, bob.id);
      await sendText(bob.client, group.conversationId, 'before typing');
      const historyBefore = await history(carol.client, group.conversationId);
      const ownEchoes = [collect(alice.socket, 'typing'), collect(aliceTablet.socket, 'typing')];

      const toOthers = [bob.socket, carol.socket].map((socket) => nextEvent(socket, 'typing'));
      expect(await alice.client.emit('typing', { conversationId: group.conversationId, typing: true })).toBeNull();
      for (const event of await Promise.all(toOthers)) expect(event).toEqual({ conversationId: group.conversationId, userId: alice.id, typing: true });

      const stopped = nextEvent(bob.socket, 'typing', (e) => e.conversationId === direct);
      const carolSees = collect(carol.socket, 'typing');
      await aliceTablet.emit('typing', { conversationId: direct, typing: false });
      expect(await stopped).toEqual({ conversationId: direct, userId: alice.id, typing: false });

      await expectFailure(alice.client.emit('typing', { conversationId: direct, typing: 'yes' as never }), 'VALIDATION_FAILED');
      await Promise.all([barrier(alice.socket), barrier(aliceTablet.socket), barrier(carol.socket)]);
      expect(ownEchoes.flat()).toHaveLength(0);
      expect(carolSees).toHaveLength(0);
      expect(await history(carol.client, group.conversationId)).toEqual(historyBefore);
      expect((await history(bob.client, direct)).items).toEqual([]);
    });
  });

  describe('read receipts', () => {
    it('relays reads by socket and REST as {conversationId, userId, messageId} and moves the unread count', async () => {
      const { alice, bob, conversationId } = await pair();
      const bobTablet = await crowd.device(bob);
      const sent: Message[] = [];
      for (const content of ['one', 'two', 'three']) sent.push(await sendText(alice.client, conversationId, content));
      const unread = async () => (await conversations(bob.client)).find((c) => c.id === conversationId)?.unreadCount;
      expect(await unread()).toBe(3);

      const atAlice = nextEvent(alice.socket, 'read');
      const atTablet = nextEvent(bobTablet.socket, 'read');
      const echo = collect(bob.socket, 'read');
      expect(await bob.client.emit('read', { conversationId, messageId: sent[1]!.id })).toBeNull();
      const expected = { conversationId, userId: bob.id, messageId: sent[1]!.id };
      expect(await atAlice).toEqual(expected);
      expect(await atTablet).toEqual(expected);
      expect(await unread()).toBe(1);

      // Reading an older message does not move the position back.
      await bob.client.request('POST', `/conversations/${enc(conversationId)}/read`, { messageId: sent[0]!.id });
      expect(await unread()).toBe(1);

      const restRead = nextEvent(alice.socket, 'read', (e) => e.messageId === sent[2]!.id);
      await bob.client.request('POST', `/conversations/${enc(conversationId)}/read`, { messageId: sent[2]!.id });
      expect(await restRead).toEqual({ conversationId, userId: bob.id, messageId: sent[2]!.id });
      expect(await unread()).toBe(0);
      await barrier(bob.socket);
      // REST reads reach every device of the reader; the socket read was not echoed to the socket that
      // sent it, and the backward read moved nothing, so it told nobody.
      expect(echo.map((e) => e.messageId)).toEqual([sent[2]!.id]);
    });

    it('takes a first read from several devices and REST at the same moment: all acknowledged, the furthest wins', async () => {
      const { alice, bob, conversationId } = await pair();
      const [tablet, laptop] = [await crowd.device(bob), await crowd.device(bob)];
      const sent: Message[] = [];
      for (const content of ['one', 'two', 'three', 'four']) sent.push(await sendText(alice.client, conversationId, content));
      // No read position exists yet: every one of these is a "first read" racing to create it.
      const results = await Promise.all([
        bob.client.emit('read', { conversationId, messageId: sent[1]!.id }),
        tablet.emit('read', { conversationId, messageId: sent[3]!.id }),
        laptop.emit('read', { conversationId, messageId: sent[2]!.id }),
        bob.client.request('POST', `/conversations/${enc(conversationId)}/read`, { messageId: sent[0]!.id }).then(() => null),
      ]);
      expect(results).toEqual([null, null, null, null]);
      expect((await conversations(bob.client)).find((c) => c.id === conversationId)?.unreadCount).toBe(0);
    });

    it('answers 404 for reading a message of another conversation, or one that does not exist', async () => {
      const { alice, bob, conversationId } = await pair();
      const elsewhere = await openPrivate(bob.client, (await crowd.user()).id);
      const foreign = await sendText(bob.client, elsewhere, 'not here');
      await sendText(alice.client, conversationId, 'here');
      await expectFailure(bob.client.emit('read', { conversationId, messageId: foreign.id }), 'NOT_FOUND');
      await expectFailure(bob.client.request('POST', `/conversations/${enc(conversationId)}/read`, { messageId: foreign.id }), 'NOT_FOUND', 404);
      await expectFailure(bob.client.request('POST', `/conversations/${enc(conversationId)}/read`, { messageId: '99999999999' }), 'NOT_FOUND', 404);
      await expectFailure(bob.client.request('POST', `/conversations/${enc(conversationId)}/read`, { messageId: 'abc' }), 'VALIDATION_FAILED', 400);
      expect((await conversations(bob.client)).find((c) => c.id === conversationId)?.unreadCount).toBe(1);
    });
  });

  describe('unread counts', () => {
    const unreadOf = async (client: Parameters<typeof conversations>[0], conversationId: string) => (await conversations(client)).find((c) => c.id === conversationId)?.unreadCount;

    it('counts up to 100 ("99+") and exactly below; recalling an unread message takes it off, recalling a read one or editing changes nothing', async () => {
      const { alice, bob, conversationId } = await pair();
      const sent: Message[] = [];
      for (let i = 0; i < 105; i++) sent.push(await sendText(alice.client, conversationId, `#${i}`));
      await sendText(bob.client, conversationId, 'my own message is never unread for me');
      expect(await unreadOf(bob.client, conversationId)).toBe(100);
      expect((await bob.client.request<{ unreadCount: number }>('GET', `/conversations/${enc(conversationId)}`)).unreadCount).toBe(100);

      await bob.client.request('POST', `/conversations/${enc(conversationId)}/read`, { messageId: sent[5]!.id });
      expect(await unreadOf(bob.client, conversationId)).toBe(99);

      await alice.client.request('DELETE', `/messages/${sent[50]!.id}`);
      expect(await unreadOf(bob.client, conversationId)).toBe(98);
      await alice.client.request('DELETE', `/messages/${sent[2]!.id}`);
      await alice.client.request('PATCH', `/messages/${sent[60]!.id}`, { content: 'edited, still unread' });
      expect(await unreadOf(bob.client, conversationId)).toBe(98);
      // The sender's own view: Bob's one message.
      expect(await unreadOf(alice.client, conversationId)).toBe(1);
    });

    it('counts a late joiner’s unread from the group’s history until they read, then only what comes after', async () => {
      const { alice, bob } = await pair();
      const group = await createGroup(alice.client, [bob]);
      const before = [await sendText(alice.client, group.conversationId, 'before carol'), await sendText(bob.client, group.conversationId, 'also before')];
      const carol = await crowd.user();
      const added = await alice.client.request<{ invited: Array<{ id: string; inviteeId: string }> }>('POST', `/groups/${group.id}/members`, { userIds: [carol.id] });
      for (const invitation of added.invited) await carol.client.request('POST', `/group-invitations/${invitation.id}/accept`);
      expect(await unreadOf(carol.client, group.conversationId)).toBe(2);

      await carol.client.emit('read', { conversationId: group.conversationId, messageId: before[1]!.id });
      expect(await unreadOf(carol.client, group.conversationId)).toBe(0);
      await sendText(bob.client, group.conversationId, 'welcome carol');
      expect(await unreadOf(carol.client, group.conversationId)).toBe(1);
      expect(await unreadOf(alice.client, group.conversationId)).toBe(2);
    });

    it('follows the furthest read of two devices, whichever order they read in', async () => {
      const { alice, bob, conversationId } = await pair();
      const tablet = await crowd.device(bob);
      const sent: Message[] = [];
      for (let i = 0; i < 6; i++) sent.push(await sendText(alice.client, conversationId, `#${i}`));
      expect(await tablet.emit('read', { conversationId, messageId: sent[4]!.id })).toBeNull();
      expect(await bob.client.emit('read', { conversationId, messageId: sent[1]!.id })).toBeNull();
      expect(await unreadOf(bob.client, conversationId)).toBe(1);
      expect(await unreadOf(tablet, conversationId)).toBe(1);
      await sendText(alice.client, conversationId, 'one more');
      expect(await unreadOf(tablet, conversationId)).toBe(2);
      expect(await bob.client.emit('read', { conversationId, messageId: sent[5]!.id })).toBeNull();
      expect(await unreadOf(tablet, conversationId)).toBe(1);
    });
  });

  describe('history', () => {
    async function twentyFive() {
      const { alice, bob, conversationId } = await pair();
      const sent: Message[] = [];
      for (let i = 0; i < 25; i++)
        sent.push(i % 2 ? await postMessage(bob.client, conversationId, { type: 'text', content: `#${i}` }) : await sendText(alice.client, conversationId, `#${i}`));
      return { alice, bob, conversationId, sent };
    }

    it('pages newest first with cursor=nextCursor, covering all 25 messages exactly once', async () => {
      const { alice, conversationId, sent } = await twentyFive();
      const seen: Message[] = [];
      const sizes: number[] = [];
      let cursor: string | null = null;
      do {
        const page: Page<Message> = await history(alice.client, conversationId, `?limit=10${cursor ? `&cursor=${cursor}` : ''}`);
        sizes.push(page.items.length);
        seen.push(...page.items);
        cursor = page.nextCursor;
      } while (cursor !== null && sizes.length < 10);
      expect(sizes).toEqual([10, 10, 5]);
      expect(seen.map((m) => m.id)).toEqual(
        [...sent]
          .sort(byId)
          .reverse()
          .map((m) => m.id),
      );
      expect(seen.map((m) => m.content)).toEqual(sent.map((m) => m.content).reverse());
    });

    it('pages forward oldest first from after=, going on with cursor=nextCursor', async () => {
      const { alice, conversationId, sent } = await twentyFive();
      const seen: Message[] = [];
      let query = '?limit=10&after=0';
      for (let guard = 0; guard < 10; guard++) {
        const page: Page<Message> = await history(alice.client, conversationId, query);
        seen.push(...page.items);
        if (page.nextCursor === null) break;
        query = `?limit=10&cursor=${page.nextCursor}`;
      }
      expect(seen.map((m) => m.id)).toEqual(sent.map((m) => m.id));
      // Catch-up from the middle: only what came after.
      const tail = await history(alice.client, conversationId, `?after=${sent[19]!.id}`);
      expect(tail.items.map((m) => m.content)).toEqual(['#20', '#21', '#22', '#23', '#24']);
      expect(tail.nextCursor).toBeNull();
    });

    it('refuses garbage cursors and limits with 400', async () => {
      const { alice, conversationId } = await pair();
      await sendText(alice.client, conversationId, 'x');
      for (const query of [
        '?before=garbage',
        '?after=-1',
        '?before=1.5',
        '?after=%F0%9F%98%80',
        '?before=1&after=2',
        '?limit=0',
        '?limit=201',
        '?limit=ten',
        '?cursor=garbage',
        '?cursor=1',
        '?cursor=eyJiZWZvcmUiOjF9&before=1',
        '?cursor=eyJiZWZvcmUiOjF9&after=1',
      ]) {
        await expectFailure(history(alice.client, conversationId, query), 'VALIDATION_FAILED', 400);
      }
    });
  });

  describe('sync', () => {
    it('returns what was missed during a disconnect, oldest first, none twice, and nothing for conversations the caller is not in', async () => {
      const alice = await crowd.user();
      const bob = await crowd.user();
      const carol = await crowd.user();
      const dave = await crowd.user();
      const direct = await openPrivate(alice.client, bob.id);
      const group = await createGroup(alice.client, [bob, carol]);
      const theirs = await openPrivate(carol.client, dave.id);
      const seen = await sendText(alice.client, direct, 'seen before the drop');
      await sendText(carol.client, theirs, 'not for bob');

      bob.client.disconnect();
      const missedDirect = [await sendText(alice.client, direct, 'missed 1'), await postMessage(alice.client, direct, { type: 'emoji', content: '📵' })];
      const missedGroup = [await sendText(carol.client, group.conversationId, 'group missed 1'), await sendText(alice.client, group.conversationId, 'group missed 2')];
      await sendText(carol.client, theirs, 'still not for bob');

      const socket = await bob.client.connect();
      const since = { [direct]: seen.id, [group.conversationId]: '0', [theirs]: '0', [`g.${randomUUID()}`]: '0' };
      const result: SyncResult = await bob.client.emit('sync', { since });
      expect(Object.keys(result.messages).sort()).toEqual([direct, group.conversationId].sort());
      expect(result.messages[direct]).toEqual(missedDirect);
      // The group's own events (system messages) came before the drop's messages too.
      expect(result.messages[group.conversationId]?.filter((m) => m.type !== 'system')).toEqual(missedGroup);
      expect(result.truncated).toEqual([]);

      // More missed than the limit: the first ones, and the conversation is named as truncated.
      const limited = await bob.client.emit('sync', { since: { [direct]: seen.id }, limit: 1 });
      expect(limited).toEqual({ messages: { [direct]: [missedDirect[0]] }, truncated: [direct] });

      // Syncing again from the newest ids returns nothing twice.
      const again = await bob.client.emit('sync', { since: { [direct]: missedDirect[1]!.id, [group.conversationId]: missedGroup[1]!.id } });
      expect(again.messages).toEqual({ [direct]: [], [group.conversationId]: [] });

      // The reconnected socket is back in its rooms.
      const live = nextEvent(socket, 'chat');
      const after = await sendText(carol.client, group.conversationId, 'live again');
      expect((await live).id).toBe(after.id);
      await expectFailure(bob.client.emit('sync', { since: { [direct]: 'abc' } }), 'VALIDATION_FAILED');
    });
  });

  describe('search', () => {
    it('finds a Chinese word inside a sentence and English words case-insensitively, newest first', async () => {
      const { alice, bob, conversationId } = await pair();
      const chinese = await sendText(alice.client, conversationId, '我们明天去北京开会');
      await sendText(bob.client, conversationId, '我们明天去上海');
      const english = await postMessage(bob.client, conversationId, { type: 'text', content: 'Meeting in BEIJING tomorrow, ok?' });
      const lower = await sendText(alice.client, conversationId, 'beijing it is');
      expect((await search(bob.client, '北京')).items).toEqual([chinese]);
      expect((await search(alice.client, 'Beijing')).items.map((m) => m.id)).toEqual([lower.id, english.id]);
      expect((await search(alice.client, 'meeting IN')).items.map((m) => m.id)).toEqual([english.id]);
      expect((await search(alice.client, '东京')).items).toEqual([]);
    });

    it('searches only the caller’s conversations, filters by conversationId, and answers 404 for one the caller is not in', async () => {
      const { alice, bob, conversationId } = await pair();
      const carol = await crowd.user();
      const group = await createGroup(alice.client, [bob, carol]);
      const dave = await crowd.user();
      const theirs = await openPrivate(carol.client, dave.id);
      const word = `pangolin${randomUUID().slice(0, 6)}`;
      const direct = await sendText(alice.client, conversationId, `a ${word} in private`);
      const inGroup = await sendText(carol.client, group.conversationId, `a ${word} in the group`);
      const foreign = await sendText(carol.client, theirs, `a ${word} between carol and dave`);

      expect((await search(bob.client, word)).items.map((m) => m.id)).toEqual([inGroup.id, direct.id]);
      expect((await search(dave.client, word)).items.map((m) => m.id)).toEqual([foreign.id]);
      expect((await search(carol.client, word)).items.map((m) => m.id)).toEqual([foreign.id, inGroup.id]);
      expect((await search(bob.client, word, conversationId)).items.map((m) => m.id)).toEqual([direct.id]);
      expect((await search(bob.client, word, group.conversationId)).items.map((m) => m.id)).toEqual([inGroup.id]);
      await expectFailure(search(bob.client, word, theirs), 'NOT_FOUND', 404);
      await expectFailure(search(dave.client, word, group.conversationId), 'NOT_FOUND', 404);
      await expectFailure(bob.client.request('GET', '/messages/search?q='), 'VALIDATION_FAILED', 400);
    });

    it('does not find recalled messages, and matches % and _ literally', async () => {
      const { alice, bob, conversationId } = await pair();
      const recalled = await sendText(alice.client, conversationId, 'the walrus plan');
      const kept = await sendText(alice.client, conversationId, 'the walrus stays');
      await alice.client.request('DELETE', `/messages/${recalled.id}`);
      expect((await search(bob.client, 'walrus')).items.map((m) => m.id)).toEqual([kept.id]);

      const percent = await sendText(bob.client, conversationId, 'discount 50% today');
      await sendText(bob.client, conversationId, 'discount 50 percent today');
      const underscore = await sendText(bob.client, conversationId, 'call snake_case_name');
      await sendText(bob.client, conversationId, 'call snakeXcaseXname');
      const bang = await sendText(bob.client, conversationId, 'wow! really');
      const backslash = await sendText(bob.client, conversationId, 'saved to C:\\temp');
      expect((await search(alice.client, '50%')).items.map((m) => m.id)).toEqual([percent.id]);
      expect((await search(alice.client, '%')).items.map((m) => m.id)).toEqual([percent.id]);
      expect((await search(alice.client, 'snake_case')).items.map((m) => m.id)).toEqual([underscore.id]);
      expect((await search(alice.client, '_')).items.map((m) => m.id)).toEqual([underscore.id]);
      expect((await search(alice.client, '!')).items.map((m) => m.id)).toEqual([bang.id]);
      expect((await search(alice.client, '\\')).items.map((m) => m.id)).toEqual([backslash.id]);
    });
  });
});
