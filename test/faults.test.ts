import { randomBytes } from 'node:crypto';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { type Ack, type Message, ParleyClient } from '../src/client/index.js';
import { newClientMsgId } from './support/messaging.js';
import { type ServerProcess, spawnServer } from './support/process.js';
import { collect, registerClient } from './support/realtime.js';
import { createTestEnvironment, TEST_DATABASE_URL, TEST_REDIS_URL, type TestEnvironment, testEnvVars } from './support/server.js';
import { cuttableProxy, eventually, ownRedis } from './support/services.js';

/**
 * Faults on the real services, whatever the suite's storage env says: Redis stopped and started
 * again under two processes, the database connection cut and restored under a running process,
 * SIGTERM in the middle of a burst of sends. After each: every acknowledged message is in the
 * history, and a receiver that `sync`s gets every message it missed exactly once.
 */
const FAULT_DATABASE_URL = TEST_DATABASE_URL ?? 'mysql://root@127.0.0.1:3306/parley_test';
const SHARED_REDIS_URL = TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';

type Registered = Awaited<ReturnType<typeof registerClient>>;

const cleanups: Array<() => Promise<unknown> | unknown> = [];
afterEach(async () => {
  while (cleanups.length > 0) await cleanups.pop()?.();
});

async function environment(options: { redisUrl?: string } = {}): Promise<TestEnvironment> {
  const env = await createTestEnvironment({ databaseUrl: FAULT_DATABASE_URL, redisUrl: options.redisUrl });
  cleanups.push(() => env.dispose());
  return env;
}

async function start(vars: Record<string, string>): Promise<ServerProcess> {
  const proc = await spawnServer(vars);
  cleanups.push(async () => {
    if (proc.child.exitCode === null && proc.child.signalCode === null) {
      proc.child.kill('SIGTERM');
      await proc.exited;
    }
  });
  return proc;
}

async function userOn(url: string): Promise<Registered> {
  const user = await registerClient(url);
  await user.client.connect();
  cleanups.push(() => user.client.disconnect());
  return user;
}

async function befriend(a: Registered, b: Registered): Promise<void> {
  const request = await a.client.request<{ id: string }>('POST', '/friend-requests', { toUserId: b.id });
  await b.client.request('POST', `/friend-requests/${request.id}/accept`);
}

/** Sends one text message; resolves with the raw ack (never throws, even on a timeout). */
async function send(client: ParleyClient, conversationId: string, content: string, clientMsgId = newClientMsgId()): Promise<{ clientMsgId: string; ack: Ack<Message> | null }> {
  const ack = await client.emitRaw('chat', { conversationId, type: 'text', content, clientMsgId }, 8000).catch(() => null);
  return { clientMsgId, ack };
}

/** The whole history of a conversation, oldest first. */
async function fullHistory(client: ParleyClient, conversationId: string): Promise<Message[]> {
  const all: Message[] = [];
  let cursor: string | null = null;
  do {
    const page: { items: Message[]; nextCursor: string | null } = await client.request(
      'GET',
      `/conversations/${conversationId}/messages?limit=100${cursor ? `&cursor=${cursor}` : ''}`,
    );
    all.push(...page.items);
    cursor = page.nextCursor;
  } while (cursor);
  return all.reverse();
}

async function readyz(url: string): Promise<{ status: number; body: { checks: Record<string, string> } }> {
  const response = await fetch(`${url}/readyz`, { signal: AbortSignal.timeout(10_000) });
  return { status: response.status, body: (await response.json()) as { checks: Record<string, string> } };
}

/**
 * What a receiver ends up with: the messages it got live plus what `sync` from the last id it had
 * before the fault returns. Every acknowledged message must be there, none twice after dedupe by
 * id, and sync itself must not return any message twice.
 */
async function expectCaughtUp(receiver: ParleyClient, conversationId: string, liveBefore: Message[], liveAll: Message[], acked: Message[]): Promise<void> {
  const lastBefore = liveBefore.at(-1)?.id ?? '0';
  const synced = await receiver.emit('sync', { since: { [conversationId]: lastBefore } });
  const fromSync = synced.messages[conversationId] ?? [];
  expect(new Set(fromSync.map((m) => m.id)).size).toBe(fromSync.length);
  expect(synced.truncated).toEqual([]);
  const have = new Map<string, Message>();
  for (const message of [...liveAll.filter((m) => m.conversationId === conversationId), ...fromSync]) have.set(message.id, message);
  for (const message of acked) expect(have.get(message.id)?.clientMsgId, `acked ${message.id} missing for the receiver`).toBe(message.clientMsgId);
  // Nothing arrives from sync that the receiver already had before the fault.
  const before = new Set(liveBefore.map((m) => m.id));
  expect(fromSync.filter((m) => before.has(m.id))).toEqual([]);
}

