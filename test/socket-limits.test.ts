import { io, type Socket } from 'socket.io-client';
import { afterAll, describe, expect, it, vi } from 'vitest';
import { type ParleyClient, ParleyError } from '../src/client/index.js';
import type { Ack } from '../src/contract/errors.js';
import { newClientMsgId, openPrivate, sendText } from './support/messaging.js';
import { barrier, collect, connectedUser, registerClient } from './support/realtime.js';
import { type Overrides, storageLabel, TEST_DATABASE_URL, TEST_REDIS_URL, type TestServer } from './support/server.js';
import { type TestServerOptions, useTestServer } from './support/suite.js';

/** How a handshake ended: connected, or refused with the connect_error's message and data. */
type Outcome = { connected: true; socket: Socket } | { connected: false; message: string; data?: { code?: string; message?: string; details?: { retryAfterMs?: number } } };

/** One raw Socket.IO handshake (no automatic reconnection), settled by its first outcome. */
function handshake(url: string, token: string | undefined, opened: Socket[]): Promise<Outcome> {
  const socket = io(url, { path: '/socket.io', transports: ['websocket'], auth: token === undefined ? {} : { token }, reconnection: false, forceNew: true });
  opened.push(socket);
  return new Promise((resolve) => {
    socket.once('connect', () => resolve({ connected: true, socket }));
    socket.once('connect_error', (error: Error & { data?: Outcome extends { data?: infer D } ? D : never }) => {
      socket.close();
      resolve({ connected: false, message: error.message, data: error.data });
    });
  });
}

function refusedAsRateLimited(outcome: Outcome): boolean {
  return !outcome.connected && outcome.message === 'RATE_LIMITED' && outcome.data?.code === 'RATE_LIMITED';
}

function tokenOf(client: ParleyClient): string {
  if (!client.accessToken) throw new Error('not logged in');
  return client.accessToken;
}

/** A server with the given limits (the limits under test are set explicitly, whatever the test defaults). */
function useServer(overrides: Overrides, options: TestServerOptions = {}) {
  const suite = useTestServer(overrides, options);
  const opened: Socket[] = [];
  const clients: ParleyClient[] = [];
  afterAll(() => {
    for (const socket of opened) socket.close();
    for (const client of clients) client.disconnect();
  });
  return {
    opened,
    clients,
    get server(): TestServer {
      return suite.server;
    },
    get servers(): readonly TestServer[] {
      return suite.servers;
    },
  };
}

describe(`sockets per user (${storageLabel})`, () => {
  const ctx = useServer({ SOCKETS_PER_USER: '10', SOCKET_HANDSHAKES_PER_MINUTE_USER: '1000', SOCKET_HANDSHAKES_PER_MINUTE_IP: '1000' });

  it('refuses the sockets above SOCKETS_PER_USER with RATE_LIMITED, and admits new ones once others close', async () => {
    const user = await registerClient(ctx.server.url);
    const token = tokenOf(user.client);
    const outcomes = await Promise.all(Array.from({ length: 30 }, () => handshake(ctx.server.url, token, ctx.opened)));
    const connected = outcomes.flatMap((outcome) => (outcome.connected ? [outcome.socket] : []));
    expect(connected).toHaveLength(10);
    expect(outcomes.filter(refusedAsRateLimited)).toHaveLength(20);

    // The count drops on disconnect: five closed sockets make room for exactly five new ones.
    for (const socket of connected.slice(0, 5)) socket.close();
    await vi.waitFor(async () => expect(await ctx.server.app.gateway.io.in(`user:${user.id}`).fetchSockets()).toHaveLength(5), { timeout: 5000 });
    await vi.waitFor(async () => expect(await ctx.server.app.cache.setMembers(`sockets:user:${user.id}`)).toHaveLength(5), { timeout: 5000 });
    const again = await Promise.all(Array.from({ length: 8 }, () => handshake(ctx.server.url, token, ctx.opened)));
    expect(again.filter((outcome) => outcome.connected)).toHaveLength(5);
    expect(again.filter(refusedAsRateLimited)).toHaveLength(3);

    // Another user is not affected by this one's cap.
    const other = await connectedUser(ctx.server.url);
    ctx.clients.push(other.client);
    expect(other.socket.connected).toBe(true);
  });

  it('does not count sockets of a process that died without removing them', async () => {
    const user = await registerClient(ctx.server.url);
    // What a crashed process leaves behind: members under a node id whose heartbeat is gone.
    for (let i = 0; i < 10; i++) await ctx.server.app.cache.setAdd(`sockets:user:${user.id}`, `deadbeef0000|ghost-${i}`);
    const outcomes = await Promise.all(Array.from({ length: 12 }, () => handshake(ctx.server.url, tokenOf(user.client), ctx.opened)));
    expect(outcomes.filter((outcome) => outcome.connected)).toHaveLength(10);
    expect(outcomes.filter(refusedAsRateLimited)).toHaveLength(2);
  });
});

