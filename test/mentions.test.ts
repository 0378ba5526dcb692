import { afterEach, describe, expect, it } from 'vitest';
import { type Message, type MessageDelivery, rest } from '../src/client/index.js';
import { UNREAD_COUNT_CAP } from '../src/contract/conversations.js';
import { conversations, createGroup, expectFailure, history, openPrivate, people, sendText } from './support/messaging.js';
import { barrier, collect, nextEvent, settle } from './support/realtime.js';
import { storageLabel } from './support/server.js';
import { useTestServer } from './support/suite.js';

describe(`mentions and notification settings (${storageLabel})`, () => {
  const suite = useTestServer();
  const crowd = people(() => suite.server.url);
  afterEach(() => crowd.closeAll());

  const conversation = async (client: Parameters<typeof conversations>[0], id: string) => {
    const found = (await conversations(client)).find((c) => c.id === id);
    if (!found) throw new Error(`conversation ${id} is not listed`);
    return found;
  };

  it('resolves @username of members into mentions: non-members, unknown names and the sender are ignored, and every delivery carries them', async () => {
    const owner = await crowd.user();
    const bob = await crowd.user();
    const carol = await crowd.user();
    const stranger = await crowd.user();
    const group = await createGroup(owner.client, [bob, carol]);
    const onBob = nextEvent(bob.socket, 'chat', (m) => m.content.startsWith('hi'));
    const sent = await sendText(
      owner.client,
      group.conversationId,
      `hi @${bob.username}, @${carol.username.toUpperCase()}. and @${stranger.username} @nobody_here @${owner.username} mail a@${bob.username}`,
    );
    const expected = { userIds: [bob.id, carol.id].sort(), all: false };
    expect(sent.mentions).toEqual(expected);
    expect((await onBob).mentions).toEqual(expected);
    expect((await history(carol.client, group.conversationId)).items[0]).toMatchObject({ id: sent.id, mentions: expected });
    // A message naming nobody who may be mentioned carries no field at all.
    const plain = await sendText(owner.client, group.conversationId, `only @${stranger.username} and @${owner.username}`);
    expect(plain.mentions).toBeUndefined();
  });

  it('resolves mentions in private chats too (the peer only), and sent over REST', async () => {
    const alice = await crowd.user();
    const bob = await crowd.user();
    const conversationId = await openPrivate(alice.client, bob.id);
    const sent = await alice.client.request<Message>('POST', `/conversations/${encodeURIComponent(conversationId)}/messages`, {
      type: 'text',
      content: `@${bob.username} look, @all`,
      clientMsgId: 'rest-mention-1',
    });
    expect(sent.mentions).toEqual({ userIds: [bob.id], all: false });
  });

  it('lets the owner and admins use @all (MENTION_ALL=admins); a member’s @all is plain text, not an error', async () => {
    const owner = await crowd.user();
    const admin = await crowd.user();
    const member = await crowd.user();
    const group = await createGroup(owner.client, [admin, member]);
    await owner.client.request('PATCH', `/groups/${group.id}/members/${admin.id}`, { role: 'admin' });
    expect((await sendText(owner.client, group.conversationId, '@all standup')).mentions).toEqual({ userIds: [], all: true });
    expect((await sendText(admin.client, group.conversationId, `@ALL and @${member.username}`)).mentions).toEqual({ userIds: [member.id], all: true });
    const fromMember = await sendText(member.client, group.conversationId, '@all anyone?');
    expect(fromMember.mentions).toBeUndefined();
    expect(fromMember.content).toBe('@all anyone?');
    // The owner's @all counts for the others, never for the owner.
    expect((await conversation(member.client, group.conversationId)).unreadMentionCount).toBe(2);
    expect((await conversation(owner.client, group.conversationId)).unreadMentionCount).toBe(1);
  });

  it('counts unread mentions beside unread messages and drops them when the reader reads past them', async () => {
    const owner = await crowd.user();
    const bob = await crowd.user();
    const group = await createGroup(owner.client, [bob]);
    const first = await sendText(owner.client, group.conversationId, `@${bob.username} one`);
    await sendText(owner.client, group.conversationId, 'no mention');
    const third = await sendText(owner.client, group.conversationId, `@${bob.username} @${bob.username} twice in one`);
    let view = await conversation(bob.client, group.conversationId);
    expect(view).toMatchObject({ unreadCount: 3, unreadMentionCount: 2 });
    await rest(bob.client).conversations.markRead(group.conversationId, first.id);
    view = await conversation(bob.client, group.conversationId);
    expect(view).toMatchObject({ unreadCount: 2, unreadMentionCount: 1 });
    await rest(bob.client).conversations.markRead(group.conversationId, third.id);
    expect(await conversation(bob.client, group.conversationId)).toMatchObject({ unreadCount: 0, unreadMentionCount: 0 });
    // The writer is never counted as mentioned.
    expect((await conversation(owner.client, group.conversationId)).unreadMentionCount).toBe(0);
  });

  it('caps the unread-mentions count like the unread count', async () => {
    const alice = await crowd.user();
    const bob = await crowd.user();
    const conversationId = await openPrivate(alice.client, bob.id);
    for (let i = 0; i < UNREAD_COUNT_CAP + 2; i++) await sendText(alice.client, conversationId, `@${bob.username} ${i}`);
    expect(await conversation(bob.client, conversationId)).toMatchObject({ unreadCount: UNREAD_COUNT_CAP, unreadMentionCount: UNREAD_COUNT_CAP });
  }, 60_000);

  it('re-resolves mentions on edit (new ones count, removed ones disappear) and drops them on recall', async () => {
    const owner = await crowd.user();
    const bob = await crowd.user();
    const carol = await crowd.user();
    const group = await createGroup(owner.client, [bob, carol]);
    const message = await sendText(owner.client, group.conversationId, `@${bob.username} draft`);
    expect((await conversation(carol.client, group.conversationId)).unreadMentionCount).toBe(0);

    const updatedOnCarol = nextEvent(carol.socket, 'message_updated', (e) => e.message.id === message.id);
    const edited = await rest(owner.client).messages.edit(message.id, `@${carol.username} actually you`);
    expect(edited.mentions).toEqual({ userIds: [carol.id], all: false });
    expect((await updatedOnCarol).message.mentions).toEqual({ userIds: [carol.id], all: false });
    expect((await conversation(carol.client, group.conversationId)).unreadMentionCount).toBe(1);
    expect((await conversation(bob.client, group.conversationId)).unreadMentionCount).toBe(0);

    const plain = await rest(owner.client).messages.edit(message.id, 'nobody now');
    expect(plain.mentions).toBeUndefined();
    expect((await conversation(carol.client, group.conversationId)).unreadMentionCount).toBe(0);

    await rest(owner.client).messages.edit(message.id, `@${bob.username} back`);
    expect((await conversation(bob.client, group.conversationId)).unreadMentionCount).toBe(1);
    const recalled = await rest(owner.client).messages.recall(message.id);
    expect(recalled.mentions).toBeUndefined();
    expect((await conversation(bob.client, group.conversationId)).unreadMentionCount).toBe(0);
    expect((await history(bob.client, group.conversationId)).items.find((m) => m.id === message.id)?.mentions).toBeUndefined();
  });

  it('flags each delivery with notify by the recipient’s level; the sender’s other devices get notify false', async () => {
    const owner = await crowd.user();
    const all = await crowd.user();
    const mentionsOnly = await crowd.user();
    const none = await crowd.user();
    const group = await createGroup(owner.client, [all, mentionsOnly, none]);
    const ownerTablet = await crowd.device(owner);
    expect(await rest(mentionsOnly.client).conversations.setNotifications(group.conversationId, { level: 'mentions' })).toEqual({ level: 'mentions', until: null });
    expect(await rest(none.client).conversations.setNotifications(group.conversationId, { level: 'none' })).toEqual({ level: 'none', until: null });

    const deliveries = async (content: string) => {
      const wait = (socket: typeof all.socket) => nextEvent(socket, 'chat', (m) => m.content === content);
      const heard = Promise.all([wait(all.socket), wait(mentionsOnly.socket), wait(none.socket), wait(ownerTablet.socket)]);
      await sendText(owner.client, group.conversationId, content);
      return (await heard).map((m: MessageDelivery) => m.notify);
    };
    // Muted conversations still deliver; only `notify` differs.
    expect(await deliveries('plain news')).toEqual([true, false, false, false]);
    expect(await deliveries(`@${mentionsOnly.username} and @${none.username}`)).toEqual([true, true, false, false]);
    expect(await deliveries('@all meeting')).toEqual([true, true, false, false]);

    // Back to 'all': the list shows it and deliveries notify again.
    expect(await rest(none.client).conversations.setNotifications(group.conversationId, { level: 'all' })).toEqual({ level: 'all', until: null });
    expect((await conversation(none.client, group.conversationId)).notifications).toEqual({ level: 'all', until: null });
    expect(await deliveries('again')).toEqual([true, false, true, false]);
  });

  it('reverts a setting to all once its until has passed', async () => {
    const alice = await crowd.user();
    const bob = await crowd.user();
    const conversationId = await openPrivate(alice.client, bob.id);
    const until = new Date(Date.now() + 1500).toISOString();
    const set = await rest(bob.client).conversations.setNotifications(conversationId, { level: 'none', until });
    expect(set).toEqual({ level: 'none', until });
    expect((await conversation(bob.client, conversationId)).notifications).toEqual({ level: 'none', until });
    const muted = nextEvent(bob.socket, 'chat', (m) => m.content === 'while muted');
    await sendText(alice.client, conversationId, 'while muted');
    expect((await muted).notify).toBe(false);
    await settle(Math.max(0, Date.parse(until) - Date.now() + 100));
    expect((await conversation(bob.client, conversationId)).notifications).toEqual({ level: 'all', until: null });
    const after = nextEvent(bob.socket, 'chat', (m) => m.content === 'after the mute');
    await sendText(alice.client, conversationId, 'after the mute');
    expect((await after).notify).toBe(true);
  });

  it('never notifies from a blocked sender, even when mentioned, from the first message after the block until the unblock', async () => {
    const owner = await crowd.user();
    const bob = await crowd.user();
    const carol = await crowd.user();
    const group = await createGroup(owner.client, [bob, carol]);
    /** What Bob's and Carol's deliveries of the owner's next message say about alerting them. */
    const notifyFlags = async (content: string) => {
      const onBob = nextEvent(bob.socket, 'chat', (m) => m.content === content);
      const onCarol = nextEvent(carol.socket, 'chat', (m) => m.content === content);
      await sendText(owner.client, group.conversationId, content);
      return { bob: (await onBob).notify, carol: (await onCarol).notify };
    };
    // Before the block the server has looked up the owner's blocks (none) for a message already:
    // the block must reach what it remembers.
    expect(await notifyFlags(`@${bob.username} before`)).toEqual({ bob: true, carol: true });
    await bob.client.request('POST', '/blocks', { userId: owner.id });
    expect(await notifyFlags(`@${bob.username} blocked?`)).toEqual({ bob: false, carol: true });
    await bob.client.request('DELETE', `/blocks/${owner.id}`);
    expect(await notifyFlags(`@${bob.username} after`)).toEqual({ bob: true, carol: true });
  });

  it('lists each conversation’s setting and refuses bad settings', async () => {
    const alice = await crowd.user();
    const bob = await crowd.user();
    const stranger = await crowd.user();
    const conversationId = await openPrivate(alice.client, bob.id);
    expect((await conversation(alice.client, conversationId)).notifications).toEqual({ level: 'all', until: null });
    const path = `/conversations/${encodeURIComponent(conversationId)}/notifications`;
    await expectFailure(alice.client.request('PUT', path, { level: 'loud' }), 'VALIDATION_FAILED', 400);
    await expectFailure(alice.client.request('PUT', path, { level: 'none', extra: 1 }), 'VALIDATION_FAILED', 400);
    await expectFailure(alice.client.request('PUT', path, { level: 'none', until: 'tomorrow' }), 'VALIDATION_FAILED', 400);
    await expectFailure(alice.client.request('PUT', path, { level: 'none', until: new Date(Date.now() - 1000).toISOString() }), 'VALIDATION_FAILED', 400);
    await expectFailure(alice.client.request('PUT', path, { level: 'all', until: new Date(Date.now() + 60_000).toISOString() }), 'VALIDATION_FAILED', 400);
    await expectFailure(stranger.client.request('PUT', path, { level: 'none' }), 'NOT_FOUND', 404);
    await expectFailure(alice.client.request('PUT', '/conversations/g.nope/notifications', { level: 'none' }), 'NOT_FOUND', 404);
    // Alice's setting is hers alone.
    await rest(alice.client).conversations.setNotifications(conversationId, { level: 'mentions' });
    expect((await conversation(alice.client, conversationId)).notifications).toEqual({ level: 'mentions', until: null });
    expect((await conversation(bob.client, conversationId)).notifications).toEqual({ level: 'all', until: null });
    // A mentions-only peer is alerted by a mention and nothing else.
    const seen = collect(alice.socket, 'chat');
    await sendText(bob.client, conversationId, 'hello');
    await sendText(bob.client, conversationId, `@${alice.username} hello`);
    await barrier(alice.socket);
    await settle(100);
    expect(seen.map((m) => m.notify)).toEqual([false, true]);
  });
});

describe(`mentions with MENTION_ALL=members (${storageLabel})`, () => {
  const suite = useTestServer({ MENTION_ALL: 'members' });
  const crowd = people(() => suite.server.url);
  afterEach(() => crowd.closeAll());

  it('lets any member use @all', async () => {
    const owner = await crowd.user();
    const member = await crowd.user();
    const group = await createGroup(owner.client, [member]);
    expect((await sendText(member.client, group.conversationId, '@all hello')).mentions).toEqual({ userIds: [], all: true });
    expect((await conversations(owner.client)).find((c) => c.id === group.conversationId)?.unreadMentionCount).toBe(1);
  });
});