function expectHistoryHoldsOnce(history: Message[], acked: Message[]): void {
  const ids = history.map((m) => m.id);
  expect(new Set(ids).size).toBe(ids.length);
  const clientIds = history.map((m) => m.clientMsgId);
  expect(new Set(clientIds).size).toBe(clientIds.length);
  const stored = new Set(ids);
  for (const message of acked) expect(stored.has(message.id), `acked message ${message.id} not in history`).toBe(true);
}

describe('faults with the real services', () => {
  it('Redis stopped during traffic: each process keeps serving its clients; fan-out and presence recover when Redis returns', { timeout: 180_000 }, async () => {
    const redis = await ownRedis();
    await redis.start();
    cleanups.push(() => redis.stop());
    const env = await environment({ redisUrl: redis.url });
    const JWT_SECRET = randomBytes(32).toString('hex');
    const vars = (n: number) => testEnvVars(env, { JWT_SECRET, SEND_RATE_LIMIT_MAX: '100000', LOG_DIR: path.join(env.dataDir, `logs-${n}`) });
    const p1 = await start(vars(1));
    const p2 = await start(vars(2));

    const alice = await userOn(p1.url);
    const carol = await userOn(p1.url);
    const bob = await userOn(p2.url);
    await befriend(alice, bob);
    const withBob = await alice.client.request<{ id: string }>('POST', '/conversations', { peerId: bob.id }).then((c) => c.id);
    const withCarol = await alice.client.request<{ id: string }>('POST', '/conversations', { peerId: carol.id }).then((c) => c.id);
    const bobLive = collect(bob.client.socket!, 'chat');
    const carolLive = collect(carol.client.socket!, 'chat');

    // Before: fan-out across processes works.
    const first = await send(alice.client, withBob, 'before the outage');
    expect(first.ack?.ok).toBe(true);
    await eventually(async () => bobLive.length === 1);
    const bobBefore = [...bobLive];
    const acked: Message[] = first.ack?.ok ? [first.ack.data] : [];
    const ackedLocal: Message[] = [];

    // Traffic while Redis goes away.
    await redis.stop();
    for (let i = 0; i < 20; i++) {
      const toBob = await send(alice.client, withBob, `outage to bob ${i}`);
      const toCarol = await send(alice.client, withCarol, `outage to carol ${i}`);
      // Acked (the database is fine) and never hanging: the cache answers from the local fallback.
      expect(toBob.ack?.ok, JSON.stringify(toBob.ack)).toBe(true);
      expect(toCarol.ack?.ok, JSON.stringify(toCarol.ack)).toBe(true);
      if (toBob.ack?.ok) acked.push(toBob.ack.data);
      if (toCarol.ack?.ok) ackedLocal.push(toCarol.ack.data);
    }
    // Carol is on alice's process: she got every message live.
    await eventually(async () => carolLive.length === ackedLocal.length);
    expect(carolLive.map((m) => m.id)).toEqual(ackedLocal.map((m) => m.id));
    // REST and new connections keep working on both processes; readiness says the cache is down.
    for (const proc of [p1, p2]) {
      const ready = await readyz(proc.url);
      expect(ready.status).toBe(503);
      expect(ready.body.checks).toEqual({ database: 'ok', cache: 'down' });
    }
    expect((await alice.client.request<{ id: string }>('GET', '/users/me')).id).toBe(alice.id);
    const dave = await userOn(p2.url);
    expect(dave.client.socket?.connected).toBe(true);

    // Redis comes back (empty) on the same port: no Parley restart.
    await redis.start();
    for (const proc of [p1, p2]) await eventually(async () => (await readyz(proc.url)).status === 200);
    /** Sends probes until one reaches `receiverLive` live; every acked probe joins `acked`. */
    const probeUntilDelivered = (sender: ParleyClient, receiverLive: Message[], content: string) =>
      eventually(async () => {
        const probe = await send(sender, withBob, content);
        const id = probe.ack?.ok ? probe.ack.data.id : undefined;
        if (probe.ack?.ok) acked.push(probe.ack.data);
        await new Promise((resolve) => setTimeout(resolve, 300));
        return id !== undefined && receiverLive.some((m) => m.id === id);
      }, 30);
    // Cross-process fan-out again: a fresh message reaches bob live on the other process.
    await probeUntilDelivered(alice.client, bobLive, 'after the outage');
    // And the other way: bob's process publishes again and alice's subscribes again (each process
    // reconnects its own two adapter connections; one direction working says nothing of the other).
    await probeUntilDelivered(bob.client, collect(alice.client.socket!, 'chat'), 'back from bob');
    // Presence: alice's process wrote her connection back, so bob's process sees her online.
    await eventually(async () => {
      const friends = await bob.client.request<{ items: Array<{ user: { id: string }; presence: { status: string } }> }>('GET', '/friends');
      return friends.items.find((f) => f.user.id === alice.id)?.presence.status === 'online';
    });
    const bobOnline = collect(alice.client.socket!, 'user_status');
    const bobPhone = new ParleyClient(p2.url);
    await bobPhone.login({ username: bob.username, password: bob.password });
    bob.client.disconnect();
    await eventually(async () => bobOnline.some((e) => e.userId === bob.id && e.status === 'offline'));
    await bobPhone.connect();
    cleanups.push(() => bobPhone.disconnect());
    await eventually(async () => bobOnline.some((e) => e.userId === bob.id && e.status === 'online'));

    // Nothing acknowledged was lost; bob catches up with sync, without duplicates.
    await expectCaughtUp(bobPhone, withBob, bobBefore, bobLive, acked);
    expectHistoryHoldsOnce(await fullHistory(alice.client, withBob), acked);
    expectHistoryHoldsOnce(await fullHistory(alice.client, withCarol), ackedLocal);
    for (const proc of [p1, p2]) expect(proc.stdout()).toContain('cache (Redis) unreachable');
  });

  it('database cut and restored: requests and sends fail fast with UNAVAILABLE, nothing unsaved is acked, and it recovers without a restart', { timeout: 180_000 }, async () => {
    const env = await environment();
    const direct = new URL(env.databaseUrl as string);
    const proxy = await cuttableProxy(direct.hostname, Number(direct.port || 3306));
    cleanups.push(() => proxy.close());
    const proxied = new URL(direct);
    proxied.hostname = '127.0.0.1';
    proxied.port = String(proxy.port);
    const proc = await start(testEnvVars(env, { DATABASE_URL: proxied.toString(), SEND_RATE_LIMIT_MAX: '100000' }));

    const alice = await userOn(proc.url);
    const bob = await userOn(proc.url);
    const conversationId = await alice.client.request<{ id: string }>('POST', '/conversations', { peerId: bob.id }).then((c) => c.id);
    const bobLive = collect(bob.client.socket!, 'chat');
    const acked: Message[] = [];
    const refused: string[] = [];
    for (let i = 0; i < 5; i++) {
      const sent = await send(alice.client, conversationId, `before ${i}`);
      if (sent.ack?.ok) acked.push(sent.ack.data);
    }
    expect(acked).toHaveLength(5);
    await eventually(async () => bobLive.length === 5);
    const bobBefore = [...bobLive];

    proxy.cut();
    // Sends during the cut: refused with UNAVAILABLE (never acked without being stored), promptly.
    for (let i = 0; i < 10; i++) {
      const sent = await send(alice.client, conversationId, `during ${i}`);
      expect(sent.ack, 'a send hung').not.toBeNull();
      if (sent.ack?.ok) acked.push(sent.ack.data);
      else {
        expect(sent.ack?.error.code).toBe('UNAVAILABLE');
        refused.push(sent.clientMsgId);
      }
    }
    expect(refused.length).toBeGreaterThan(0);
    const rest = await fetch(`${proc.url}/api/v1/conversations`, { headers: { authorization: `Bearer ${alice.client.accessToken}` }, signal: AbortSignal.timeout(10_000) });
    expect(rest.status).toBe(503);
    expect(((await rest.json()) as { error: { code: string } }).error.code).toBe('UNAVAILABLE');
    const down = await readyz(proc.url);
    expect(down.status).toBe(503);
    expect(down.body.checks.database).toBe('down');

    proxy.restore();
    await eventually(async () => (await readyz(proc.url)).status === 200);
    // Retries of the refused sends (same clientMsgId) now go through, each stored once.
    for (const clientMsgId of refused) {
      const retried = await send(alice.client, conversationId, 'retried', clientMsgId);
      expect(retried.ack?.ok, JSON.stringify(retried.ack)).toBe(true);
      if (retried.ack?.ok) acked.push(retried.ack.data);
    }
    expect((await alice.client.request<{ items: unknown[] }>('GET', '/conversations')).items.length).toBeGreaterThan(0);

    await expectCaughtUp(bob.client, conversationId, bobBefore, bobLive, acked);
    const history = await fullHistory(alice.client, conversationId);
    expectHistoryHoldsOnce(history, acked);
    expect(history).toHaveLength(acked.length);
    expect(proc.stderr()).toBe('');

    // A network that silently drops everything (no reset, no refusal): answers still come, as 503,
    // once the query or connect timeout gives up, instead of hanging for the TCP keep-alive.
    proxy.stall();
    const stalledRest = await fetch(`${proc.url}/api/v1/conversations`, { headers: { authorization: `Bearer ${alice.client.accessToken}` }, signal: AbortSignal.timeout(40_000) });
    expect(stalledRest.status).toBe(503);
    const stalledSend = await alice.client.emitRaw('chat', { conversationId, type: 'text', content: 'into the void', clientMsgId: 'stalled-1' }, 40_000);
    expect(stalledSend).toMatchObject({ ok: false, error: { code: 'UNAVAILABLE' } });
    proxy.restore();
    await eventually(async () => (await readyz(proc.url)).status === 200);
    const afterStall = await send(alice.client, conversationId, 'after the stall', 'stalled-1');
    expect(afterStall.ack?.ok).toBe(true);
    const again = await fullHistory(alice.client, conversationId);
    expect(again.filter((m) => m.clientMsgId === 'stalled-1')).toHaveLength(1);
  });

  it('SIGTERM during sends: the process warns its clients, finishes what it acked, exits 0; clients carry on elsewhere', { timeout: 180_000 }, async () => {
    const env = await environment({ redisUrl: SHARED_REDIS_URL });
    const JWT_SECRET = randomBytes(32).toString('hex');
    const vars = (n: number) => testEnvVars(env, { JWT_SECRET, SEND_RATE_LIMIT_MAX: '100000', LOG_DIR: path.join(env.dataDir, `logs-${n}`) });
    const p1 = await start(vars(1));
    const p2 = await start(vars(2));
    const alice = await userOn(p1.url);
    const bob = await userOn(p2.url);
    const conversationId = await alice.client.request<{ id: string }>('POST', '/conversations', { peerId: bob.id }).then((c) => c.id);
    const bobLive = collect(bob.client.socket!, 'chat');
    const notices = collect(alice.client.socket!, 'server_shutdown');
    const reasons: string[] = [];
    alice.client.socket!.on('disconnect', (reason) => reasons.push(reason));

    // A burst: batches of sends in flight when the signal lands.
    const outcomes: Array<{ clientMsgId: string; ack: Ack<Message> | null }> = [];
    let stop = false;
    const burst = (async () => {
      for (let batch = 0; batch < 40 && !stop; batch++) {
        outcomes.push(...(await Promise.all(Array.from({ length: 5 }, (_, i) => send(alice.client, conversationId, `burst ${batch}.${i}`)))));
      }
    })();
    await eventually(async () => outcomes.filter((o) => o.ack?.ok).length >= 20);
    p1.child.kill('SIGTERM');
    stop = true;
    const code = await p1.exited;
    await burst;

    expect(code).toBe(0);
    expect(p1.stderr()).toBe('');
    expect(notices).toEqual([{ reason: 'shutdown', reconnect: true }]);
    // Closed without a Socket.IO disconnect: socket.io-client would reconnect by itself.
    expect(reasons[0]).toBe('transport close');
    const refusedCodes = new Set(outcomes.filter((o) => o.ack && !o.ack.ok).map((o) => (o.ack && !o.ack.ok ? o.ack.error.code : '')));
    for (const refusedCode of refusedCodes) expect(refusedCode).toBe('UNAVAILABLE');

    // Alice carries on through the other process; what was not acked is retried with its clientMsgId.
    alice.client.disconnect();
    const again = new ParleyClient(p2.url);
    await again.login({ username: alice.username, password: alice.password });
    await again.connect();
    cleanups.push(() => again.disconnect());
    const acked: Message[] = [];
    for (const outcome of outcomes) {
      if (outcome.ack?.ok) acked.push(outcome.ack.data);
      else {
        const retried = await send(again, conversationId, 'retried', outcome.clientMsgId);
        expect(retried.ack?.ok, JSON.stringify(retried.ack)).toBe(true);
        if (retried.ack?.ok) acked.push(retried.ack.data);
      }
    }
    expect(acked.length).toBe(outcomes.length);

    await expectCaughtUp(bob.client, conversationId, [], bobLive, acked);
    const history = await fullHistory(again, conversationId);
    expectHistoryHoldsOnce(history, acked);
    expect(history).toHaveLength(outcomes.length);
    expect(p1.stdout()).toContain('shutting down');
  });
});