describe('sockets per user across two processes sharing MariaDB and Redis', () => {
  // Like the cluster suite: always the machine's real services, whatever the storage env says.
  const databaseUrl = TEST_DATABASE_URL ?? 'mysql://root@127.0.0.1:3306/parley_test';
  const redisUrl = TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';
  const limits = { SOCKETS_PER_USER: '10', SOCKET_HANDSHAKES_PER_MINUTE_USER: '1000', SOCKET_HANDSHAKES_PER_MINUTE_IP: '1000' };
  const ctx = useServer(limits, { environment: { databaseUrl, redisUrl }, servers: 2 });

  it('holds the cap over the sockets of both processes together', async () => {
    const [first, second] = ctx.servers as [TestServer, TestServer];
    const user = await registerClient(first.url);
    const token = tokenOf(user.client);
    const outcomes = await Promise.all(Array.from({ length: 24 }, (_, i) => handshake(i % 2 === 0 ? first.url : second.url, token, ctx.opened)));
    expect(outcomes.filter((outcome) => outcome.connected)).toHaveLength(10);
    expect(outcomes.filter(refusedAsRateLimited)).toHaveLength(14);
  });
});

describe(`handshake rates (${storageLabel})`, () => {
  const ctx = useServer({ SOCKET_HANDSHAKES_PER_MINUTE_IP: '20', SOCKET_HANDSHAKES_PER_MINUTE_USER: '1000', SOCKETS_PER_USER: '1000' });

  it('refuses a handshake flood from one address with RATE_LIMITED, tokens or not', async () => {
    const user = await registerClient(ctx.server.url);
    const token = tokenOf(user.client);
    const outcomes = await Promise.all(Array.from({ length: 40 }, (_, i) => handshake(ctx.server.url, i % 4 === 0 ? undefined : token, ctx.opened)));
    const limited = outcomes.filter(refusedAsRateLimited);
    expect(limited).toHaveLength(20);
    expect(outcomes.filter((outcome) => outcome.connected || (!outcome.connected && outcome.message === 'UNAUTHORIZED'))).toHaveLength(20);
    for (const outcome of limited) expect(outcome.connected || outcome.data?.details?.retryAfterMs).toBeGreaterThan(0);
  });
});

describe(`handshake rate per user (${storageLabel})`, () => {
  const ctx = useServer({ SOCKET_HANDSHAKES_PER_MINUTE_USER: '5', SOCKET_HANDSHAKES_PER_MINUTE_IP: '1000', SOCKETS_PER_USER: '1000' });

  it('refuses a user reconnecting in a loop, not the other users of the address', async () => {
    const user = await registerClient(ctx.server.url);
    const outcomes: Outcome[] = [];
    for (let i = 0; i < 8; i++) {
      const outcome = await handshake(ctx.server.url, tokenOf(user.client), ctx.opened);
      if (outcome.connected) outcome.socket.close();
      outcomes.push(outcome);
    }
    expect(outcomes.map((outcome) => outcome.connected)).toEqual([true, true, true, true, true, false, false, false]);
    expect(outcomes.slice(5).every(refusedAsRateLimited)).toBe(true);
    // The SDK reports the refusal by its code, with the delay before a retry is accepted.
    const refusal = await user.client.connect().then(
      () => undefined,
      (error: unknown) => error,
    );
    expect(refusal).toBeInstanceOf(ParleyError);
    expect((refusal as ParleyError).code).toBe('RATE_LIMITED');
    expect((refusal as ParleyError).details).toMatchObject({ retryAfterMs: expect.any(Number) });
    const other = await registerClient(ctx.server.url);
    expect((await handshake(ctx.server.url, tokenOf(other.client), ctx.opened)).connected).toBe(true);
  });
});

