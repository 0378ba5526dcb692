import { randomBytes } from 'node:crypto';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { ParleyClient } from '../src/client/index.js';
import { type ServerProcess, spawnServer } from './support/process.js';
import { befriend, processPair, type Registered, SHARED_DATABASE_URL, SHARED_DIALECT, waitForDisconnect } from './support/process-pair.js';
import { collect, nextEvent, registerClient, settle } from './support/realtime.js';
import { createTestEnvironment, TEST_REDIS_URL, type TestEnvironment, testEnvVars } from './support/server.js';

/**
 * Two server processes behind one shared database and one Redis: what a horizontally scaled
 * deployment looks like. Always the machine's real services (see process-pair.ts).
 */
const CLUSTER_DATABASE_URL = SHARED_DATABASE_URL;
const CLUSTER_DIALECT = SHARED_DIALECT;
const CLUSTER_DATABASE_NAME = CLUSTER_DIALECT === 'postgres' ? 'PostgreSQL' : 'MariaDB';
const CLUSTER_REDIS_URL = TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';

const CLUSTER_ADMIN = `admin${randomBytes(5).toString('hex')}`;

/** Both Socket.IO Redis adapters: classic pub/sub (every process reads every broadcast) and sharded (Redis 7, one channel per room). */
describe.each(['classic', 'sharded'] as const)(`two server processes sharing ${CLUSTER_DATABASE_NAME} and Redis, %s socket adapter`, (SOCKET_ADAPTER) => {
  let env: TestEnvironment;
  let p1: ServerProcess;
  let p2: ServerProcess;
  const { clients, userOn } = processPair(() => ({ processes: [p1, p2], env }));

  beforeAll(async () => {
    env = await createTestEnvironment({ databaseUrl: CLUSTER_DATABASE_URL, redisUrl: CLUSTER_REDIS_URL });
    const JWT_SECRET = randomBytes(32).toString('hex');
    // One at a time: the first applies the migrations, the second finds them done.
    p1 = await spawnServer(testEnvVars(env, { JWT_SECRET, SOCKET_ADAPTER, ADMIN_USERNAMES: CLUSTER_ADMIN, LOG_DIR: path.join(env.dataDir, 'logs-1') }));
    p2 = await spawnServer(testEnvVars(env, { JWT_SECRET, SOCKET_ADAPTER, ADMIN_USERNAMES: CLUSTER_ADMIN, LOG_DIR: path.join(env.dataDir, 'logs-2') }));
    expect(p1.url).not.toBe(p2.url);
  });

  it(`runs both processes on the shared ${CLUSTER_DATABASE_NAME} and Redis`, async () => {
    for (const proc of [p1, p2]) {
      const ready = await fetch(`${proc.url}/readyz`);
      expect(ready.status).toBe(200);
      expect(proc.stdout()).toContain(`"database":"${CLUSTER_DIALECT}","cache":"redis"`);
    }
  });

  it('relays private chat both ways, typing and read between users on different processes', async () => {
    const alice = await userOn(p1);
    const bob = await userOn(p2);
    const { id: conversationId } = await alice.client.request<{ id: string }>('POST', '/conversations', { peerId: bob.id });

    const bobGot = nextEvent(bob.client.socket!, 'chat');
    const sent = await alice.client.emit('chat', { conversationId, type: 'text', content: 'hello from p1 👋', clientMsgId: 'x1' });
    expect(await bobGot).toEqual({ ...sent, notify: true });

    const aliceGot = nextEvent(alice.client.socket!, 'chat');
    const reply = await bob.client.emit('chat', { conversationId, type: 'text', content: '你好 from p2', clientMsgId: 'y1' });
    expect(await aliceGot).toEqual({ ...reply, notify: true });

    const typing = nextEvent(bob.client.socket!, 'typing');
    await alice.client.emit('typing', { conversationId, typing: true });
    expect(await typing).toEqual({ conversationId, userId: alice.id, typing: true });
    const stopped = nextEvent(alice.client.socket!, 'typing');
    await bob.client.emit('typing', { conversationId, typing: false });
    expect(await stopped).toEqual({ conversationId, userId: bob.id, typing: false });

    const read = nextEvent(alice.client.socket!, 'read');
    await bob.client.emit('read', { conversationId, messageId: sent.id });
    expect(await read).toEqual({ conversationId, userId: bob.id, messageId: sent.id });
    const readBack = nextEvent(bob.client.socket!, 'read');
    await alice.client.emit('read', { conversationId, messageId: reply.id });
    expect(await readBack).toEqual({ conversationId, userId: alice.id, messageId: reply.id });

    // Both processes read the same database.
    const historyOnP2 = await bob.client.request<{ items: Array<{ id: string }> }>('GET', `/conversations/${conversationId}/messages`);
    expect(historyOnP2.items.map((m) => m.id)).toEqual([reply.id, sent.id]);
  });

  it('commits a conversation in id order across processes: catching up with `after` never skips a message sent from the other one', async () => {
    const alice = await userOn(p1);
    const bob = await userOn(p2);
    const { id: conversationId } = await alice.client.request<{ id: string }>('POST', '/conversations', { peerId: bob.id });
    type Page = { items: Array<{ id: string }>; nextCursor: string | null };

    // A client that syncs the way the SDK does after a reconnect: everything after the newest id it holds.
    const seen = new Set<string>();
    let newest = 0;
    let sending = true;
    const poll = async () => {
      const page = await alice.client.request<Page>('GET', `/conversations/${conversationId}/messages?after=${newest}&limit=100`);
      for (const { id } of page.items) {
        seen.add(id);
        newest = Math.max(newest, Number(id));
      }
    };
    const poller = (async () => {
      while (sending) await poll();
      await poll();
      await poll();
    })();

    // Both processes write into the one conversation at once, in bursts (each burst one batch or several).
    const burst = (sender: Registered, tag: string, round: number) =>
      Promise.all(
        Array.from({ length: 15 }, (_, k) => sender.client.emit('chat', { conversationId, type: 'text', content: `${tag} ${round}.${k}`, clientMsgId: `${tag}-${round}-${k}` })),
      );
    for (let round = 0; round < 10; round++) await Promise.all([burst(alice, 'a', round), burst(bob, 'b', round)]);
    sending = false;
    await poller;

    const all: string[] = [];
    let cursor: string | null = null;
    do {
      const page: Page = await bob.client.request<Page>('GET', `/conversations/${conversationId}/messages?limit=100${cursor ? `&cursor=${cursor}` : ''}`);
      all.push(...page.items.map((m) => m.id));
      cursor = page.nextCursor;
    } while (cursor);
    expect(all).toHaveLength(300);
    expect(all.filter((id) => !seen.has(id))).toEqual([]);
  });

  it('tells a user on one process when a friend on the other comes online and goes offline', async () => {
    const alice = await userOn(p1);
    const bob = await registerClient(p2.url);
    clients.push(bob.client);
    await befriend(alice, bob);

    const online = nextEvent(alice.client.socket!, 'user_status', (event) => event.userId === bob.id);
    await bob.client.connect();
    expect(await online).toEqual({ userId: bob.id, status: 'online', lastSeenAt: null });

    // Presence read over REST on p1 sees the device connected to p2.
    const friends = await alice.client.request<{ items: Array<{ user: { id: string }; presence: { status: string } }> }>('GET', '/friends');
    expect(friends.items.find((item) => item.user.id === bob.id)?.presence.status).toBe('online');

    // A second device of Bob's, on p1 this time, changes nothing.
    const heard = collect(alice.client.socket!, 'user_status');
    const bobOnP1 = new ParleyClient(p1.url);
    clients.push(bobOnP1);
    await bobOnP1.login({ username: bob.username, password: bob.password });
    await bobOnP1.connect();
    bobOnP1.disconnect();
    await settle();
    expect(heard.filter((event) => event.userId === bob.id)).toEqual([]);

    const offline = nextEvent(alice.client.socket!, 'user_status', (event) => event.userId === bob.id);
    bob.client.disconnect();
    const event = await offline;
    expect(event.status).toBe('offline');
    expect(event.lastSeenAt).toMatch(/^\d{4}-\d\d-\d\dT.*Z$/);
    const after = await alice.client.request<{ items: Array<{ user: { id: string }; presence: { status: string; lastSeenAt: string | null } }> }>('GET', '/friends');
    expect(after.items.find((item) => item.user.id === bob.id)?.presence).toEqual({ status: 'offline', lastSeenAt: event.lastSeenAt });
  });

  /** An owner on p1 and two of their friends on p2; `group` creates the three's group (through p1). */
  async function ownerWithTwoFriends() {
    const owner = await userOn(p1);
    const bob = await userOn(p2);
    const carol = await userOn(p2);
    // Friends are added at once (strangers would be invited): the point here is what crosses processes.
    await befriend(owner, bob);
    await befriend(owner, carol);
    const group = (name: string) => owner.client.request<{ id: string; conversationId: string }>('POST', '/groups', { name, memberIds: [bob.id, carol.id] });
    return { owner, bob, carol, group };
  }

  it('delivers group messages at once to members added on the other process, and stops at once on removal', async () => {
    const { owner, bob, carol, group: createGroup } = await ownerWithTwoFriends();
    const bobChats = collect(bob.client.socket!, 'chat');

    const group = await createGroup('cluster crew');
    // No waiting for the membership event: the first message right after the create must arrive.
    const bobGot = nextEvent(bob.client.socket!, 'chat', (m) => m.conversationId === group.conversationId && m.type !== 'system');
    const carolGot = nextEvent(carol.client.socket!, 'chat', (m) => m.conversationId === group.conversationId && m.type !== 'system');
    const first = await owner.client.emit('chat', { conversationId: group.conversationId, type: 'text', content: 'welcome', clientMsgId: 'g1' });
    expect(await bobGot).toEqual({ ...first, notify: true });
    expect(await carolGot).toEqual({ ...first, notify: true });

    // Bob, on p2, can talk in the group too; the owner on p1 hears it.
    const ownerGot = nextEvent(owner.client.socket!, 'chat', (m) => m.conversationId === group.conversationId && m.type !== 'system');
    const fromBob = await bob.client.emit('chat', { conversationId: group.conversationId, type: 'text', content: 'thanks', clientMsgId: 'gb1' });
    expect(await ownerGot).toEqual({ ...fromBob, notify: true });

    // Removed on p1, Bob's socket on p2 leaves the room before the next message.
    const removed = nextEvent(bob.client.socket!, 'group_member', (event) => event.change === 'removed');
    const res = await fetch(`${p1.url}/api/v1/groups/${group.id}/members/${bob.id}`, { method: 'DELETE', headers: { authorization: `Bearer ${owner.client.accessToken}` } });
    expect(res.status).toBe(204);
    const carolGotSecond = nextEvent(carol.client.socket!, 'chat', (m) => m.conversationId === group.conversationId && m.type !== 'system');
    const second = await owner.client.emit('chat', { conversationId: group.conversationId, type: 'text', content: 'bob is gone', clientMsgId: 'g2' });
    expect(await carolGotSecond).toEqual({ ...second, notify: true });
    expect((await removed).userId).toBe(bob.id);
    await settle();
    // People's messages only: the group's own records (created, member removed) are `system` messages.
    expect(bobChats.filter((m) => m.type !== 'system').map((m) => m.id)).toEqual([first.id]);
    await expect(bob.client.emit('chat', { conversationId: group.conversationId, type: 'text', content: 'let me back', clientMsgId: 'gb2' })).rejects.toMatchObject({
      code: 'NOT_FOUND',
    });

    // Added back on p1: delivered again at once.
    await owner.client.request('POST', `/groups/${group.id}/members`, { userIds: [bob.id] });
    const bobGotThird = nextEvent(bob.client.socket!, 'chat', (m) => m.conversationId === group.conversationId && m.type !== 'system');
    const third = await owner.client.emit('chat', { conversationId: group.conversationId, type: 'text', content: 'welcome back', clientMsgId: 'g3' });
    expect(await bobGotThird).toEqual({ ...third, notify: true });
  });

  it('delivers the very first message of each of 30 new groups live to the members on the other process', async () => {
    // With the sharded adapter a group's messages travel on its own channel, which p2 subscribes only
    // when Bob's and Carol's sockets join the room there: the create is answered once p2 has (it was
    // answered before, and a message sent at once could reach Redis before p2's subscription).
    const { owner, bob, carol, group: createGroup } = await ownerWithTwoFriends();
    for (let round = 1; round <= 30; round++) {
      const group = await createGroup(`round ${round}`);
      const isText = (m: { conversationId: string; type: string }) => m.conversationId === group.conversationId && m.type !== 'system';
      const got = [bob, carol].map((member) => nextEvent(member.client.socket!, 'chat', isText, 3_000));
      const sent = await owner.client.emit('chat', { conversationId: group.conversationId, type: 'text', content: `first of round ${round}`, clientMsgId: `first-${round}` });
      expect(await Promise.all(got)).toEqual([sent, sent].map((message) => ({ ...message, notify: true })));
    }
  });

  /**
   * A group of the owner (p1) with Bob and Carol (p2), and
   * `notifyFlags`: Bob's and Carol's `notify` on the owner's next message, sent through p1.
   */
  async function alertingGroup(name: string) {
    const { owner, bob, carol, group: createGroup } = await ownerWithTwoFriends();
    const group = await createGroup(name);
    const notifyFlags = async (content: string, timeoutMs?: number) => {
      const onBob = nextEvent(bob.client.socket!, 'chat', (m) => m.content === content, timeoutMs);
      const onCarol = nextEvent(carol.client.socket!, 'chat', (m) => m.content === content, timeoutMs);
      await owner.client.emit('chat', { conversationId: group.conversationId, type: 'text', content, clientMsgId: content });
      const [toBob, toCarol] = await Promise.all([onBob, onCarol]);
      return { bob: toBob.notify, carol: toCarol.notify };
    };
    return { owner, bob, carol, group, notifyFlags };
  }

  it('stops alerting a member to a blocked sender at once when the block is made on the other process, and again after the unblock', async () => {
    const { owner, bob, notifyFlags } = await alertingGroup('alerts');
    // p1 has looked up the owner's blocks (none) for this message and keeps them.
    expect(await notifyFlags('before')).toEqual({ bob: true, carol: true });
    await bob.client.request('POST', '/blocks', { userId: owner.id });
    expect(await notifyFlags('blocked')).toEqual({ bob: false, carol: true });
    await bob.client.request('DELETE', `/blocks/${owner.id}`);
    expect(await notifyFlags('unblocked')).toEqual({ bob: true, carol: true });
  });

  it('stops alerting a member who mutes the group on the other process at once, and alerts again as soon as they unmute', async () => {
    const { carol, group, notifyFlags } = await alertingGroup('mutes');
    // p1 has read the group's notification settings (none) for this message and keeps them.
    expect(await notifyFlags('before')).toEqual({ bob: true, carol: true });
    const settingsPath = `/conversations/${group.conversationId}/notifications`;
    await carol.client.request('PUT', settingsPath, { level: 'none' });
    expect(await notifyFlags('muted')).toEqual({ bob: true, carol: false });
    await carol.client.request('PUT', settingsPath, { level: 'mentions' });
    expect(await notifyFlags('mentions only')).toEqual({ bob: true, carol: false });
    await carol.client.request('PUT', settingsPath, { level: 'all' });
    expect(await notifyFlags('unmuted')).toEqual({ bob: true, carol: true });
  });

  it('disconnects every socket of a user suspended on the other process within a second; login and refresh are refused there', async () => {
    const admin = await registerClient(p1.url, CLUSTER_ADMIN);
    clients.push(admin.client);
    const eve = await userOn(p2);
    const tablet = new ParleyClient(p2.url);
    clients.push(tablet);
    await tablet.login({ username: eve.username, password: eve.password });
    const tabletSocket = await tablet.connect();

    // The bound is the issue's "within a second"; the events themselves are awaited, not slept for.
    const told = [nextEvent(eve.client.socket!, 'session_revoked', () => true, 1000), nextEvent(tabletSocket, 'session_revoked', () => true, 1000)];
    const gone = [waitForDisconnect(eve.client.socket!), waitForDisconnect(tabletSocket)];
    await admin.client.request('PUT', `/admin/users/${eve.id}/suspension`, { reason: 'cluster' });
    expect(await Promise.all(told)).toEqual([{ reason: 'account_suspended' }, { reason: 'account_suspended' }]);
    expect(await Promise.all(gone)).toEqual(['io server disconnect', 'io server disconnect']);

    const refused = async (res: Response) => [res.status, ((await res.json()) as { error: { code: string } }).error.code];
    const login = await fetch(`${p2.url}/api/v1/auth/login`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ username: eve.username, password: eve.password }),
    });
    expect(await refused(login)).toEqual([403, 'ACCOUNT_SUSPENDED']);
    const refresh = await fetch(`${p2.url}/api/v1/auth/refresh`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ refreshToken: tablet.refreshToken }),
    });
    expect(await refused(refresh)).toEqual([403, 'ACCOUNT_SUSPENDED']);
  });

  it('disconnects a socket on one process when its session logs out on the other', async () => {
    const dave = await registerClient(p1.url);
    clients.push(dave.client);
    // The session to end: logged in and connected on p2.
    const phone = new ParleyClient(p2.url);
    clients.push(phone);
    await phone.login({ username: dave.username, password: dave.password });
    const phoneSocket = await phone.connect();
    // Another session of Dave's, also on p2, must survive.
    const laptop = new ParleyClient(p2.url);
    clients.push(laptop);
    await laptop.login({ username: dave.username, password: dave.password });
    const laptopSocket = await laptop.connect();

    const revoked = nextEvent(phoneSocket, 'session_revoked');
    const gone = waitForDisconnect(phoneSocket);
    // The same session's token, used on p1.
    const onP1 = new ParleyClient(p1.url, { accessToken: phone.accessToken });
    await onP1.request('POST', '/auth/logout');
    expect(await gone).toBe('io server disconnect');
    expect((await revoked).reason).toEqual(expect.any(String));
    expect(phoneSocket.connected).toBe(false);

    await settle();
    expect(laptopSocket.connected).toBe(true);
    const me = await laptop.request<{ id: string }>('GET', '/users/me');
    expect(me.id).toBe(dave.id);
    // The logged-out token is refused on both processes, sockets included.
    await expect(new ParleyClient(p2.url, { accessToken: phone.accessToken }).request('GET', '/users/me')).rejects.toMatchObject({ code: 'UNAUTHORIZED' });
    const retry = new ParleyClient(p2.url, { accessToken: phone.accessToken });
    clients.push(retry);
    await expect(retry.connect()).rejects.toMatchObject({ code: 'UNAUTHORIZED' });
  });
});
