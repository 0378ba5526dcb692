import { createHmac, randomUUID } from 'node:crypto';
import http, { type IncomingHttpHeaders } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { type ApiResponse, apiClient, expectError } from './support/http.js';
import { sampleValue } from './support/metrics.js';
import { spawnServer } from './support/process.js';
import { registerClient } from './support/realtime.js';
import { createTestEnvironment, storageLabel, testEnvVars } from './support/server.js';
import { useTestServer } from './support/suite.js';

interface Received {
  headers: IncomingHttpHeaders;
  body: string;
}

/** A local HTTP receiver: records every POST and answers with what `respond` says (200 unless told). */
async function startReceiver() {
  const received: Received[] = [];
  let respond: (request: Received, index: number) => number = () => 200;
  const server = http.createServer((req, res) => {
    let body = '';
    req.on('data', (chunk: Buffer) => (body += chunk.toString('utf8')));
    req.on('end', () => {
      const request = { headers: req.headers, body };
      received.push(request);
      res.statusCode = respond(request, received.length - 1);
      res.end('ok');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`,
    received,
    answer(fn: (request: Received, index: number) => number) {
      respond = fn;
    },
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

/** The recipe of docs/webhooks.md: hex HMAC-SHA256 of `<timestamp>.<raw body>` with the secret, prefixed v1=. */
function verify(secret: string, request: Received): boolean {
  const expected = `v1=${createHmac('sha256', secret).update(`${request.headers['parley-timestamp']}.${request.body}`).digest('hex')}`;
  return request.headers['parley-signature'] === expected;
}

const METRICS = 'webhook-metrics-token-0123456789';
const FAST = { OUTBOUND_ALLOW_PRIVATE: 'true', WEBHOOK_RETRY_BASE_MS: '50', WEBHOOK_MAX_ATTEMPTS: '4', WEBHOOK_POLL_MS: '50', WEBHOOK_TIMEOUT_MS: '2000' };

describe(`outgoing webhooks (${storageLabel})`, () => {
  const suite = useTestServer({ ...FAST, INCOMING_WEBHOOK_POSTS_PER_MINUTE: '3', METRICS_TOKEN: METRICS });
  const receivers: Array<Awaited<ReturnType<typeof startReceiver>>> = [];
  afterEach(async () => {
    for (const receiver of receivers.splice(0)) await receiver.close();
  });
  const call = <T = any>(who: { client: { accessToken: string | undefined } } | undefined, method: string, path: string, body?: unknown): Promise<ApiResponse<T>> =>
    suite.api<T>(method, path, { token: who?.client.accessToken, body });
  const receiver = async () => {
    const r = await startReceiver();
    receivers.push(r);
    return r;
  };

  async function subscribed(events = ['message.created']) {
    const owner = await registerClient(suite.server.url);
    const group = (await call(owner, 'POST', '/groups', { name: 'hooked' })).body;
    const target = await receiver();
    const hook = await call(owner, 'POST', '/webhooks', { url: target.url, events, conversationIds: [`g.${group.id}`] });
    expect(hook.status).toBe(201);
    const send = (content: string) => call(owner, 'POST', `/conversations/g.${group.id}/messages`, { type: 'text', content, clientMsgId: randomUUID() });
    return { owner, group, target, hook: hook.body, send };
  }

  const deliveries = async (owner: { client: { accessToken: string | undefined } }, hookId: string) => (await call(owner, 'GET', `/webhooks/${hookId}/deliveries`)).body.items;

  it('delivers a signed message.created that verifies with the documented recipe; the secret is shown once', async () => {
    const { owner, hook, target, send } = await subscribed();
    expect(hook.secret).toMatch(/^whsec_/);
    expect((await call(owner, 'GET', '/webhooks')).body.items[0]).not.toHaveProperty('secret');
    const sent = (await send('hello hooks')).body;
    await expect.poll(() => target.received.length, { timeout: 10_000 }).toBe(1);
    const request = target.received[0] as Received;
    expect(verify(hook.secret, request)).toBe(true);
    expect(verify('whsec_wrong', request)).toBe(false);
    const body = JSON.parse(request.body);
    expect(request.headers['parley-webhook-id']).toBe(body.id);
    expect(request.headers['content-type']).toBe('application/json');
    expect(body).toMatchObject({ event: 'message.created', webhookId: hook.id, data: { message: { id: sent.id, content: 'hello hooks' } } });
    await expect.poll(async () => (await deliveries(owner, hook.id))[0]?.status).toBe('delivered');
  });

  it('retries with backoff: a receiver failing three times gets the delivery on the fourth try', async () => {
    const { owner, hook, target, send } = await subscribed();
    target.answer((_request, index) => (index < 3 ? 500 : 200));
    await send('retry me');
    await expect.poll(async () => (await deliveries(owner, hook.id))[0]?.status, { timeout: 10_000 }).toBe('delivered');
    expect(target.received).toHaveLength(4);
    expect(new Set(target.received.map((r) => r.headers['parley-webhook-id'])).size).toBe(1);
    const [delivery] = await deliveries(owner, hook.id);
    expect(delivery).toMatchObject({ attempts: 4, lastStatus: 200 });
    const scraped = await fetch(`${suite.server.url}/metrics`, { headers: { authorization: `Bearer ${METRICS}` } });
    const text = await scraped.text();
    expect(sampleValue(text, 'parley_webhook_deliveries_total', { outcome: 'failed' })).toBeGreaterThanOrEqual(3);
    expect(sampleValue(text, 'parley_webhook_deliveries_total', { outcome: 'delivered' })).toBeGreaterThanOrEqual(1);
  });

  it('marks a delivery dead after the last attempt, and replays it on request', async () => {
    const { owner, hook, target, send } = await subscribed();
    target.answer(() => 503);
    await send('doomed');
    await expect.poll(async () => (await deliveries(owner, hook.id))[0]?.status, { timeout: 10_000 }).toBe('dead');
    const [dead] = await deliveries(owner, hook.id);
    expect(dead).toMatchObject({ attempts: 4, lastStatus: 503, lastError: 'HTTP 503' });
    expect(target.received).toHaveLength(4);
    target.answer(() => 204);
    const replay = await call(owner, 'POST', `/webhooks/${hook.id}/deliveries/${dead.id}/replay`);
    expect(replay.status).toBe(200);
    await expect.poll(async () => (await deliveries(owner, hook.id))[0]?.status, { timeout: 10_000 }).toBe('delivered');
    expect(target.received.at(-1)?.headers['parley-webhook-id']).toBe(dead.id);
    const stranger = await registerClient(suite.server.url);
    expectError(await call(stranger, 'POST', `/webhooks/${hook.id}/deliveries/${dead.id}/replay`), 404, 'NOT_FOUND');
    expectError(await call(stranger, 'GET', `/webhooks/${hook.id}/deliveries`), 404, 'NOT_FOUND');
    expectError(await call(owner, 'POST', `/webhooks/${hook.id}/deliveries/${randomUUID()}/replay`), 404, 'NOT_FOUND');
  });

  it('lets a deduplicating receiver see exactly one logical event per idempotency id', async () => {
    const { target, send } = await subscribed();
    // Every delivery's first attempt fails after the receiver has seen it (as a lost answer would).
    const seen = new Set<string>();
    target.answer((request) => {
      const id = request.headers['parley-webhook-id'] as string;
      if (seen.has(id)) return 200;
      seen.add(id);
      return 500;
    });
    const ids = [];
    for (let i = 0; i < 5; i++) ids.push((await send(`m${i}`)).body.id);
    await expect.poll(() => target.received.length, { timeout: 10_000 }).toBe(10);
    const logical = new Map<string, string>();
    for (const request of target.received) logical.set(request.headers['parley-webhook-id'] as string, JSON.parse(request.body).data.message.id);
    expect(logical.size).toBe(5);
    expect([...logical.values()].sort()).toEqual([...ids].sort());
  });

  it('sends member.changed for membership changes, not message.created for them', async () => {
    const { owner, group, target, hook } = await subscribed(['member.changed']);
    const bot = (await call(owner, 'POST', '/bots', { username: `b_${randomUUID().slice(0, 8)}` })).body;
    await call(owner, 'POST', `/groups/${group.id}/members`, { userIds: [bot.user.id] });
    await expect.poll(() => target.received.length, { timeout: 10_000 }).toBe(1);
    const body = JSON.parse((target.received[0] as Received).body);
    expect(body).toMatchObject({ event: 'member.changed', data: { conversationId: `g.${group.id}`, change: 'member_added', actorId: owner.id, userIds: [bot.user.id] } });
    expect(verify(hook.secret, target.received[0] as Received)).toBe(true);
  });

  it('sends bot.mentioned to a bot owner subscription when the bot is @mentioned', async () => {
    const owner = await registerClient(suite.server.url);
    const username = `b_${randomUUID().slice(0, 8)}`;
    const bot = (await call(owner, 'POST', '/bots', { username })).body;
    const group = (await call(owner, 'POST', '/groups', { name: 'ping', memberIds: [bot.user.id] })).body;
    const target = await receiver();
    const hook = await call(owner, 'POST', '/webhooks', { url: target.url, events: ['bot.mentioned'], conversationIds: [`g.${group.id}`], botId: bot.user.id });
    expect(hook.status).toBe(201);
    await call(owner, 'POST', `/conversations/g.${group.id}/messages`, { type: 'text', content: 'no mention', clientMsgId: randomUUID() });
    // Neither a longer name nor an e-mail address mentions the bot.
    await call(owner, 'POST', `/conversations/g.${group.id}/messages`, { type: 'text', content: `ask @${username}2 or mail ops@${username}.example`, clientMsgId: randomUUID() });
    await call(owner, 'POST', `/conversations/g.${group.id}/messages`, { type: 'text', content: `hey @${username} help`, clientMsgId: randomUUID() });
    await expect.poll(() => target.received.length, { timeout: 10_000 }).toBe(1);
    expect(JSON.parse((target.received[0] as Received).body)).toMatchObject({
      event: 'bot.mentioned',
      data: { botId: bot.user.id, message: { content: `hey @${username} help` } },
    });
    expectError(await call(owner, 'POST', '/webhooks', { url: target.url, events: ['bot.mentioned'], conversationIds: [`g.${group.id}`] }), 400, 'VALIDATION_FAILED');
  });

  it('subscribes only to conversations the caller administers; deletes', async () => {
    const { owner, group, hook } = await subscribed();
    const member = await registerClient(suite.server.url);
    const link = (await call(owner, 'POST', `/groups/${group.id}/invite-links`, {})).body;
    await call(member, 'POST', `/invites/${link.code}/accept`);
    expectError(await call(member, 'POST', '/webhooks', { url: 'http://127.0.0.1:9/x', events: ['message.created'], conversationIds: [`g.${group.id}`] }), 403, 'FORBIDDEN');
    const stranger = await registerClient(suite.server.url);
    expectError(await call(stranger, 'POST', '/webhooks', { url: 'http://127.0.0.1:9/x', events: ['message.created'], conversationIds: [`g.${group.id}`] }), 404, 'NOT_FOUND');
    expectError(await call(owner, 'POST', '/webhooks', { url: 'ftp://127.0.0.1/x', events: ['message.created'], conversationIds: [`g.${group.id}`] }), 422, 'WEBHOOK_URL_REFUSED');
    expectError(
      await call(owner, 'POST', '/webhooks', { url: 'http://169.254.169.254/latest', events: ['message.created'], conversationIds: [`g.${group.id}`] }),
      422,
      'WEBHOOK_URL_REFUSED',
    );
    expectError(await call(stranger, 'DELETE', `/webhooks/${hook.id}`), 404, 'NOT_FOUND');
    expect((await call(owner, 'DELETE', `/webhooks/${hook.id}`)).status).toBe(204);
    expectError(await call(owner, 'GET', `/webhooks/${hook.id}/deliveries`), 404, 'NOT_FOUND');
  });

  it('incoming webhooks: a secret URL posts as a bot into the group, with its own rate limit, until revoked', async () => {
    const owner = await registerClient(suite.server.url);
    const group = (await call(owner, 'POST', '/groups', { name: 'ci' })).body;
    const created = await call(owner, 'POST', `/conversations/g.${group.id}/incoming-webhooks`, { nickname: 'CI' });
    expect(created.status).toBe(201);
    expect(created.body.bot).toMatchObject({ bot: true, nickname: 'CI' });
    const path = (created.body.url as string).replace('/api/v1', '');
    const posted = await call(undefined, 'POST', path, { text: 'build green' });
    expect(posted.status).toBe(201);
    expect(posted.body.senderId).toBe(created.body.bot.id);
    const history = await call(owner, 'GET', `/conversations/g.${group.id}/messages`);
    expect(history.body.items.some((m: { content: string }) => m.content === 'build green')).toBe(true);
    expect((await call(undefined, 'POST', path, { text: '2' })).status).toBe(201);
    expect((await call(undefined, 'POST', path, { text: '3' })).status).toBe(201);
    expectError(await call(undefined, 'POST', path, { text: '4' }), 429, 'RATE_LIMITED');
    const member = await registerClient(suite.server.url);
    expectError(await call(member, 'POST', `/conversations/g.${group.id}/incoming-webhooks`, {}), 404, 'NOT_FOUND');
    expect((await call(owner, 'GET', `/conversations/g.${group.id}/incoming-webhooks`)).body.items).toHaveLength(1);
    expect((await call(owner, 'DELETE', `/conversations/g.${group.id}/incoming-webhooks/${created.body.id}`)).status).toBe(204);
    expectError(await call(undefined, 'POST', path, { text: 'after' }), 404, 'NOT_FOUND');
    expectError(await call(undefined, 'POST', '/hooks/AAAAAAAAAAAAAAAAAAAAAAAAAAAA', { text: 'x' }), 404, 'NOT_FOUND');
    expectError(await call(undefined, 'POST', path, { text: 'x', extra: true }), 400, 'VALIDATION_FAILED');
  });
});

describe(`webhook outbox with two server processes (${storageLabel})`, () => {
  const suite = useTestServer(FAST, { servers: 2 });

  it('sends each delivery once: a row is claimed by one process only', async () => {
    const target = await startReceiver();
    try {
      const owner = await registerClient(suite.servers[0]!.url);
      const token = owner.client.accessToken;
      const group = (await suite.api('POST', '/groups', { token, body: { name: 'two' } })).body;
      const hook = await suite.api('POST', '/webhooks', { token, body: { url: target.url, events: ['message.created'], conversationIds: [`g.${group.id}`] } });
      expect(hook.status).toBe(201);
      // Half the messages through each process, so both dispatchers have rows and wake up.
      for (let i = 0; i < 20; i++) {
        const api = apiClient(suite.servers[i % 2]!.url);
        expect((await api('POST', `/conversations/g.${group.id}/messages`, { token, body: { type: 'text', content: `n${i}`, clientMsgId: randomUUID() } })).status).toBe(201);
      }
      await expect.poll(() => target.received.length, { timeout: 15_000 }).toBe(20);
      // Let a double send (if any) arrive before counting.
      await new Promise((resolve) => setTimeout(resolve, 500));
      const ids = target.received.map((r) => r.headers['parley-webhook-id']);
      expect(new Set(ids).size).toBe(20);
      expect(ids).toHaveLength(20);
    } finally {
      await target.close();
    }
  });
});

describe(`webhook addresses without OUTBOUND_ALLOW_PRIVATE (${storageLabel})`, () => {
  const suite = useTestServer({});
  it('refuses a loopback URL at subscribe time with WEBHOOK_URL_REFUSED', async () => {
    const owner = await registerClient(suite.server.url);
    const group = (await suite.api('POST', '/groups', { token: owner.client.accessToken, body: { name: 'g' } })).body;
    for (const url of ['http://127.0.0.1:8080/hook', 'http://localhost/hook', 'http://[::1]/hook', 'http://10.0.0.1/hook']) {
      const res = await suite.api('POST', '/webhooks', { token: owner.client.accessToken, body: { url, events: ['message.created'], conversationIds: [`g.${group.id}`] } });
      expectError(res, 422, 'WEBHOOK_URL_REFUSED');
    }
  });
});

describe(`webhook outbox across a restart (${storageLabel})`, () => {
  const cleanups: Array<() => Promise<unknown>> = [];
  afterAll(async () => {
    for (const cleanup of cleanups.reverse()) await cleanup();
  });

  it('delivers after a restart a delivery that was pending when the server was killed', async () => {
    const env = await createTestEnvironment();
    cleanups.push(() => env.dispose());
    const target = await startReceiver();
    cleanups.push(() => target.close());
    // The receiver is down at first: every attempt fails, the row stays pending with a long backoff.
    target.answer(() => 500);
    const vars = testEnvVars(env, { ...FAST, WEBHOOK_RETRY_BASE_MS: '1500', WEBHOOK_MAX_ATTEMPTS: '10' });
    const first = await spawnServer(vars);
    cleanups.push(async () => first.child.kill('SIGKILL'));
    const api = apiClient(first.url);
    const owner = await registerClient(first.url);
    const token = owner.client.accessToken;
    const group = (await api('POST', '/groups', { token, body: { name: 'durable' } })).body;
    const hook = (await api('POST', '/webhooks', { token, body: { url: target.url, events: ['message.created'], conversationIds: [`g.${group.id}`] } })).body;
    await api('POST', `/conversations/g.${group.id}/messages`, { token, body: { type: 'text', content: 'survive', clientMsgId: randomUUID() } });
    await expect.poll(() => target.received.length, { timeout: 10_000 }).toBeGreaterThanOrEqual(1);
    first.child.kill('SIGKILL');
    await first.exited;
    const failedBefore = target.received.length;
    target.answer(() => 200);
    const second = await spawnServer(vars);
    cleanups.push(async () => {
      second.child.kill('SIGTERM');
      await second.exited;
    });
    await expect.poll(() => target.received.length, { timeout: 20_000 }).toBe(failedBefore + 1);
    const delivered = target.received.at(-1) as Received;
    expect(verify(hook.secret, delivered)).toBe(true);
    expect(JSON.parse(delivered.body).data.message.content).toBe('survive');
    const log = await apiClient(second.url)('GET', `/webhooks/${hook.id}/deliveries`, { token });
    expect(log.body.items[0]).toMatchObject({ status: 'delivered' });
    // Two process starts: on a fresh MariaDB or PostgreSQL database the migrations alone take seconds.
  }, 120_000);
});