describe(`client events per socket (${storageLabel})`, () => {
  // Refills of one token per 100 s: within a test the buckets hold exactly their burst.
  const ctx = useServer({ SOCKET_EVENTS_PER_SECOND: '0.01', SOCKET_EVENTS_BURST: '100', SOCKET_EVENT_LIMITS: 'typing=0.01/5,read=0.01/10,sync=0.01/3' });

  async function pair() {
    const alice = await connectedUser(ctx.server.url);
    const bob = await connectedUser(ctx.server.url);
    ctx.clients.push(alice.client, bob.client);
    const conversationId = await openPrivate(alice.client, bob.id);
    return { alice, bob, conversationId };
  }

  function expectRateLimited(acks: Array<Ack<unknown>>, okCount: number): void {
    expect(acks.filter((ack) => ack.ok)).toHaveLength(okCount);
    const refused = acks.filter((ack) => !ack.ok);
    expect(refused).toHaveLength(acks.length - okCount);
    for (const ack of refused) {
      if (ack.ok) continue;
      expect(ack.error.code).toBe('RATE_LIMITED');
      expect((ack.error.details as { retryAfterMs: number }).retryAfterMs).toBeGreaterThan(0);
    }
  }

  it('answers a burst of 300 typing events RATE_LIMITED past the limit and delivers only the allowed ones', async () => {
    const { alice, bob, conversationId } = await pair();
    const seen = collect(bob.socket, 'typing');
    const acks = await Promise.all(Array.from({ length: 300 }, (_, i) => alice.client.emitRaw('typing', { conversationId, typing: i % 2 === 0 })));
    expectRateLimited(acks, 5);
    await barrier(bob.socket);
    expect(seen).toHaveLength(5);
    // The typing flood did not use up the socket's other events.
    await sendText(alice.client, conversationId, 'still here');
  });

  it('limits read receipts and sync', async () => {
    const { alice, bob, conversationId } = await pair();
    const message = await sendText(bob.client, conversationId, 'read me');
    const receipts = collect(bob.socket, 'read');
    // One after another: concurrent receipts of one message are a different question (write races).
    const reads: Array<Ack<unknown>> = [];
    for (let i = 0; i < 30; i++) reads.push(await alice.client.emitRaw('read', { conversationId, messageId: message.id }));
    expectRateLimited(reads, 10);
    await barrier(bob.socket);
    expect(receipts.length).toBeLessThanOrEqual(10);
    const syncs = await Promise.all(Array.from({ length: 10 }, () => alice.client.emitRaw('sync', { since: { [conversationId]: '0' } })));
    expectRateLimited(syncs, 3);
  });

  it('limits every event of a socket together, whatever its kind', async () => {
    const { alice, bob, conversationId } = await pair();
    const delivered = collect(bob.socket, 'chat');
    const acks = await Promise.all(
      Array.from({ length: 150 }, () => alice.client.emitRaw('chat', { conversationId, type: 'text', content: 'flood', clientMsgId: newClientMsgId() })),
    );
    expectRateLimited(acks, 100);
    // Events no handler knows spend from the same bucket: the socket is out of tokens now.
    const unknown = await (alice.socket.timeout(5000) as unknown as { emitWithAck(event: string, payload: unknown): Promise<Ack<unknown>> }).emitWithAck('no_such_event', {});
    expectRateLimited([unknown], 0);
    await barrier(bob.socket);
    expect(delivered).toHaveLength(100);
  });
});
