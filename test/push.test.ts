import { statSync } from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { ParleyClient, rest } from '../src/client/index.js';
import { createGroup, expectFailure, openPrivate, people, sendText } from './support/messaging.js';
import { sampleValue } from './support/metrics.js';
import type { BrowserSubscription } from './support/push-service.js';
import { registerClient, settle } from './support/realtime.js';
import { createTestEnvironment, startServer, storageLabel } from './support/server.js';
import { useTestServerWithFakePush } from './support/suite.js';

const METRICS = 'push-test-metrics-token';
const body = (subscription: BrowserSubscription, previews?: boolean) => ({
  endpoint: subscription.endpoint,
  keys: subscription.keys,
  ...(previews === undefined ? {} : { previews }),
});

describe(`Web Push (${storageLabel})`, () => {
  const { suite, service } = useTestServerWithFakePush({ PUSH_SUBSCRIPTIONS_PER_USER: '3', METRICS_TOKEN: METRICS, PUSH_MAX_ATTEMPTS: '3', PUSH_RETRY_BASE_MS: '100' });
  const crowd = people(() => suite.server.url);
  afterEach(() => {
    crowd.closeAll();
    // Every request that reached the push service decrypted and carried a valid VAPID JWT.
    expect(service().rejected).toEqual([]);
  });

  /** A user with no socket open, with one subscribed device. */
  async function offlineSubscriber(previews?: boolean) {
    const user = await registerClient(suite.server.url);
    const device = service().subscription();
    const subscribed = await rest(user.client).push.subscribe(body(device, previews));
    return { ...user, device, subscribed };
  }

  it('serves the VAPID public key without sign-in, as an uncompressed P-256 point', async () => {
    const { publicKey } = await rest(new ParleyClient(suite.server.url)).push.vapidPublicKey();
    const point = Buffer.from(publicKey, 'base64url');
    expect(point).toHaveLength(65);
    expect(point[0]).toBe(4);
  });

  it('subscribes, upserts by endpoint, lists and unsubscribes only the caller’s own devices, and validates every field', async () => {
    const alice = await registerClient(suite.server.url);
    const bob = await registerClient(suite.server.url);
    const device = service().subscription();
    const first = await rest(alice.client).push.subscribe(body(device));
    expect(first).toMatchObject({ endpoint: device.endpoint, previews: false, thisSession: true });
    // The same endpoint again: the same subscription, updated.
    const again = await rest(alice.client).push.subscribe({ ...body(device, true), expirationTime: null });
    expect(again).toMatchObject({ id: first.id, previews: true });
    expect((await rest(alice.client).push.list()).items).toEqual([again]);
    expect((await rest(bob.client).push.list()).items).toEqual([]);

    // Someone else's id is unknown to Bob; nobody signed in gets nothing.
    await expectFailure(rest(bob.client).push.unsubscribe(first.id), 'NOT_FOUND', 404);
    await expectFailure(rest(new ParleyClient(suite.server.url)).push.subscribe(body(service().subscription())), 'UNAUTHORIZED', 401);
    await expectFailure(rest(new ParleyClient(suite.server.url)).push.list(), 'UNAUTHORIZED', 401);

    const other = service().subscription();
    const invalid: unknown[] = [
      {},
      { endpoint: other.endpoint },
      { endpoint: other.endpoint, keys: { p256dh: other.keys.p256dh } },
      { endpoint: other.endpoint, keys: { ...other.keys, extra: 'x' } },
      { ...body(other), unknown: true },
      { ...body(other), previews: 'yes' },
      { endpoint: other.endpoint, keys: { p256dh: 'not base64 !', auth: other.keys.auth } },
      { ...body(other), endpoint: 'not a url at all' },
      { ...body(other), endpoint: 'ftp://127.0.0.1/push/x' },
      { ...body(other), endpoint: 'http://user:pw@127.0.0.1/push/x' },
      { ...body(other), endpoint: 'https://169.254.169.254/push/x' },
      { ...body(other), endpoint: 'https://no-such-host.invalid/push/x' },
    ];
    for (const input of invalid) await expectFailure(alice.client.request('POST', '/push/subscriptions', input), 'VALIDATION_FAILED', 400);

    await rest(alice.client).push.unsubscribe(first.id);
    expect((await rest(alice.client).push.list()).items).toEqual([]);
    await expectFailure(rest(alice.client).push.unsubscribe(first.id), 'NOT_FOUND', 404);
  });

  it('keeps at most PUSH_SUBSCRIPTIONS_PER_USER devices per user, replacing the oldest', async () => {
    const alice = await registerClient(suite.server.url);
    const made = [];
    for (let i = 0; i < 4; i++) made.push(await rest(alice.client).push.subscribe(body(service().subscription())));
    expect((await rest(alice.client).push.list()).items.map((item) => item.id).sort()).toEqual(
      made
        .slice(1)
        .map((item) => item.id)
        .sort(),
    );
  });

  it('pushes a private message to a recipient with no socket open: decrypted, VAPID-signed, no text without previews', async () => {
    const alice = await crowd.user();
    const bob = await offlineSubscriber();
    const conversationId = await openPrivate(alice.client, bob.id);
    const message = await sendText(alice.client, conversationId, 'the secret plan');
    const push = await service().next(bob.device.endpoint, (p) => p.payload.messageId === message.id);
    expect(push.payload).toEqual({ type: 'message', conversationId, messageId: message.id, senderName: alice.username });
    expect(push.vapid.publicKey).toBe((await rest(alice.client).push.vapidPublicKey()).publicKey);
    expect(push.vapid.claims.aud).toBe(service().url);
    expect(Number(push.headers.ttl)).toBeGreaterThan(0);
  });

  it('carries the text when the subscription allows previews', async () => {
    const alice = await crowd.user();
    const bob = await offlineSubscriber(true);
    const conversationId = await openPrivate(alice.client, bob.id);
    const message = await sendText(alice.client, conversationId, '见面 at 7 ✨');
    const push = await service().next(bob.device.endpoint, (p) => p.payload.messageId === message.id);
    expect(push.payload).toEqual({ type: 'message', conversationId, messageId: message.id, senderName: alice.username, text: '见面 at 7 ✨' });
  });

  it('sends nothing while the recipient has a socket open, and pushes once they have none', async () => {
    const alice = await crowd.user();
    const bob = await offlineSubscriber(true);
    const bobSocket = await bob.client.connect();
    expect(bobSocket.connected).toBe(true);
    const conversationId = await openPrivate(alice.client, bob.id);
    const whileOnline = await sendText(alice.client, conversationId, 'are you there?');
    await settle(300);
    bob.client.disconnect();
    await expect.poll(() => suite.server.app.services.presence.hasOpenSocket(bob.id)).toBe(false);
    const whileOffline = await sendText(alice.client, conversationId, 'call me');
    await service().next(bob.device.endpoint, (p) => p.payload.messageId === whileOffline.id);
    await settle(200);
    const ids = service()
      .received.filter((p) => p.endpoint === bob.device.endpoint)
      .map((p) => p.payload.messageId);
    expect(ids).toEqual([whileOffline.id]);
    expect(ids).not.toContain(whileOnline.id);
  });

  it('pushes group messages to offline members, never from someone the member blocked', async () => {
    const owner = await crowd.user();
    const carol = await crowd.user();
    const dave = await crowd.user();
    const group = await createGroup(owner.client, [carol, dave]);
    const carolDevice = service().subscription();
    const daveDevice = service().subscription();
    await rest(carol.client).push.subscribe(body(carolDevice, true));
    await rest(dave.client).push.subscribe(body(daveDevice, true));
    await rest(dave.client).friends.block(owner.id);
    carol.client.disconnect();
    dave.client.disconnect();
    await expect
      .poll(async () => (await suite.server.app.services.presence.hasOpenSocket(carol.id)) || (await suite.server.app.services.presence.hasOpenSocket(dave.id)))
      .toBe(false);

    const message = await sendText(owner.client, group.conversationId, 'standup in 5');
    const push = await service().next(carolDevice.endpoint, (p) => p.payload.messageId === message.id);
    expect(push.payload).toEqual({ type: 'message', conversationId: group.conversationId, messageId: message.id, senderName: owner.username, text: 'standup in 5' });
    await settle(300);
    expect(service().hits(daveDevice.endpoint)).toBe(0);
  });

  it('follows each member’s notification setting: a muted chat never pushes, mentions-only pushes only a mention', async () => {
    const owner = await crowd.user();
    const carol = await crowd.user();
    const dave = await crowd.user();
    const group = await createGroup(owner.client, [carol, dave]);
    const carolDevice = service().subscription();
    const daveDevice = service().subscription();
    await rest(carol.client).push.subscribe(body(carolDevice, true));
    await rest(dave.client).push.subscribe(body(daveDevice, true));
    await rest(carol.client).conversations.setNotifications(group.conversationId, { level: 'mentions' });
    await rest(dave.client).conversations.setNotifications(group.conversationId, { level: 'none' });
    carol.client.disconnect();
    dave.client.disconnect();
    await expect
      .poll(async () => (await suite.server.app.services.presence.hasOpenSocket(carol.id)) || (await suite.server.app.services.presence.hasOpenSocket(dave.id)))
      .toBe(false);

    await sendText(owner.client, group.conversationId, 'lunch is here');
    const mention = await sendText(owner.client, group.conversationId, `@${carol.username} and @${dave.username}, your order`);
    const push = await service().next(carolDevice.endpoint, (p) => p.payload.messageId === mention.id);
    expect(push.payload.text).toContain('your order');
    await settle(300);
    // Carol heard only the mention; Dave, who muted the chat, nothing even when mentioned.
    expect(service().hits(carolDevice.endpoint)).toBe(1);
    expect(service().hits(daveDevice.endpoint)).toBe(0);
  });

  it('pushes an incoming call to a callee with no socket open', async () => {
    const alice = await crowd.user();
    const bob = await offlineSubscriber();
    const result = await alice.client.emit('call_request', { toUserId: bob.id, media: 'video' });
    expect(result.state).toBe('missed');
    const push = await service().next(bob.device.endpoint, (p) => p.payload.type === 'call');
    expect(push.payload).toEqual({ type: 'call', conversationId: await openPrivate(alice.client, bob.id), senderName: alice.username, media: 'video' });
  });

  it('drops a subscription the push service answers 410 Gone (and 404), and keeps one it answers 500 (retried, then given up)', async () => {
    const alice = await crowd.user();
    const bob = await offlineSubscriber();
    const bobTablet = service().subscription();
    const bobLaptop = service().subscription();
    await rest(bob.client).push.subscribe(body(bobTablet));
    await rest(bob.client).push.subscribe(body(bobLaptop));
    service().answer(bob.device.endpoint, 410);
    service().answer(bobTablet.endpoint, 404);
    service().answer(bobLaptop.endpoint, 500);
    const conversationId = await openPrivate(alice.client, bob.id);
    const message = await sendText(alice.client, conversationId, 'hello?');
    await Promise.all([bob.device, bobTablet, bobLaptop].map((d) => service().next(d.endpoint, (p) => p.payload.messageId === message.id)));
    await expect.poll(async () => (await rest(bob.client).push.list()).items.map((item) => item.endpoint)).toEqual([bobLaptop.endpoint]);
    // 500 is worth another try: PUSH_MAX_ATTEMPTS sends in all, then no more; 404 and 410 were asked once.
    await expect.poll(() => service().hits(bobLaptop.endpoint)).toBe(3);
    // Counted by outcome, once per notification.
    const metrics = () => fetch(`${suite.server.url}/metrics`, { headers: { authorization: `Bearer ${METRICS}` } }).then((r) => r.text());
    await expect.poll(async () => sampleValue(await metrics(), 'parley_push_notifications_total', { outcome: 'failed' })).toBeGreaterThanOrEqual(1);
    expect(sampleValue(await metrics(), 'parley_push_notifications_total', { outcome: 'gone' })).toBeGreaterThanOrEqual(2);
    expect(sampleValue(await metrics(), 'parley_push_notifications_total', { outcome: 'sent' })).toBeGreaterThanOrEqual(1);
    await settle(500);
    expect([bob.device, bobTablet, bobLaptop].map((d) => service().hits(d.endpoint))).toEqual([1, 1, 3]);
  });

  it('retries a push the push service answers 503 twice (honouring Retry-After), and the notification arrives', async () => {
    const alice = await crowd.user();
    const bob = await offlineSubscriber(true);
    service().script(bob.device.endpoint, [{ status: 503, retryAfter: '1' }, { status: 503 }]);
    const conversationId = await openPrivate(alice.client, bob.id);
    const message = await sendText(alice.client, conversationId, 'third time lucky');
    const arrived = await service().next(bob.device.endpoint, (p) => p.payload.messageId === message.id && p.status === 201, 10_000);
    expect(arrived.payload.text).toBe('third time lucky');
    const attempts = service().received.filter((p) => p.endpoint === bob.device.endpoint);
    expect(attempts.map((p) => p.status)).toEqual([503, 503, 201]);
    const [first, second, third] = attempts.map((p) => p.at) as [number, number, number];
    // Retry-After: 1 is a second; without it, the backoff's first wait (100 ms ±20 %).
    expect(second - first).toBeGreaterThanOrEqual(950);
    expect(third - second).toBeGreaterThanOrEqual(75);
    expect(third - second).toBeLessThan(950);
    // The subscription stays; nothing more is sent once the push went through.
    await settle(400);
    expect(service().hits(bob.device.endpoint)).toBe(3);
    expect((await rest(bob.client).push.list()).items.map((item) => item.endpoint)).toEqual([bob.device.endpoint]);
  });

  it('retries a push whose connection was cut with no answer, and 429; gives up at once on a Retry-After past the longest wait', async () => {
    const alice = await crowd.user();
    const bob = await offlineSubscriber(true);
    const carol = await offlineSubscriber(true);
    service().script(bob.device.endpoint, ['reset', { status: 429 }]);
    // A Retry-After past the longest wait (5 minutes) is not waited for: given up at once.
    service().script(carol.device.endpoint, [{ status: 503, retryAfter: '3600' }]);
    const toBob = await sendText(alice.client, await openPrivate(alice.client, bob.id), 'after the cut');
    const toCarol = await sendText(alice.client, await openPrivate(alice.client, carol.id), 'much later');
    const arrived = await service().next(bob.device.endpoint, (p) => p.payload.messageId === toBob.id && p.status === 201, 10_000);
    expect(arrived.payload.text).toBe('after the cut');
    expect(service().hits(bob.device.endpoint)).toBe(3);
    await service().next(carol.device.endpoint, (p) => p.payload.messageId === toCarol.id);
    await settle(500);
    expect(service().hits(carol.device.endpoint)).toBe(1);
  });

  it('stops pushing to a session’s devices when that session logs out', async () => {
    const bob = await offlineSubscriber();
    const bobPhone = new ParleyClient(suite.server.url);
    await bobPhone.login({ username: bob.username, password: bob.password });
    const phoneDevice = service().subscription();
    await rest(bobPhone).push.subscribe(body(phoneDevice));
    await rest(bobPhone).auth.logout();
    await expect.poll(async () => (await rest(bob.client).push.list()).items.map((item) => item.endpoint)).toEqual([bob.device.endpoint]);
  });
});

