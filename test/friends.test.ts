import { randomUUID } from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import type { FriendRequest } from '../src/client/rest.js';
import { type ApiResponse, expectError, newUser, type TestUser } from './support/http.js';
import { people } from './support/messaging.js';
import { barrier, collect, nextEvent } from './support/realtime.js';
import { storageLabel } from './support/server.js';
import { useTestServer } from './support/suite.js';

const ISO = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;

describe(`friends and blocks (${storageLabel})`, () => {
  const suite = useTestServer();
  const { api } = suite;

  const user = () => newUser(api);

  async function guest(nickname: string): Promise<TestUser> {
    const res = await api('POST', '/auth/guest', { body: { nickname } });
    expect(res.status).toBe(201);
    return { id: res.body.user.id, username: res.body.user.username, password: '', accessToken: res.body.accessToken, refreshToken: res.body.refreshToken, user: res.body.user };
  }

  function sendRequest(from: TestUser, to: { id: string }, message?: string): Promise<ApiResponse> {
    return api('POST', '/friend-requests', { token: from.accessToken, body: message === undefined ? { toUserId: to.id } : { toUserId: to.id, message } });
  }

  /** Sends a request that must be created as pending; returns it. */
  async function requestFriend(from: TestUser, to: TestUser, message?: string): Promise<any> {
    const res = await sendRequest(from, to, message);
    expect(res.status).toBe(201);
    expect(res.body.status).toBe('pending');
    return res.body;
  }

  function answer(who: TestUser, requestId: string, verb: 'accept' | 'reject'): Promise<ApiResponse> {
    return api('POST', `/friend-requests/${requestId}/${verb}`, { token: who.accessToken });
  }

  async function befriend(a: TestUser, b: TestUser): Promise<void> {
    const request = await requestFriend(a, b);
    expect((await answer(b, request.id, 'accept')).status).toBe(200);
  }

  async function friendIds(who: TestUser): Promise<string[]> {
    const res = await api('GET', '/friends', { token: who.accessToken });
    expect(res.status).toBe(200);
    return res.body.items.map((item: any) => item.user.id).sort();
  }

  async function pending(who: TestUser, direction: 'incoming' | 'outgoing'): Promise<any[]> {
    const res = await api('GET', `/friend-requests?direction=${direction}`, { token: who.accessToken });
    expect(res.status).toBe(200);
    expect(res.body.nextCursor).toBeNull();
    return res.body.items;
  }

  async function expectNoPending(...people: TestUser[]): Promise<void> {
    for (const person of people) {
      expect(await pending(person, 'incoming')).toEqual([]);
      expect(await pending(person, 'outgoing')).toEqual([]);
    }
  }

  /** Follows nextCursor through a list, checking every page's size; returns all items in order. */
  async function walk(who: TestUser, path: string, limit: number): Promise<{ items: any[]; pages: number }> {
    const items: any[] = [];
    let cursor: string | null = null;
    let pages = 0;
    do {
      const separator = path.includes('?') ? '&' : '?';
      const query: string = `${separator}limit=${limit}${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`;
      const res: ApiResponse = await api('GET', `${path}${query}`, { token: who.accessToken });
      expect(res.status).toBe(200);
      expect(res.body.items.length).toBeLessThanOrEqual(limit);
      if (res.body.nextCursor !== null) {
        expect(typeof res.body.nextCursor).toBe('string');
        expect(res.body.items).toHaveLength(limit);
      }
      items.push(...res.body.items);
      cursor = res.body.nextCursor;
      pages += 1;
      expect(pages).toBeLessThan(20);
    } while (cursor);
    return { items, pages };
  }

  describe('sending friend requests', () => {
    it('creates a pending request with both full user objects and the message', async () => {
      const [a, b] = await Promise.all([user(), user()]);
      const message = 'hi there 👋 你好 مرحبا';
      const res = await sendRequest(a, b, message);
      expect(res.status).toBe(201);
      expect(res.body).toEqual({
        id: expect.any(String),
        fromUser: a.user,
        toUser: b.user,
        message,
        status: 'pending',
        createdAt: expect.stringMatching(ISO),
        respondedAt: null,
      });
      expect(res.body.fromUser).toEqual({
        id: a.id,
        username: a.username,
        nickname: expect.any(String),
        avatarUrl: null,
        isGuest: false,
        bot: false,
        bio: '',
        createdAt: expect.stringMatching(ISO),
      });
      expect(JSON.stringify(res.body)).not.toMatch(/password/i);

      expect(await pending(b, 'incoming')).toEqual([res.body]);
      expect(await pending(a, 'outgoing')).toEqual([res.body]);
      expect(await pending(a, 'incoming')).toEqual([]);
      expect(await pending(b, 'outgoing')).toEqual([]);
    });

    it('stores an empty message when none is given, and trims the one given', async () => {
      const [a, b, c] = await Promise.all([user(), user(), user()]);
      expect((await requestFriend(a, b)).message).toBe('');
      expect((await requestFriend(a, c, '  let us talk  ')).message).toBe('let us talk');
    });

    it('accepts a message of exactly 200 characters and refuses a longer one', async () => {
      const [a, b, c] = await Promise.all([user(), user(), user()]);
      expect((await requestFriend(a, b, 'm'.repeat(200))).message).toBe('m'.repeat(200));
      const error = expectError(await sendRequest(a, c, 'm'.repeat(201)), 400, 'VALIDATION_FAILED');
      expect(error.details).toEqual([expect.objectContaining({ field: 'message' })]);
      expect(await pending(c, 'incoming')).toEqual([]);
    });

    it('requires a toUserId', async () => {
      const a = await user();
      const missing = expectError(await api('POST', '/friend-requests', { token: a.accessToken, body: { message: 'hello' } }), 400, 'VALIDATION_FAILED');
      expect(missing.details).toEqual([expect.objectContaining({ field: 'toUserId' })]);
      expectError(await api('POST', '/friend-requests', { token: a.accessToken, body: { toUserId: '' } }), 400, 'VALIDATION_FAILED');
      expectError(await api('POST', '/friend-requests', { token: a.accessToken, rawBody: '{"toUserId": ' }), 400, 'VALIDATION_FAILED');
    });

    it('refuses a request to oneself, naming the toUserId field', async () => {
      const a = await user();
      const error = expectError(await sendRequest(a, a), 400, 'VALIDATION_FAILED');
      expect(error.details).toEqual([expect.objectContaining({ field: 'toUserId' })]);
      expect(await pending(a, 'outgoing')).toEqual([]);
    });

    it('answers 404 for a request to a user who does not exist', async () => {
      const a = await user();
      expectError(await sendRequest(a, { id: randomUUID() }), 404, 'NOT_FOUND');
      expect(await pending(a, 'outgoing')).toEqual([]);
    });

    it('refuses a second request while the first is still pending', async () => {
      const [a, b] = await Promise.all([user(), user()]);
      const first = await requestFriend(a, b, 'first');
      expectError(await sendRequest(a, b, 'second'), 409, 'CONFLICT');
      expect(await pending(b, 'incoming')).toEqual([first]);
    });

    it('refuses a request, in either direction, between users who are already friends', async () => {
      const [a, b] = await Promise.all([user(), user()]);
      await befriend(a, b);
      expectError(await sendRequest(a, b), 409, 'CONFLICT');
      expectError(await sendRequest(b, a), 409, 'CONFLICT');
      await expectNoPending(a, b);
    });

    it('requires a valid bearer token on every friends and blocks route', async () => {
      const id = randomUUID();
      const routes: Array<[string, string, unknown?]> = [
        ['GET', '/friends'],
        ['DELETE', `/friends/${id}`],
        ['POST', '/friend-requests', { toUserId: id }],
        ['GET', '/friend-requests'],
        ['POST', `/friend-requests/${id}/accept`],
        ['POST', `/friend-requests/${id}/reject`],
        ['GET', '/blocks'],
        ['POST', '/blocks', { userId: id }],
        ['DELETE', `/blocks/${id}`],
      ];
      for (const [method, path, body] of routes) {
        expectError(await api(method, path, { body }), 401, 'UNAUTHORIZED');
        expectError(await api(method, path, { body, token: 'not-a-real-token' }), 401, 'UNAUTHORIZED');
      }
    });
  });

  describe('crossing requests', () => {
    it('turns a crossing request into a friendship at once', async () => {
      const [a, b] = await Promise.all([user(), user()]);
      const original = await requestFriend(a, b, 'from a');
      const crossing = await sendRequest(b, a, 'from b');
      expect(crossing.status).toBe(201);
      expect(crossing.body).toEqual({
        ...original,
        status: 'accepted',
        respondedAt: expect.stringMatching(ISO),
      });
      expect(await friendIds(a)).toEqual([b.id]);
      expect(await friendIds(b)).toEqual([a.id]);
      await expectNoPending(a, b);
    });
  });

  describe('listing requests', () => {
    it('lists pending incoming requests by default and outgoing ones on request', async () => {
      const [me, fromA, fromB, toC] = await Promise.all([user(), user(), user(), user()]);
      const incomingA = await requestFriend(fromA, me);
      const incomingB = await requestFriend(fromB, me);
      const outgoing = await requestFriend(me, toC);

      const byDefault = await api('GET', '/friend-requests', { token: me.accessToken });
      expect(byDefault.status).toBe(200);
      expect(byDefault.body.nextCursor).toBeNull();
      const sortById = (items: any[]) => [...items].sort((x, y) => (x.id < y.id ? -1 : 1));
      expect(sortById(byDefault.body.items)).toEqual(sortById([incomingA, incomingB]));
      expect(sortById(await pending(me, 'incoming'))).toEqual(sortById([incomingA, incomingB]));
      expect(await pending(me, 'outgoing')).toEqual([outgoing]);

      // Answered requests are no longer pending and leave the lists.
      expect((await answer(me, incomingA.id, 'accept')).status).toBe(200);
      expect((await answer(me, incomingB.id, 'reject')).status).toBe(200);
      expect((await answer(toC, outgoing.id, 'reject')).status).toBe(200);
      await expectNoPending(me);
    });

    it('refuses an unknown direction', async () => {
      const a = await user();
      expectError(await api('GET', '/friend-requests?direction=sideways', { token: a.accessToken }), 400, 'VALIDATION_FAILED');
    });

    it('pages requests one at a time with nextCursor leading to the next one', async () => {
      const [me, ...senders] = await Promise.all([user(), user(), user(), user()]);
      const sent: string[] = [];
      for (const sender of senders) sent.push((await requestFriend(sender, me)).id);

      const first = await api('GET', '/friend-requests?direction=incoming&limit=1', { token: me.accessToken });
      expect(first.status).toBe(200);
      expect(first.body.items).toHaveLength(1);
      expect(first.body.nextCursor).toEqual(expect.any(String));
      const second = await api('GET', `/friend-requests?direction=incoming&limit=1&cursor=${encodeURIComponent(first.body.nextCursor)}`, { token: me.accessToken });
      expect(second.status).toBe(200);
      expect(second.body.items).toHaveLength(1);
      expect(second.body.items[0].id).not.toBe(first.body.items[0].id);

      const { items, pages } = await walk(me, '/friend-requests?direction=incoming', 1);
      expect(pages).toBe(3);
      expect(items.map((item) => item.id).sort()).toEqual([...sent].sort());
      expect(items[0]).toEqual(first.body.items[0]);
      expect(items[1]).toEqual(second.body.items[0]);

      const outgoing = await walk(senders[0]!, '/friend-requests?direction=outgoing', 1);
      expect(outgoing.items.map((item) => item.id)).toEqual([sent[0]]);
      expect(outgoing.pages).toBe(1);
    });

    it('refuses a garbled cursor and a limit out of range', async () => {
      const a = await user();
      expectError(await api('GET', '/friend-requests?cursor=not-a-cursor', { token: a.accessToken }), 400, 'VALIDATION_FAILED');
      expectError(await api('GET', '/friend-requests?limit=0', { token: a.accessToken }), 400, 'VALIDATION_FAILED');
      expectError(await api('GET', '/friend-requests?limit=201', { token: a.accessToken }), 400, 'VALIDATION_FAILED');
    });
  });

  describe('answering requests', () => {
    it('accepts a request: both become friends, since the moment of acceptance', async () => {
      const [a, b] = await Promise.all([user(), user()]);
      const request = await requestFriend(a, b, 'be my friend');
      const res = await answer(b, request.id, 'accept');
      expect(res.status).toBe(200);
      expect(res.body).toEqual({ ...request, status: 'accepted', respondedAt: expect.stringMatching(ISO) });

      const ofA = await api('GET', '/friends', { token: a.accessToken });
      const ofB = await api('GET', '/friends', { token: b.accessToken });
      expect(ofA.body.items).toEqual([expect.objectContaining({ user: b.user, since: res.body.respondedAt })]);
      expect(ofB.body.items).toEqual([expect.objectContaining({ user: a.user, since: res.body.respondedAt })]);
      await expectNoPending(a, b);
    });

    it('rejects a request: no friendship, and it leaves both pending lists', async () => {
      const [a, b] = await Promise.all([user(), user()]);
      const request = await requestFriend(a, b);
      const res = await answer(b, request.id, 'reject');
      expect(res.status).toBe(200);
      expect(res.body).toEqual({ ...request, status: 'rejected', respondedAt: expect.stringMatching(ISO) });
      expect(await friendIds(a)).toEqual([]);
      expect(await friendIds(b)).toEqual([]);
      await expectNoPending(a, b);
    });

    it('lets only the addressee answer: the sender is forbidden, anyone else sees nothing', async () => {
      const [a, b, stranger] = await Promise.all([user(), user(), user()]);
      const request = await requestFriend(a, b);
      expectError(await answer(a, request.id, 'accept'), 403, 'FORBIDDEN');
      expectError(await answer(a, request.id, 'reject'), 403, 'FORBIDDEN');
      expectError(await answer(stranger, request.id, 'accept'), 404, 'NOT_FOUND');
      expectError(await answer(stranger, request.id, 'reject'), 404, 'NOT_FOUND');
      expect(await pending(b, 'incoming')).toEqual([request]);
      expect(await friendIds(a)).toEqual([]);
    });

    it('answers 404 for a request id that does not exist', async () => {
      const a = await user();
      expectError(await answer(a, randomUUID(), 'accept'), 404, 'NOT_FOUND');
      expectError(await answer(a, randomUUID(), 'reject'), 404, 'NOT_FOUND');
    });

    it('refuses to answer a request that was already answered', async () => {
      const [a, b, c] = await Promise.all([user(), user(), user()]);
      const accepted = await requestFriend(a, b);
      expect((await answer(b, accepted.id, 'accept')).status).toBe(200);
      expectError(await answer(b, accepted.id, 'accept'), 409, 'CONFLICT');
      expectError(await answer(b, accepted.id, 'reject'), 409, 'CONFLICT');
      expect(await friendIds(b)).toEqual([a.id]);

      const rejected = await requestFriend(c, b);
      expect((await answer(b, rejected.id, 'reject')).status).toBe(200);
      expectError(await answer(b, rejected.id, 'accept'), 409, 'CONFLICT');
      expectError(await answer(b, rejected.id, 'reject'), 409, 'CONFLICT');
      expect(await friendIds(c)).toEqual([]);
    });
  });

  describe('friends list', () => {
    it('lists each friend with their user, since and offline presence', async () => {
      const [a, b] = await Promise.all([user(), user()]);
      expect((await api('GET', '/friends', { token: a.accessToken })).body).toEqual({ items: [], nextCursor: null });
      await befriend(a, b);
      const res = await api('GET', '/friends', { token: a.accessToken });
      expect(res.status).toBe(200);
      expect(res.body).toEqual({
        items: [{ user: b.user, since: expect.stringMatching(ISO), presence: { status: 'offline', lastSeenAt: null } }],
        nextCursor: null,
      });
    });

    it('pages friends with limit and a cursor', async () => {
      const [me, ...others] = await Promise.all([user(), user(), user(), user()]);
      for (const other of others) await befriend(other, me);

      const { items, pages } = await walk(me, '/friends', 2);
      expect(pages).toBe(2);
      expect(items.map((item) => item.user.id).sort()).toEqual(others.map((other) => other.id).sort());

      const whole = await api('GET', '/friends?limit=3', { token: me.accessToken });
      expect(whole.body.items).toHaveLength(3);
      expect(whole.body.nextCursor).toBeNull();
      expectError(await api('GET', '/friends?cursor=garbage', { token: me.accessToken }), 400, 'VALIDATION_FAILED');
      expectError(await api('GET', '/friends?limit=500', { token: me.accessToken }), 400, 'VALIDATION_FAILED');
    });
  });

  describe('unfriending', () => {
    it('unfriends on both sides', async () => {
      const [a, b, c] = await Promise.all([user(), user(), user()]);
      await befriend(a, b);
      await befriend(a, c);
      const res = await api('DELETE', `/friends/${b.id}`, { token: a.accessToken });
      expect(res.status).toBe(204);
      expect(res.body).toBeNull();
      expect(await friendIds(a)).toEqual([c.id]);
      expect(await friendIds(b)).toEqual([]);
      expectError(await api('DELETE', `/friends/${a.id}`, { token: b.accessToken }), 404, 'NOT_FOUND');

      // They can become friends again.
      await befriend(b, a);
      expect(await friendIds(b)).toEqual([a.id]);
    });

    it('answers 404 for unfriending someone who is not a friend', async () => {
      const [a, stranger] = await Promise.all([user(), user()]);
      await requestFriend(a, stranger);
      expectError(await api('DELETE', `/friends/${stranger.id}`, { token: a.accessToken }), 404, 'NOT_FOUND');
      expectError(await api('DELETE', `/friends/${randomUUID()}`, { token: a.accessToken }), 404, 'NOT_FOUND');
      expect(await pending(a, 'outgoing')).toHaveLength(1);
    });
  });

  describe('blocks', () => {
    const block = (who: TestUser, target: { id: string }) => api('POST', '/blocks', { token: who.accessToken, body: { userId: target.id } });
    const unblock = (who: TestUser, target: { id: string }) => api('DELETE', `/blocks/${target.id}`, { token: who.accessToken });

    it('keeps a blocked user from sending the blocker a friend request', async () => {
      const [blocker, blocked] = await Promise.all([user(), user()]);
      const res = await block(blocker, blocked);
      expect(res.status).toBe(204);
      expect(res.body).toBeNull();
      expectError(await sendRequest(blocked, blocker), 403, 'FORBIDDEN');
      await expectNoPending(blocker, blocked);
    });

    it('keeps the blocker from sending a request until they unblock, then requests work again', async () => {
      const [blocker, blocked] = await Promise.all([user(), user()]);
      expect((await block(blocker, blocked)).status).toBe(204);
      expectError(await sendRequest(blocker, blocked), 403, 'FORBIDDEN');

      const res = await unblock(blocker, blocked);
      expect(res.status).toBe(204);
      expect(res.body).toBeNull();
      const request = await requestFriend(blocked, blocker, 'sorry');
      expect(await pending(blocker, 'incoming')).toEqual([request]);
      const crossing = await sendRequest(blocker, blocked);
      expect(crossing.status).toBe(201);
      expect(crossing.body.status).toBe('accepted');
      expect(await friendIds(blocker)).toEqual([blocked.id]);
    });

    it('ends an existing friendship on both sides', async () => {
      const [a, b, c] = await Promise.all([user(), user(), user()]);
      await befriend(a, b);
      await befriend(a, c);
      expect((await block(b, a)).status).toBe(204);
      expect(await friendIds(a)).toEqual([c.id]);
      expect(await friendIds(b)).toEqual([]);
      expectError(await api('DELETE', `/friends/${b.id}`, { token: a.accessToken }), 404, 'NOT_FOUND');
    });

    it('cancels pending requests between the two, in either direction, and no others', async () => {
      const [blocker, asked, asker, bystander] = await Promise.all([user(), user(), user(), user()]);
      const outgoing = await requestFriend(blocker, asked);
      const incoming = await requestFriend(asker, blocker);
      const unrelated = await requestFriend(bystander, blocker);

      expect((await block(blocker, asked)).status).toBe(204);
      expect((await block(blocker, asker)).status).toBe(204);

      expect(await pending(blocker, 'outgoing')).toEqual([]);
      expect(await pending(blocker, 'incoming')).toEqual([unrelated]);
      await expectNoPending(asked, asker);
      expectError(await answer(asked, outgoing.id, 'accept'), 409, 'CONFLICT');
      expectError(await answer(blocker, incoming.id, 'accept'), 409, 'CONFLICT');
      expect(await friendIds(blocker)).toEqual([]);
      expect(await friendIds(asked)).toEqual([]);
    });

    it('refuses to block the same user twice', async () => {
      const [a, b] = await Promise.all([user(), user()]);
      expect((await block(a, b)).status).toBe(204);
      expectError(await block(a, b), 409, 'CONFLICT');
      expect((await api('GET', '/blocks', { token: a.accessToken })).body.items).toHaveLength(1);
    });

    it('answers 404 for blocking an unknown user and 400 for blocking oneself or sending no userId', async () => {
      const a = await user();
      expectError(await block(a, { id: randomUUID() }), 404, 'NOT_FOUND');
      const self = expectError(await block(a, a), 400, 'VALIDATION_FAILED');
      expect(self.details).toEqual([expect.objectContaining({ field: 'userId' })]);
      const missing = expectError(await api('POST', '/blocks', { token: a.accessToken, body: {} }), 400, 'VALIDATION_FAILED');
      expect(missing.details).toEqual([expect.objectContaining({ field: 'userId' })]);
      expect((await api('GET', '/blocks', { token: a.accessToken })).body).toEqual({ items: [], nextCursor: null });
    });

    it('lists the users the caller has blocked, with when', async () => {
      const [me, first, second] = await Promise.all([user(), user(), user()]);
      expect((await api('GET', '/blocks', { token: me.accessToken })).body).toEqual({ items: [], nextCursor: null });
      expect((await block(me, first)).status).toBe(204);
      expect((await block(me, second)).status).toBe(204);

      const res = await api('GET', '/blocks', { token: me.accessToken });
      expect(res.status).toBe(200);
      const byUserId = (items: any[]) => [...items].sort((x, y) => (x.user.id < y.user.id ? -1 : 1));
      expect(byUserId(res.body.items)).toEqual(
        byUserId([
          { user: first.user, blockedAt: expect.stringMatching(ISO) },
          { user: second.user, blockedAt: expect.stringMatching(ISO) },
        ]),
      );
      // Being blocked does not show up in one's own list.
      expect((await api('GET', '/blocks', { token: first.accessToken })).body).toEqual({ items: [], nextCursor: null });

      expect((await unblock(me, first)).status).toBe(204);
      expect((await api('GET', '/blocks', { token: me.accessToken })).body).toEqual({
        items: [{ user: second.user, blockedAt: expect.stringMatching(ISO) }],
        nextCursor: null,
      });
    });

    it('answers 404 for unblocking someone who is not blocked', async () => {
      const [a, b] = await Promise.all([user(), user()]);
      expectError(await unblock(a, b), 404, 'NOT_FOUND');
      expectError(await unblock(a, { id: randomUUID() }), 404, 'NOT_FOUND');
      expect((await block(a, b)).status).toBe(204);
      expectError(await unblock(b, a), 404, 'NOT_FOUND');
      expect((await unblock(a, b)).status).toBe(204);
      expectError(await unblock(a, b), 404, 'NOT_FOUND');
    });
  });

  describe('guests', () => {
    it('lets a guest send and accept friend requests', async () => {
      const [visitor, a, b] = await Promise.all([guest('Visitor 🌍'), user(), user()]);
      const sent = await requestFriend(visitor, a, 'hello from a guest');
      expect(sent.fromUser).toEqual(visitor.user);
      expect(sent.fromUser.isGuest).toBe(true);
      expect((await answer(a, sent.id, 'accept')).status).toBe(200);

      const received = await requestFriend(b, visitor);
      expect(received.toUser.isGuest).toBe(true);
      const accepted = await answer(visitor, received.id, 'accept');
      expect(accepted.status).toBe(200);
      expect(accepted.body.status).toBe('accepted');

      expect(await friendIds(visitor)).toEqual([a.id, b.id].sort());
      expect(await friendIds(a)).toEqual([visitor.id]);
      expect(await friendIds(b)).toEqual([visitor.id]);
    });
  });
});

