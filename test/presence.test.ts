import { afterAll, describe, expect, it } from 'vitest';
import { ParleyClient, ParleyError, type UserStatusEvent } from '../src/client/index.js';
import { LIVE_PRESENCE_MAX_GROUP } from '../src/modules/policy/policy.service.js';
import { barrier, collect, nextEvent, registerClient, secondDevice, settle } from './support/realtime.js';
import { addSeededMembers } from './support/rows.js';
import { storageLabel } from './support/server.js';
import { useTestServer } from './support/suite.js';

type Registered = Awaited<ReturnType<typeof registerClient>>;

const ISO = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$/;

async function befriend(a: Registered, b: Registered): Promise<void> {
  const request = await a.client.request<{ id: string }>('POST', '/friend-requests', { toUserId: b.id });
  await b.client.request('POST', `/friend-requests/${request.id}/accept`);
}

/** Resolves with the next `user_status` about `userId` on the client's socket. */
function statusOf(client: ParleyClient, userId: string): Promise<UserStatusEvent> {
  if (!client.socket) throw new Error('not connected');
  return nextEvent(client.socket, 'user_status', (event) => event.userId === userId);
}

/** Every `user_status` about `userId` the client receives from now on. */
function statusesOf(client: ParleyClient, userId: string): { events: UserStatusEvent[] } {
  if (!client.socket) throw new Error('not connected');
  const all = collect(client.socket, 'user_status');
  return {
    get events() {
      return all.filter((event) => event.userId === userId);
    },
  };
}

