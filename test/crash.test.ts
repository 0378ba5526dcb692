import { afterEach, describe, expect, it } from 'vitest';
import { type Ack, type Message, ParleyClient } from '../src/client/index.js';
import { type ServerProcess, spawnServer } from './support/process.js';
import { barrier, collect, registerClient } from './support/realtime.js';
import { createTestEnvironment, storageLabel, type TestEnvironment, testEnvVars } from './support/server.js';

/**
 * The server process is killed (SIGKILL: no shutdown, no flushing) while a sender is firing
 * messages. What was acknowledged must have been stored; what the receiver missed must come back
 * with `sync`; retries of what was not acknowledged must not duplicate anything.
 */

const TOTAL = 200;
/** The process is killed when this many sends have been acknowledged. */
const KILL_AT_ACK = 40;
/** Messages emitted per batch, a batch every few milliseconds. */
const BATCH = 5;

const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  while (cleanups.length > 0) await cleanups.pop()?.();
});

async function environment(): Promise<TestEnvironment> {
  const env = await createTestEnvironment();
  cleanups.push(() => env.dispose());
  return env;
}

async function start(env: TestEnvironment): Promise<ServerProcess> {
  // The send limit is lifted: the burst plus its retries would exceed it with a shared (Redis) counter.
  // JWT_SECRET is left unset: the secret lives in DATA_DIR and must survive the crash with it.
  const proc = await spawnServer(testEnvVars(env, { SEND_RATE_LIMIT_MAX: '100000' }));
  cleanups.push(async () => {
    if (proc.child.exitCode === null && proc.child.signalCode === null) {
      proc.child.kill('SIGTERM');
      await proc.exited;
    }
  });
  return proc;
}

/** The whole history, paged back from the newest, returned oldest first. */
async function fullHistory(client: ParleyClient, conversationId: string): Promise<Message[]> {
  const all: Message[] = [];
  let cursor: string | null = null;
  do {
    const query: string = `limit=37${cursor ? `&cursor=${cursor}` : ''}`;
    const page: { items: Message[]; nextCursor: string | null } = await client.request('GET', `/conversations/${conversationId}/messages?${query}`);
    all.push(...page.items);
    cursor = page.nextCursor;
  } while (cursor);
  return all.reverse();
}

const byId = (a: Message, b: Message) => Number(a.id) - Number(b.id);