describe(`Web Push keys and address rules (${storageLabel})`, () => {
  it('generates the VAPID keys into DATA_DIR once (0600) and serves the same key after a restart', async () => {
    const env = await createTestEnvironment();
    try {
      const first = await startServer(env);
      const key = (await rest(new ParleyClient(first.url)).push.vapidPublicKey()).publicKey;
      await first.close();
      expect(statSync(path.join(env.dataDir, 'vapid-keys.json')).mode & 0o777).toBe(0o600);
      const second = await startServer(env);
      try {
        expect((await rest(new ParleyClient(second.url)).push.vapidPublicKey()).publicKey).toBe(key);
      } finally {
        await second.close();
      }
    } finally {
      await env.dispose();
    }
  });

  it('uses VAPID keys from the environment, and by default refuses a loopback push endpoint', async () => {
    const env = await createTestEnvironment();
    const keys = {
      publicKey: 'BP95ZNyffByAUWfECNMIjggRFwPT30gEKa-Kx1cOd9UPgRa2gAhF9TgUhYXH4pS7CN7DyhrRshzkBaF2O3cuXfM',
      privateKey: 'J6fEgTeWb9xYB21JKYRu5NfHL6ejRQhLou3vW47H9ZM',
    };
    try {
      const server = await startServer(env, { VAPID_PUBLIC_KEY: keys.publicKey, VAPID_PRIVATE_KEY: keys.privateKey });
      try {
        expect((await rest(new ParleyClient(server.url)).push.vapidPublicKey()).publicKey).toBe(keys.publicKey);
        const user = await registerClient(server.url);
        const keysOfDevice = { p256dh: `B${'A'.repeat(86)}`, auth: 'A'.repeat(22) };
        for (const endpoint of ['http://127.0.0.1:9/push/x', 'https://127.0.0.1/push/x', 'https://localhost/push/x', 'https://10.0.0.1/push/x']) {
          await expectFailure(rest(user.client).push.subscribe({ endpoint, keys: keysOfDevice }), 'VALIDATION_FAILED', 400);
        }
      } finally {
        await server.close();
      }
    } finally {
      await env.dispose();
    }
  });
});