describe(`friend request and unfriend events (${storageLabel})`, () => {
  const suite = useTestServer();
  const crowd = people(() => suite.server.url);
  afterEach(() => crowd.closeAll());

  it('tells both users of a new and an accepted request, only the addressee of a rejection, and both of an unfriending', async () => {
    const alice = await crowd.user();
    const bob = await crowd.user();
    const aliceTablet = await crowd.device(alice);
    const carol = await crowd.user();

    // Sent: the addressee sees it arrive, the sender's other device sees it too.
    const atBob = nextEvent(bob.socket, 'friend_request');
    const atTablet = nextEvent(aliceTablet.socket, 'friend_request');
    const sent = await alice.client.request<FriendRequest>('POST', '/friend-requests', { toUserId: bob.id, message: 'hi 👋' });
    for (const event of [await atBob, await atTablet]) expect(event.request).toEqual(sent);
    expect(sent).toMatchObject({ status: 'pending', fromUser: { id: alice.id }, toUser: { id: bob.id }, message: 'hi 👋' });

    // Accepted: both hear it, with the answered request.
    const acceptedAtAlice = nextEvent(alice.socket, 'friend_request', (event) => event.request.status === 'accepted');
    const accepted = await bob.client.request<FriendRequest>('POST', `/friend-requests/${sent.id}/accept`);
    expect((await acceptedAtAlice).request).toEqual(accepted);
    expect(accepted).toMatchObject({ id: sent.id, status: 'accepted' });

    // Rejected: the addressee's devices hear it; the sender is not told.
    const toCarol = await alice.client.request<FriendRequest>('POST', '/friend-requests', { toUserId: carol.id });
    const quietAlice = collect(alice.socket, 'friend_request');
    const rejectedAtCarol = nextEvent(carol.socket, 'friend_request', (event) => event.request.status === 'rejected');
    await carol.client.request('POST', `/friend-requests/${toCarol.id}/reject`);
    expect((await rejectedAtCarol).request).toMatchObject({ id: toCarol.id, status: 'rejected' });
    await barrier(alice.socket);
    expect(quietAlice.filter((event) => event.request.id === toCarol.id)).toEqual([]);

    // Unfriended: each side learns which user left their list.
    const removedAtBob = nextEvent(bob.socket, 'friend_removed');
    const removedAtAlice = nextEvent(alice.socket, 'friend_removed');
    await alice.client.request('DELETE', `/friends/${bob.id}`);
    expect(await removedAtBob).toEqual({ userId: alice.id });
    expect(await removedAtAlice).toEqual({ userId: bob.id });
  });
});