describe(`a server crash in the middle of a burst (${storageLabel})`, () => {
  // Two process starts (migrations included) and a few hundred messages: more than the default budget on a busy machine.
  it('keeps every acknowledged message, and sync plus retries restore the whole history without duplicates', { timeout: 120_000 }, async () => {
    const env = await environment();
    const first = await start(env);

    const sender = await registerClient(first.url);
    const receiver = await registerClient(first.url);
    const { id: conversationId } = await sender.client.request<{ id: string }>('POST', '/conversations', { peerId: receiver.id });
    const senderSocket = await sender.client.connect();
    const receiverSocket = await receiver.client.connect();
    cleanups.push(
      () => sender.client.disconnect(),
      () => receiver.client.disconnect(),
    );
    const live = collect(receiverSocket, 'chat');

    const clientMsgIds = Array.from({ length: TOTAL }, (_, i) => `burst-${i}`);
    const contentOf = (clientMsgId: string) => `message ${clientMsgId} 🚀`;
    const acked = new Map<string, Message>();
    const refused: Array<Ack<Message>> = [];
    let emitted = 0;
    let crashed = false;
    const killed = new Promise<void>((resolve) => {
      const onAck = (clientMsgId: string) => (ack: Ack<Message>) => {
        if (ack.ok) acked.set(clientMsgId, ack.data);
        else refused.push(ack);
        // (Refusals are a failure, reported below; they must not leave the test waiting forever.)
        if (!crashed && (acked.size === KILL_AT_ACK || acked.size + refused.length === TOTAL)) {
          crashed = true;
          first.child.kill('SIGKILL');
          resolve();
        }
      };
      // A steady stream that never waits for acks, in small batches so the kill lands mid-stream
      // (one single burst is often fully processed before the first ack is even read).
      const fire = () => {
        if (crashed) return;
        for (let n = 0; n < BATCH && emitted < TOTAL; n++, emitted++) {
          const clientMsgId = clientMsgIds[emitted] as string;
          senderSocket.emit('chat', { conversationId, type: 'text', content: contentOf(clientMsgId), clientMsgId }, onAck(clientMsgId));
        }
        if (emitted < TOTAL) setTimeout(fire, 5);
      };
      fire();
    });
    await killed;
    expect(await first.exited).toBeNull();
    expect(first.child.signalCode).toBe('SIGKILL');
    // Stop the clients from reconnecting to the dead port; freeze what each side saw.
    sender.client.disconnect();
    receiver.client.disconnect();
    const ackedBefore = new Map(acked);
    // The stored messages as delivered: a delivery adds only `notify` (for its receiver) to the message.
    const receivedLive = live.map(({ notify: _notify, ...message }) => message);
    expect(refused).toEqual([]);
    expect(ackedBefore.size).toBeGreaterThanOrEqual(KILL_AT_ACK);

    // ---- a new process on the same DATA_DIR and database; the old tokens still work ----
    const second = await start(env);
    const sender2 = new ParleyClient(second.url, { accessToken: sender.client.accessToken, refreshToken: sender.client.refreshToken });
    const receiver2 = new ParleyClient(second.url, { accessToken: receiver.client.accessToken, refreshToken: receiver.client.refreshToken });
    cleanups.push(
      () => sender2.disconnect(),
      () => receiver2.disconnect(),
    );

    const history = await fullHistory(receiver2, conversationId);
    const historyIds = history.map((m) => m.id);
    expect(new Set(historyIds).size).toBe(history.length);
    expect(new Set(history.map((m) => m.clientMsgId)).size).toBe(history.length);
    expect([...history].sort(byId)).toEqual(history);
    for (const message of history) {
      expect(clientMsgIds).toContain(message.clientMsgId);
      expect(message.content).toBe(contentOf(message.clientMsgId));
      expect(message.senderId).toBe(sender.id);
    }

    // Every acknowledged message survived the crash, exactly as acknowledged.
    const stored = new Map(history.map((m) => [m.clientMsgId, m]));
    for (const [clientMsgId, message] of ackedBefore) expect(stored.get(clientMsgId)).toEqual(message);

    // What arrived live arrived once, in order, and was stored.
    const liveIds = receivedLive.map((m) => m.id);
    expect(new Set(liveIds).size).toBe(liveIds.length);
    expect([...receivedLive].sort(byId)).toEqual(receivedLive);
    for (const message of receivedLive) expect(stored.get(message.clientMsgId)?.id).toBe(message.id);

    // The receiver reconnects and catches up from the last message it had.
    await receiver2.connect();
    const lastSeen = receivedLive.at(-1)?.id ?? '0';
    const synced = await receiver2.emit('sync', { since: { [conversationId]: lastSeen }, limit: 1000 });
    expect(synced.truncated).toEqual([]);
    const caughtUp = synced.messages[conversationId] ?? [];
    const caughtUpIds = caughtUp.map((m) => m.id);
    expect(caughtUpIds.filter((id) => liveIds.includes(id))).toEqual([]);
    expect([...liveIds, ...caughtUpIds]).toEqual(historyIds);
    expect([...receivedLive, ...caughtUp]).toEqual(history);

    // The sender retries everything it never heard back about, with the same clientMsgIds.
    await sender2.connect();
    const deliveredAfterRetry = collect(receiver2.socket!, 'chat');
    const unacked = clientMsgIds.filter((id) => !ackedBefore.has(id));
    const retried = await Promise.all(unacked.map((clientMsgId) => sender2.emit('chat', { conversationId, type: 'text', content: contentOf(clientMsgId), clientMsgId }, 60_000)));
    retried.forEach((message, i) => {
      expect(message.clientMsgId).toBe(unacked[i]);
      // Stored before the crash but never acknowledged: the retry answers with that same message.
      const before = stored.get(message.clientMsgId);
      if (before) expect(message).toEqual(before);
    });
    // Retrying acknowledged ones is harmless too.
    for (const clientMsgId of [...ackedBefore.keys()].slice(0, 5)) {
      expect(await sender2.emit('chat', { conversationId, type: 'text', content: contentOf(clientMsgId), clientMsgId })).toEqual(ackedBefore.get(clientMsgId));
    }

    const final = await fullHistory(sender2, conversationId);
    expect(final).toHaveLength(TOTAL);
    expect(new Set(final.map((m) => m.id)).size).toBe(TOTAL);
    expect(final.map((m) => m.clientMsgId).sort()).toEqual([...clientMsgIds].sort());
    // Messages from before the crash are untouched.
    expect(final.slice(0, history.length)).toEqual(history);

    // Only messages stored for the first time by the retry were delivered again.
    await barrier(receiver2.socket!);
    const newlyStored = final.slice(history.length).map((m) => m.id);
    expect(deliveredAfterRetry.map((m) => m.id).sort()).toEqual([...newlyStored].sort());
  });
});
