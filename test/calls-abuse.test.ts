import { afterEach, describe, expect, it } from 'vitest';
import type { CallRecord, Message, ParleyClient } from '../src/client/index.js';
import { expectFailure, failure, history, openPrivate, type Page, people } from './support/messaging.js';
import { barrier, collect, nextEvent, registerClient } from './support/realtime.js';
import { storageLabel } from './support/server.js';
import { useTestServer } from './support/suite.js';

/**
 * Calls as a spam channel (issue 16.5): call_request is limited per caller and per callee, repeated
 * unanswered calls fold into one `call` message, and an invisible callee looks exactly offline.
 */

const PER_CALLER = 5;
const PER_CALLEE = 8;

describe(`call abuse limits (${storageLabel})`, () => {
  const suite = useTestServer({
    CALL_RING_TIMEOUT: '30',
    CALLS_PER_CALLER_PER_MINUTE: String(PER_CALLER),
    CALLS_PER_CALLEE_PER_MINUTE: String(PER_CALLEE),
  });
  const crowd = people(() => suite.server.url);
  afterEach(() => crowd.closeAll());

  /** The `call` messages of the private conversation between the client and the peer, newest first. */
  async function callMessages(client: ParleyClient, peerId: string): Promise<Message[]> {
    const page: Page<Message> = await history(client, await openPrivate(client, peerId));
    return page.items.filter((message) => message.type === 'call');
  }

  it('30 rapid call_requests to an offline stranger: at most the per-caller limit get through, the rest are RATE_LIMITED', async () => {
    const alice = await crowd.user();
    const bob = await registerClient(suite.server.url);
    const outcomes = await Promise.allSettled(Array.from({ length: 30 }, () => alice.client.emit('call_request', { toUserId: bob.id, media: 'audio' })));
    const accepted = outcomes.flatMap((outcome) => (outcome.status === 'fulfilled' ? [outcome.value] : []));
    const codes = outcomes.flatMap((outcome) => (outcome.status === 'rejected' ? [(outcome.reason as { code: string }).code] : []));
    expect(accepted.length).toBeGreaterThan(0);
    expect(accepted.length).toBeLessThanOrEqual(PER_CALLER);
    for (const result of accepted) expect(result.state).toBe('missed');
    // Whatever else happened to the first few (the caller's one-call slot), the rest were refused by the limit.
    expect(codes.filter((code) => code === 'RATE_LIMITED')).toHaveLength(30 - PER_CALLER);
    expect(codes.every((code) => code === 'RATE_LIMITED' || code === 'CONFLICT')).toBe(true);

    // The refusal says when to retry.
    const refused = await failure(alice.client.emit('call_request', { toUserId: bob.id, media: 'audio' }));
    expect(refused.code).toBe('RATE_LIMITED');
    expect((refused.details as { retryAfterSec: number }).retryAfterSec).toBeGreaterThan(0);

    // Every accepted call has its record, and the callee's history holds a single missed-call message.
    const records = (await bob.client.request<Page<CallRecord>>('GET', '/calls')).items;
    expect(records.map((record) => record.id).sort()).toEqual(accepted.map((result) => result.callId).sort());
    const messages = await callMessages(bob.client, alice.id);
    expect(messages).toHaveLength(1);
    expect(new Set(records.map((record) => record.messageId))).toEqual(new Set([messages[0]?.id]));
    expect(messages[0]?.content).toBe(accepted.length === 1 ? 'missed voice call' : `missed voice call (${accepted.length})`);
    expect(messages[0]?.call).toMatchObject({ state: 'missed', media: 'audio', count: accepted.length });
  });

  it('limits the calls one callee receives from everyone together, and a fresh caller is refused too', async () => {
    const target = await registerClient(suite.server.url);
    const callers = await Promise.all([crowd.user(), crowd.user(), crowd.user()]);
    const [first, second, third] = callers as [(typeof callers)[0], (typeof callers)[0], (typeof callers)[0]];
    for (let i = 0; i < PER_CALLER; i++) expect((await first.client.emit('call_request', { toUserId: target.id, media: 'audio' })).state).toBe('missed');
    for (let i = 0; i < PER_CALLEE - PER_CALLER; i++) expect((await second.client.emit('call_request', { toUserId: target.id, media: 'audio' })).state).toBe('missed');
    // The second caller is under its own limit, the third has placed nothing: the callee's budget is spent.
    await expectFailure(second.client.emit('call_request', { toUserId: target.id, media: 'audio' }), 'RATE_LIMITED');
    await expectFailure(third.client.emit('call_request', { toUserId: target.id, media: 'audio' }), 'RATE_LIMITED');
    // The third caller can still call someone else.
    const other = await registerClient(suite.server.url);
    expect((await third.client.emit('call_request', { toUserId: other.id, media: 'audio' })).state).toBe('missed');
  });

  it('only calls the caller may place use up the callee budget, and friends still get through when strangers spent it', async () => {
    const [bob, mallory, friend, stranger] = await Promise.all([crowd.user(), crowd.user(), crowd.user(), crowd.user()]);
    await bob.client.request('POST', '/blocks', { userId: mallory.id });
    for (let i = 0; i < PER_CALLER; i++) await expectFailure(mallory.client.emit('call_request', { toUserId: bob.id, media: 'audio' }), 'FORBIDDEN');
    // The blocked caller's attempts count against their own budget, not the callee's.
    await expectFailure(mallory.client.emit('call_request', { toUserId: bob.id, media: 'audio' }), 'RATE_LIMITED');
    const request = await friend.client.request<{ id: string }>('POST', '/friend-requests', { toUserId: bob.id });
    await bob.client.request('POST', `/friend-requests/${request.id}/accept`);

    bob.client.disconnect();
    const spenders = await Promise.all([crowd.user(), stranger]);
    let placed = 0;
    for (const caller of spenders) {
      for (let i = 0; i < PER_CALLER && placed < PER_CALLEE; i++, placed++) {
        expect((await caller.client.emit('call_request', { toUserId: bob.id, media: 'audio' })).state).toBe('missed');
      }
    }
    const latecomer = await crowd.user();
    await expectFailure(latecomer.client.emit('call_request', { toUserId: bob.id, media: 'audio' }), 'RATE_LIMITED');
    expect((await friend.client.emit('call_request', { toUserId: bob.id, media: 'audio' })).state).toBe('missed');
  });

  it('a ring/cancel loop rings the callee at most the per-caller limit times and leaves one folded message', async () => {
    const [alice, bob] = await Promise.all([crowd.user(), crowd.user()]);
    const rings = collect(bob.socket, 'call_request');
    let limited = 0;
    for (let i = 0; i < 30; i++) {
      try {
        const { callId, state } = await alice.client.emit('call_request', { toUserId: bob.id, media: 'video' });
        expect(state).toBe('ringing');
        expect((await alice.client.emit('call_cancel', { callId })).state).toBe('cancelled');
      } catch (error) {
        expect((error as { code: string }).code).toBe('RATE_LIMITED');
        limited++;
      }
    }
    // Every ring the server sent went out before its call_request's ack (ring timers are 30 s away).
    await barrier(bob.socket);
    expect(rings).toHaveLength(PER_CALLER);
    expect(limited).toBe(30 - PER_CALLER);
    const messages = await callMessages(bob.client, alice.id);
    expect(messages).toHaveLength(1);
    expect(messages[0]?.content).toBe(`missed video call (${PER_CALLER})`);
    expect(messages[0]?.call).toMatchObject({ state: 'missed', media: 'video', durationSec: 0, count: PER_CALLER });
  });

  it('folds unanswered calls into one message only while nothing was said since; each call keeps its record', async () => {
    const alice = await crowd.user();
    const bob = await registerClient(suite.server.url);
    const placed: string[] = [];
    for (let i = 0; i < 3; i++) placed.push((await alice.client.emit('call_request', { toUserId: bob.id, media: 'audio' })).callId);
    let messages = await callMessages(bob.client, alice.id);
    expect(messages.map((message) => message.content)).toEqual(['missed voice call (3)']);
    // The fold is data too: the first call names it, the count says how many it holds.
    expect(messages[0]?.call).toEqual({ callId: placed[0], state: 'missed', media: 'audio', durationSec: 0, count: 3 });
    // The shared message is the first call's; the callee has one unread message, not three.
    expect(messages[0]?.clientMsgId).toBe(`call:${placed[0]}`);
    const conversationId = await openPrivate(bob.client, alice.id);
    const seen = await bob.client.request<{ unreadCount: number }>('GET', `/conversations/${encodeURIComponent(conversationId)}`);
    expect(seen.unreadCount).toBe(1);
    for (const callId of placed) {
      expect(await alice.client.request<{ messageId: string | null; state: string }>('GET', `/calls/${callId}`)).toMatchObject({ state: 'missed', messageId: messages[0]?.id });
    }

    // Once someone speaks, the next missed call is a new message at the bottom.
    await alice.client.request('POST', `/conversations/${encodeURIComponent(conversationId)}/messages`, { type: 'text', content: 'call me back', clientMsgId: 'fold-break' });
    const later = await alice.client.emit('call_request', { toUserId: bob.id, media: 'video' });
    messages = await callMessages(bob.client, alice.id);
    expect(messages.map((message) => message.content)).toEqual(['missed video call', 'missed voice call (3)']);
    expect(messages[0]?.clientMsgId).toBe(`call:${later.callId}`);
    expect(messages.map((message) => message.call?.count)).toEqual([1, 3]);
  });

  it('an invisible callee looks exactly like an offline one: same ack, same call_state, no ring, no busy', async () => {
    const [alice, bob, carol] = await Promise.all([crowd.user(), crowd.user(), crowd.user()]);
    const offline = await registerClient(suite.server.url);
    expect(await bob.client.emit('user_status', { status: 'invisible' })).toEqual({ status: 'invisible' });
    const bobRang = collect(bob.socket, 'call_request');

    async function place(caller: typeof alice, calleeId: string) {
      const heard = nextEvent(caller.socket, 'call_state', (event) => event.state !== 'ringing');
      const ack = await caller.client.emit('call_request', { toUserId: calleeId, media: 'audio' });
      const event = await heard;
      const record = await caller.client.request<{ state: string; endReason: string | null }>('GET', `/calls/${ack.callId}`);
      // Everything but the ids, as the caller sees it.
      return {
        ack: { ...ack, callId: typeof ack.callId },
        event: { ...event, callId: typeof event.callId, callerId: typeof event.callerId, calleeId: typeof event.calleeId },
        record: { state: record.state, endReason: record.endReason },
      };
    }

    const toOffline = await place(alice, offline.id);
    const toInvisible = await place(alice, bob.id);
    expect(toInvisible).toEqual(toOffline);
    expect(toInvisible.ack.state).toBe('missed');
    expect(toInvisible.event).toMatchObject({ state: 'missed', reason: 'offline' });
    await barrier(bob.socket);
    expect(bobRang).toHaveLength(0);

    // Invisible and in a call: still looks offline, not busy.
    const dave = await crowd.user();
    const rang = nextEvent(dave.socket, 'call_request');
    const { callId } = await bob.client.emit('call_request', { toUserId: dave.id, media: 'audio' });
    await rang;
    await dave.client.emit('call_accept', { callId });
    const whileInCall = await place(carol, bob.id);
    expect(whileInCall).toEqual(toOffline);
    await bob.client.emit('call_hangup', { callId });
  });
});