describe(`presence (${storageLabel})`, () => {
  const suite = useTestServer();
  const clients: ParleyClient[] = [];
  afterAll(() => {
    for (const client of clients) client.disconnect();
  });

  /** A subject, a friend, a group co-member and a stranger; everyone but the subject connected. */
  async function cast() {
    const [subject, friend, coMember, stranger] = await Promise.all([
      registerClient(suite.server.url),
      registerClient(suite.server.url),
      registerClient(suite.server.url),
      registerClient(suite.server.url),
    ]);
    await befriend(subject, friend);
    const group = await coMember.client.request<{ id: string; invited: Array<{ id: string }> }>('POST', '/groups', { name: 'presence crew', memberIds: [subject.id] });
    // Not friends: the subject is invited and joins by accepting.
    await subject.client.request('POST', `/group-invitations/${group.invited[0]?.id}/accept`);
    for (const person of [friend, coMember, stranger]) {
      await person.client.connect();
      clients.push(person.client);
    }
    clients.push(subject.client);
    return { subject, friend, coMember, stranger, groupId: group.id };
  }

  it('announces the first device online to friends and group co-members only, and the last device off as offline', async () => {
    const { subject, friend, coMember, stranger } = await cast();
    const strangerHeard = collect(stranger.client.socket!, 'user_status');
    const friendHeard = statusesOf(friend.client, subject.id);
    const coMemberHeard = statusesOf(coMember.client, subject.id);

    const friendOnline = statusOf(friend.client, subject.id);
    const coMemberOnline = statusOf(coMember.client, subject.id);
    await subject.client.connect();
    expect(await friendOnline).toEqual({ userId: subject.id, status: 'online', lastSeenAt: null });
    expect(await coMemberOnline).toEqual({ userId: subject.id, status: 'online', lastSeenAt: null });

    // A second device of an online user changes nothing others see.
    const tablet = await secondDevice(suite.server.url, subject);
    clients.push(tablet);
    // A connect or disconnect is counted in background work no ack waits for (and the last one
    // publishes after cache round trips), so only a bounded wait can show nothing followed.
    await settle();
    expect(friendHeard.events).toHaveLength(1);
    expect(coMemberHeard.events).toHaveLength(1);

    // Closing one of two devices: still online.
    tablet.disconnect();
    await settle(); // background work again: see above
    expect(friendHeard.events).toHaveLength(1);
    expect(coMemberHeard.events).toHaveLength(1);

    // Closing the last device: offline, with the time last seen.
    const friendOffline = statusOf(friend.client, subject.id);
    const coMemberOffline = statusOf(coMember.client, subject.id);
    const before = Date.now();
    subject.client.disconnect();
    const offline = await friendOffline;
    expect(offline.status).toBe('offline');
    expect(offline.lastSeenAt).toMatch(ISO);
    expect(Date.parse(offline.lastSeenAt as string)).toBeGreaterThanOrEqual(before - 1000);
    expect(await coMemberOffline).toEqual(offline);

    await settle(); // a second announcement would come from background work too
    expect(friendHeard.events.map((e) => e.status)).toEqual(['online', 'offline']);
    expect(coMemberHeard.events.map((e) => e.status)).toEqual(['online', 'offline']);
    expect(strangerHeard).toEqual([]);

    // The friends list keeps the last-seen time for an offline friend.
    const friends = await friend.client.request<{ items: Array<{ user: { id: string }; presence: { status: string; lastSeenAt: string | null } }> }>('GET', '/friends');
    const entry = friends.items.find((item) => item.user.id === subject.id);
    expect(entry?.presence).toEqual({ status: 'offline', lastSeenAt: offline.lastSeenAt });
  });

  it(`announces presence live to co-members of groups up to ${LIVE_PRESENCE_MAX_GROUP} members only; in larger groups it is read on demand`, async () => {
    const { subject, coMember } = await cast();
    // A second group of the subject's, with a member who shares no other group with them: it grows past the limit.
    const bigMember = await registerClient(suite.server.url);
    const big = await bigMember.client.request<{ id: string; invited: Array<{ id: string }> }>('POST', '/groups', { name: 'big room', memberIds: [subject.id] });
    await subject.client.request('POST', `/group-invitations/${big.invited[0]?.id}/accept`);
    await addSeededMembers(suite.server.app.database.db, big.id, LIVE_PRESENCE_MAX_GROUP - 2);
    await bigMember.client.connect();
    clients.push(bigMember.client);
    const bigMemberHeard = statusesOf(bigMember.client, subject.id);

    // At the limit (200 members) the group still carries presence live.
    let online = [statusOf(coMember.client, subject.id), statusOf(bigMember.client, subject.id)];
    await subject.client.connect();
    await Promise.all(online);
    const offline = statusOf(bigMember.client, subject.id);
    subject.client.disconnect();
    await offline;

    // One more member: the big group no longer does; the small one still does.
    await addSeededMembers(suite.server.app.database.db, big.id, 1);
    online = [statusOf(coMember.client, subject.id)];
    const before = bigMemberHeard.events.length;
    await subject.client.connect();
    await Promise.all(online);
    await settle(); // background work: only a bounded wait can show nothing followed
    expect(bigMemberHeard.events).toHaveLength(before);
    // Looked up, the subject's presence is there for every co-member.
    const profile = await bigMember.client.request<{ presence: { status: string } | null }>('GET', `/users/${subject.id}`);
    expect(profile.presence?.status).toBe('online');
    subject.client.disconnect();
  });

  it('shows presence in GET /friends and GET /groups/:id/members while connected', async () => {
    const { subject, friend, coMember, groupId } = await cast();
    const online = [statusOf(friend.client, subject.id), statusOf(coMember.client, subject.id)];
    await subject.client.connect();
    await Promise.all(online);
    const friends = await friend.client.request<{ items: Array<{ user: { id: string }; presence: { status: string } }> }>('GET', '/friends');
    expect(friends.items.find((item) => item.user.id === subject.id)?.presence.status).toBe('online');
    const members = await coMember.client.request<{ items: Array<{ user: { id: string }; presence: { status: string } }> }>('GET', `/groups/${groupId}/members`);
    expect(members.items.find((item) => item.user.id === subject.id)?.presence.status).toBe('online');
    subject.client.disconnect();
  });

  it('relays away, invisible (seen as offline) and back to online', async () => {
    const { subject, friend, coMember, stranger, groupId } = await cast();
    const strangerHeard = collect(stranger.client.socket!, 'user_status');
    const online = [statusOf(friend.client, subject.id), statusOf(coMember.client, subject.id)];
    await subject.client.connect();
    await Promise.all(online);

    const away = statusOf(friend.client, subject.id);
    const coMemberAway = statusOf(coMember.client, subject.id);
    expect(await subject.client.emit('user_status', { status: 'away' })).toEqual({ status: 'away' });
    expect(await away).toEqual({ userId: subject.id, status: 'away', lastSeenAt: null });
    expect((await coMemberAway).status).toBe('away');
    const friendsWhileAway = await friend.client.request<{ items: Array<{ user: { id: string }; presence: { status: string } }> }>('GET', '/friends');
    expect(friendsWhileAway.items.find((item) => item.user.id === subject.id)?.presence.status).toBe('away');

    const hidden = statusOf(friend.client, subject.id);
    const coMemberHidden = statusOf(coMember.client, subject.id);
    expect(await subject.client.emit('user_status', { status: 'invisible' })).toEqual({ status: 'invisible' });
    const hiddenEvent = await hidden;
    expect(hiddenEvent.status).toBe('offline');
    expect(hiddenEvent.lastSeenAt).toMatch(ISO);
    expect((await coMemberHidden).status).toBe('offline');

    // Still connected, yet everyone reads them as offline.
    expect(subject.client.socket?.connected).toBe(true);
    const friends = await friend.client.request<{ items: Array<{ user: { id: string }; presence: { status: string } }> }>('GET', '/friends');
    expect(friends.items.find((item) => item.user.id === subject.id)?.presence.status).toBe('offline');
    const members = await coMember.client.request<{ items: Array<{ user: { id: string }; presence: { status: string } }> }>('GET', `/groups/${groupId}/members`);
    expect(members.items.find((item) => item.user.id === subject.id)?.presence.status).toBe('offline');
    // The invisible user still reads the others' presence.
    const mine = await subject.client.request<{ items: Array<{ user: { id: string }; presence: { status: string } }> }>('GET', '/friends');
    expect(mine.items.find((item) => item.user.id === friend.id)?.presence.status).toBe('online');

    const back = statusOf(friend.client, subject.id);
    const coMemberBack = statusOf(coMember.client, subject.id);
    expect(await subject.client.emit('user_status', { status: 'online' })).toEqual({ status: 'online' });
    expect(await back).toEqual({ userId: subject.id, status: 'online', lastSeenAt: null });
    expect((await coMemberBack).status).toBe('online');
    const friendsAfter = await friend.client.request<{ items: Array<{ user: { id: string }; presence: { status: string } }> }>('GET', '/friends');
    expect(friendsAfter.items.find((item) => item.user.id === subject.id)?.presence.status).toBe('online');

    // The last change was answered after its announcement went out.
    await barrier(stranger.client.socket!);
    expect(strangerHeard).toEqual([]);
    subject.client.disconnect();
  });

  it('says nothing when an invisible user goes offline, and nothing for a status that looks the same', async () => {
    const { subject, friend } = await cast();
    const online = statusOf(friend.client, subject.id);
    await subject.client.connect();
    await online;
    const heard = statusesOf(friend.client, subject.id);
    await subject.client.emit('user_status', { status: 'online' });
    await barrier(friend.client.socket!);
    expect(heard.events).toEqual([]);

    const hidden = statusOf(friend.client, subject.id);
    await subject.client.emit('user_status', { status: 'invisible' });
    await hidden;
    subject.client.disconnect();
    // A disconnect is handled in background work no ack waits for: a bounded wait.
    await settle();
    expect(heard.events.map((e) => e.status)).toEqual(['offline']);
  });

  it('does not keep a user online for devices that closed as soon as they connected', async () => {
    const { subject, friend } = await cast();
    const online = statusOf(friend.client, subject.id);
    await subject.client.connect();
    await online;
    // Devices that hang up at once: their disconnect may arrive while their connect is still being counted.
    // Logged in one after the other (concurrent logins of one name spend the login throttle, which
    // counts attempts before checking them), then connected all at once.
    const flaky: ParleyClient[] = [];
    for (let i = 0; i < 8; i++) {
      const device = new ParleyClient(suite.server.url);
      await device.login({ username: subject.username, password: subject.password });
      flaky.push(device);
    }
    await Promise.all(flaky.map((device) => device.connect()));
    for (const device of flaky) device.disconnect();
    // Lets the flaky devices' background connect and disconnect work run out before the real test.
    await settle();
    const offline = statusOf(friend.client, subject.id);
    subject.client.disconnect();
    expect((await offline).status).toBe('offline');
    const friends = await friend.client.request<{ items: Array<{ user: { id: string }; presence: { status: string } }> }>('GET', '/friends');
    expect(friends.items.find((item) => item.user.id === subject.id)?.presence.status).toBe('offline');
  });

  it('answers a bad status with VALIDATION_FAILED and keeps the connection', async () => {
    const user = await registerClient(suite.server.url);
    await user.client.connect();
    clients.push(user.client);
    for (const payload of [
      { status: 'busy' },
      { status: 'offline' },
      { status: 'ONLINE' },
      { status: 1 },
      { status: null },
      {},
      { status: 'away', extra: true },
      null,
      'away',
      ['away'],
    ]) {
      const ack = await user.client.emitRaw('user_status', payload as never);
      expect(ack).toMatchObject({ ok: false, error: { code: 'VALIDATION_FAILED' } });
    }
    await expect(user.client.emit('user_status', { status: 'dnd' } as never)).rejects.toMatchObject({ code: 'VALIDATION_FAILED' });
    await expect(user.client.emit('user_status', { status: 'dnd' } as never)).rejects.toBeInstanceOf(ParleyError);
    expect(user.client.socket?.connected).toBe(true);
    expect(await user.client.emit('user_status', { status: 'away' })).toEqual({ status: 'away' });
    user.client.disconnect();
  });
});
