import sharp from 'sharp';
import { afterAll, describe, expect, it } from 'vitest';
import { type ParleyClient, type ParleySocket, rest, type UserUpdatedEvent } from '../src/client/index.js';
import { barrier, collect, nextEvent, registerClient, secondDevice, settle } from './support/realtime.js';
import { storageLabel, TEST_DATABASE_URL, TEST_REDIS_URL, type TestServer } from './support/server.js';
import { useTestServer } from './support/suite.js';

type Registered = Awaited<ReturnType<typeof registerClient>>;

const ISO = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$/;

async function befriend(a: Registered, b: Registered): Promise<void> {
  const request = await a.client.request<{ id: string }>('POST', '/friend-requests', { toUserId: b.id });
  await b.client.request('POST', `/friend-requests/${request.id}/accept`);
}

/** `owner` creates a group and each of `others` (not friends of the owner) accepts the invitation. */
async function shareGroup(owner: Registered, others: Registered[]): Promise<void> {
  const group = await owner.client.request<{ invited: Array<{ id: string; inviteeId: string }> }>('POST', '/groups', {
    name: 'profile crew',
    memberIds: others.map((o) => o.id),
  });
  for (const other of others) {
    const invitation = group.invited.find((i) => i.inviteeId === other.id);
    await other.client.request('POST', `/group-invitations/${invitation?.id}/accept`);
  }
}

const updatesAbout = (socket: ParleySocket, userId: string) => nextEvent(socket, 'user_updated', (event) => event.user.id === userId);

async function png(): Promise<Blob> {
  const bytes = await sharp({ create: { width: 64, height: 64, channels: 3, background: { r: 20, g: 120, b: 220 } } })
    .png()
    .toBuffer();
  return new Blob([new Uint8Array(bytes)], { type: 'image/png' });
}

describe(`profile changes and last seen (${storageLabel})`, () => {
  const suite = useTestServer();
  const clients: ParleyClient[] = [];
  afterAll(() => {
    for (const client of clients) client.disconnect();
  });

  /**
   * A subject with a friend, a group co-member, a co-member who blocked them (still in the group),
   * and a stranger, everyone connected; the subject has a second device unless `oneDevice`.
   */
  async function cast({ oneDevice = false } = {}) {
    const people = await Promise.all(Array.from({ length: 5 }, () => registerClient(suite.server.url)));
    const [subject, friend, coMember, blocker, stranger] = people as [Registered, Registered, Registered, Registered, Registered];
    await befriend(subject, friend);
    await shareGroup(coMember, [subject, blocker]);
    await blocker.client.request('POST', '/blocks', { userId: subject.id });
    const sockets = new Map<string, ParleySocket>();
    for (const person of people) {
      sockets.set(person.id, await person.client.connect());
      clients.push(person.client);
    }
    const otherDevice = oneDevice ? undefined : await secondDevice(suite.server.url, subject);
    if (otherDevice) clients.push(otherDevice);
    const socketOf = (person: Registered) => sockets.get(person.id) as ParleySocket;
    return { subject, friend, coMember, blocker, stranger, otherDevice: otherDevice?.socket as ParleySocket, socketOf };
  }

  it("sends user_updated to friends, co-members and the user's other devices, never to strangers or across a block", async () => {
    const { subject, friend, coMember, blocker, stranger, otherDevice, socketOf } = await cast();
    const toFriend = updatesAbout(socketOf(friend), subject.id);
    const toCoMember = updatesAbout(socketOf(coMember), subject.id);
    const toOtherDevice = updatesAbout(otherDevice, subject.id);
    const toBlocker = collect(socketOf(blocker), 'user_updated');
    const toStranger = collect(socketOf(stranger), 'user_updated');

    await rest(subject.client).users.updateMe({ nickname: '  Nova  ', bio: 'stargazer', statusText: 'on the night shift' });

    const expected: UserUpdatedEvent = {
      user: expect.objectContaining({ id: subject.id, username: subject.username, nickname: 'Nova', bio: 'stargazer', statusText: 'on the night shift', avatarUrl: null }),
    };
    expect(await toFriend).toEqual(expected);
    expect(await toCoMember).toEqual(expected);
    expect(await toOtherDevice).toEqual(expected);
    await Promise.all([barrier(socketOf(blocker)), barrier(socketOf(stranger))]);
    expect(toBlocker).toEqual([]);
    expect(toStranger).toEqual([]);
  });

  it('announces a new and a removed avatar, and stays quiet about changes no one else sees', async () => {
    const { subject, friend, socketOf } = await cast();
    const sdk = rest(subject.client);
    const added = updatesAbout(socketOf(friend), subject.id);
    const urls = await sdk.users.setAvatar(await png(), 'me.png');
    expect((await added).user.avatarUrl).toBe(urls.avatarUrl);

    const removed = updatesAbout(socketOf(friend), subject.id);
    await sdk.users.removeAvatar();
    expect((await removed).user.avatarUrl).toBeNull();

    const heard = collect(socketOf(friend), 'user_updated');
    await sdk.users.updateMe({ smartReplies: true, allowMessagesFrom: 'friends', nickname: subject.username });
    await sdk.users.removeAvatar();
    await barrier(socketOf(friend));
    expect(heard).toEqual([]);
  });

  it('refuses visible profile changes past the per-minute budget with RATE_LIMITED, writing and sending nothing', async () => {
    const { subject, friend, socketOf } = await cast();
    const sdk = rest(subject.client);
    for (let i = 1; i <= 10; i++) await sdk.users.updateMe({ statusText: `status ${i}` });
    const heard = collect(socketOf(friend), 'user_updated');
    const refused = await sdk.users.updateMe({ nickname: 'Flood' }).catch((error: unknown) => error);
    expect(refused).toMatchObject({ code: 'RATE_LIMITED', status: 429, details: { retryAfterSec: expect.any(Number) } });
    expect((await sdk.users.me()).nickname).toBe(subject.username);
    // Settings nobody else sees are not limited.
    expect((await sdk.users.updateMe({ smartReplies: true })).profile.smartReplies).toBe(true);
    await barrier(socketOf(friend));
    expect(heard).toEqual([]);
  });

  it('shows presence and last seen on the profile to friends and co-members only; the status line to anyone', async () => {
    // One device: two closing at once could each record (and announce) their own last-seen time.
    const { subject, friend, coMember, blocker, stranger, socketOf } = await cast({ oneDevice: true });
    await rest(subject.client).users.updateMe({ statusText: 'back soon' });
    const online = await rest(friend.client).users.get(subject.id);
    expect(online).toMatchObject({ id: subject.id, statusText: 'back soon', presence: { status: 'online', lastSeenAt: null } });

    const offline = nextEvent(socketOf(friend), 'user_status', (event) => event.userId === subject.id && event.status === 'offline');
    subject.client.disconnect();
    const event = await offline;
    expect(event.lastSeenAt).toMatch(ISO);

    for (const viewer of [friend, coMember]) {
      expect((await rest(viewer.client).users.get(subject.id)).presence).toEqual({ status: 'offline', lastSeenAt: event.lastSeenAt });
    }
    for (const viewer of [blocker, stranger]) {
      const seen = await rest(viewer.client).users.get(subject.id);
      expect(seen).toMatchObject({ id: subject.id, statusText: 'back soon', presence: null });
    }
    // The blocked side sees no presence either way.
    expect((await rest(subject.client).users.get(blocker.id)).presence).toBeNull();
    expect((await rest(subject.client).users.get(subject.id)).presence).toEqual({ status: 'offline', lastSeenAt: event.lastSeenAt });
  });
});

/** Two servers sharing MariaDB and Redis (always the machine's real services, like cluster.test.ts). */
const CLUSTER_DATABASE_URL = TEST_DATABASE_URL ?? 'mysql://root@127.0.0.1:3306/parley_test';
const CLUSTER_REDIS_URL = TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';

describe('profile changes and last seen across two servers sharing MariaDB and Redis', () => {
  const suite = useTestServer({}, { environment: { databaseUrl: CLUSTER_DATABASE_URL, redisUrl: CLUSTER_REDIS_URL }, servers: 2 });
  const clients: ParleyClient[] = [];
  afterAll(() => {
    for (const client of clients) client.disconnect();
  });

  it('delivers user_updated to a friend on the other server, not to a blocked co-member there, and its last seen is read there', async () => {
    const [a, b] = suite.servers as [TestServer, TestServer];
    const subject = await registerClient(a.url);
    const [friend, coMember, blocker] = await Promise.all([registerClient(b.url), registerClient(b.url), registerClient(b.url)]);
    await befriend(subject, friend);
    await shareGroup(coMember, [subject, blocker]);
    await rest(blocker.client).friends.block(subject.id);
    const friendSocket = await friend.client.connect();
    const blockerSocket = await blocker.client.connect();
    await subject.client.connect();
    clients.push(subject.client, friend.client, coMember.client, blocker.client);

    const toBlocker = collect(blockerSocket, 'user_updated');
    const toFriend = updatesAbout(friendSocket, subject.id);
    await rest(subject.client).users.updateMe({ nickname: 'Across' });
    expect((await toFriend).user.nickname).toBe('Across');
    // The friend's event crossed Redis: a barrier on one socket proves nothing for another process's
    // publish, so the blocker gets a bounded wait after the friend's copy has arrived.
    await settle();
    expect(toBlocker).toEqual([]);

    const offline = nextEvent(friendSocket, 'user_status', (event) => event.userId === subject.id && event.status === 'offline');
    subject.client.disconnect();
    const { lastSeenAt } = await offline;
    expect(lastSeenAt).toMatch(ISO);
    expect((await rest(friend.client).users.get(subject.id)).presence).toEqual({ status: 'offline', lastSeenAt });
    expect((await rest(blocker.client).users.get(subject.id)).presence).toBeNull();
  });
});
