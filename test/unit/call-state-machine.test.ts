import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { CallMedia } from '../../src/contract/calls.js';
import { type CallWorld, createCallWorld, device, type FakeDevice, reconnected } from './call-fakes.js';

/**
 * The call state machine of `createCallsService`, run on the real memory cache with fake time:
 * ring timeouts and reconnect graces fire when the test moves the clock, never on their own. Only
 * the service's own timers drive time-outs here (the sweep is not started), so a timer that is
 * not scheduled, or scheduled for the wrong time, fails the test.
 */

const START = Date.UTC(2026, 0, 5, 9, 0, 0);
const alice = device('alice');
const bob1 = device('bob', 1);
const bob2 = device('bob', 2);
const carol = device('carol');
const dave = device('dave');

let world: CallWorld;

beforeEach(() => {
  // setImmediate stays real: `advance` uses it to let the promise chains started by fired timers finish.
  vi.useFakeTimers({ now: START, toFake: ['setTimeout', 'clearTimeout', 'setInterval', 'clearInterval', 'Date'] });
  world = createCallWorld();
});

afterEach(async () => {
  await world.close();
  vi.useRealTimers();
});

/**
 * Moves fake time on by `ms`, firing the timers that fall due, then lets the work those timers
 * started run to its end: it awaits only in-memory fakes (microtasks), all of which run before
 * one turn of the real event loop completes. This is not a sleep: no time passes for the service.
 */
async function advance(ms: number): Promise<void> {
  await vi.advanceTimersByTimeAsync(ms);
  await new Promise<void>((resolve) => setImmediate(resolve));
}

async function ring(from: FakeDevice, toUserId: string, media: CallMedia = 'audio'): Promise<string> {
  const result = await world.service.request(from.actor, from.ref, { toUserId, media });
  expect(result.state).toBe('ringing');
  return result.callId;
}

/** The `call_state` events of one call, in the order they were sent. */
const statesOf = (callId: string) => world.events('call_state').filter((entry) => entry.payload.callId === callId);
const codeOf = (promise: Promise<unknown>) =>
  promise.then(
    () => 'allowed',
    (error: { code?: string }) => error.code,
  );

describe('call state machine', () => {
  it('rings, is accepted, and on hang-up records the duration the clock measured from answer to end', async () => {
    world.online(alice, bob1, bob2);
    const callId = await ring(alice, 'bob', 'video');
    expect(world.events('call_request')).toEqual([
      {
        via: 'users',
        to: ['bob'],
        event: 'call_request',
        payload: { callId, from: expect.objectContaining({ id: 'alice' }), media: 'video', startedAt: new Date(START).toISOString() },
      },
    ]);
    expect(statesOf(callId).map((entry) => [entry.to, entry.payload])).toEqual([
      [['alice', 'bob'], { callId, state: 'ringing', callerId: 'alice', calleeId: 'bob', media: 'video' }],
    ]);
    expect(world.rows.get(callId)).toMatchObject({ caller_id: 'alice', callee_id: 'bob', media: 'video', state: 'ringing', started_at: START, answered_at: null });

    await advance(4_000);
    expect(await world.service.accept(bob1.actor, bob1.ref, callId)).toEqual({ callId, state: 'accepted' });
    expect(world.rows.get(callId)).toMatchObject({ state: 'accepted', answered_at: START + 4_000 });

    // Far past the ring deadline: the ring timer must not touch an answered call.
    await advance(95_000);
    expect(statesOf(callId).map((entry) => entry.payload.state)).toEqual(['ringing', 'answered_elsewhere', 'accepted']);

    expect(await world.service.hangup(alice.actor, callId)).toEqual({ callId, state: 'ended' });
    expect(statesOf(callId).at(-1)).toEqual({
      via: 'users',
      to: ['alice', 'bob'],
      event: 'call_state',
      payload: { callId, state: 'ended', by: 'alice', reason: 'hangup', durationSec: 95 },
    });
    expect(world.messages).toHaveLength(1);
    const [message] = world.messages;
    expect(message).toMatchObject({ conversationId: 'd.alice.bob', senderId: 'alice', type: 'call', clientMsgId: `call:${callId}` });
    expect(message?.call).toEqual({ callId, state: 'ended', media: 'video', durationSec: 95, count: 1 });
    expect(world.rows.get(callId)).toEqual({
      id: callId,
      caller_id: 'alice',
      callee_id: 'bob',
      media: 'video',
      state: 'ended',
      end_reason: 'hangup',
      ended_by: 'alice',
      started_at: START,
      answered_at: START + 4_000,
      ended_at: START + 99_000,
      duration_sec: 95,
      message_id: Number(message?.id),
    });

    // Both parties are free again: the callee can call the caller back at once.
    expect(await codeOf(world.service.hangup(bob1.actor, callId))).toBe('CONFLICT');
    await ring(bob1, 'alice');
  });

  it('is missed when nobody answers by the ring timeout, and a second unanswered call within the fold window counts into the same message', async () => {
    world.online(alice, bob1);
    const first = await ring(alice, 'bob');

    await advance(world.config.ringTimeoutSec * 1000 - 1);
    expect(statesOf(first).map((entry) => entry.payload.state)).toEqual(['ringing']);
    expect(world.rows.get(first)?.state).toBe('ringing');

    await advance(1);
    expect(statesOf(first).at(-1)).toEqual({ via: 'users', to: ['alice', 'bob'], event: 'call_state', payload: { callId: first, state: 'missed', reason: 'timeout' } });
    expect(world.rows.get(first)).toMatchObject({ state: 'missed', end_reason: 'timeout', ended_by: null, ended_at: START + 30_000, duration_sec: 0 });
    expect(world.messages.map((message) => message.call)).toEqual([{ callId: first, state: 'missed', media: 'audio', durationSec: 0, count: 1 }]);
    const firstMessageId = world.rows.get(first)?.message_id;
    expect(firstMessageId).toBe(Number(world.messages[0]?.id));

    // A minute later, within the 5-minute fold window and with nothing said since, alice calls again.
    await advance(60_000);
    const second = await ring(alice, 'bob');
    await advance(30_000);
    expect(statesOf(second).map((entry) => entry.payload.state)).toEqual(['ringing', 'missed']);
    expect(world.messages).toHaveLength(1);
    expect(world.messages[0]?.call).toEqual({ callId: first, state: 'missed', media: 'audio', durationSec: 0, count: 2 });
    expect(world.rows.get(second)).toMatchObject({ state: 'missed', end_reason: 'timeout', message_id: firstMessageId });

    // Past the window the next unanswered call leaves a message of its own.
    await advance(world.config.missedFoldWindowSec * 1000);
    const third = await ring(alice, 'bob');
    await advance(30_000);
    expect(world.messages.map((message) => message.call)).toEqual([
      { callId: first, state: 'missed', media: 'audio', durationSec: 0, count: 2 },
      { callId: third, state: 'missed', media: 'audio', durationSec: 0, count: 1 },
    ]);
  });

  it('is missed at once, ringing nobody, when the callee is offline or invisible', async () => {
    world.online(alice, carol);
    world.hide('carol');
    for (const callee of ['bob', 'carol']) {
      const result = await world.service.request(alice.actor, alice.ref, { toUserId: callee, media: 'audio' });
      expect(result.state).toBe('missed');
      expect(statesOf(result.callId).map((entry) => entry.payload)).toEqual([
        { callId: result.callId, state: 'missed', reason: 'offline', callerId: 'alice', calleeId: callee, media: 'audio' },
      ]);
      expect(world.rows.get(result.callId)).toMatchObject({ state: 'missed', end_reason: 'offline' });
    }
    expect(world.events('call_request')).toEqual([]);
  });

  it('is rejected by the callee from any of their devices, never by the caller, and then no timer turns it into missed', async () => {
    world.online(alice, bob1, bob2);
    const callId = await ring(alice, 'bob');
    expect(await codeOf(world.service.reject(alice.actor, callId))).toBe('FORBIDDEN');

    await advance(3_000);
    expect(await world.service.reject(bob2.actor, callId)).toEqual({ callId, state: 'rejected' });
    expect(statesOf(callId).at(-1)).toEqual({ via: 'users', to: ['alice', 'bob'], event: 'call_state', payload: { callId, state: 'rejected', by: 'bob', reason: 'declined' } });
    expect(world.rows.get(callId)).toMatchObject({ state: 'rejected', ended_by: 'bob', end_reason: 'declined', ended_at: START + 3_000, duration_sec: 0 });
    expect(world.messages.map((message) => message.call)).toEqual([{ callId, state: 'rejected', media: 'audio', durationSec: 0, count: 1 }]);
    expect(await codeOf(world.service.accept(bob1.actor, bob1.ref, callId))).toBe('CONFLICT');

    await advance(30_000);
    expect(statesOf(callId).map((entry) => entry.payload.state)).toEqual(['ringing', 'rejected']);
    expect(world.rows.get(callId)?.state).toBe('rejected');
  });

  it('is cancelled by the caller while it rings, never by the callee, and cannot be answered afterwards', async () => {
    world.online(alice, bob1);
    const callId = await ring(alice, 'bob', 'video');
    expect(await codeOf(world.service.cancel(bob1.actor, callId))).toBe('FORBIDDEN');

    await advance(7_000);
    expect(await world.service.cancel(alice.actor, callId)).toEqual({ callId, state: 'cancelled' });
    expect(statesOf(callId).at(-1)?.payload).toEqual({ callId, state: 'cancelled', by: 'alice', reason: 'cancelled' });
    expect(world.rows.get(callId)).toMatchObject({ state: 'cancelled', ended_by: 'alice', end_reason: 'cancelled', ended_at: START + 7_000 });
    expect(world.messages.map((message) => message.call)).toEqual([{ callId, state: 'cancelled', media: 'video', durationSec: 0, count: 1 }]);
    expect(await codeOf(world.service.accept(bob1.actor, bob1.ref, callId))).toBe('CONFLICT');

    await advance(30_000);
    expect(statesOf(callId).map((entry) => entry.payload.state)).toEqual(['ringing', 'cancelled']);
  });

  it('answers busy when the callee is in another call: nobody is rung, that call goes on, and the caller is free again', async () => {
    world.online(alice, bob1, carol, dave);
    const carolsCall = await ring(carol, 'bob');
    await world.service.accept(bob1.actor, bob1.ref, carolsCall);
    const before = world.sent.length;

    const result = await world.service.request(alice.actor, alice.ref, { toUserId: 'bob', media: 'audio' });
    expect(result.state).toBe('busy');
    expect(world.sent.slice(before)).toEqual([
      {
        via: 'users',
        to: ['alice', 'bob'],
        event: 'call_state',
        payload: { callId: result.callId, state: 'busy', reason: 'busy', callerId: 'alice', calleeId: 'bob', media: 'audio' },
      },
    ]);
    expect(world.rows.get(result.callId)).toMatchObject({ state: 'busy', end_reason: 'busy', answered_at: null });
    expect(world.messages.at(-1)?.call).toEqual({ callId: result.callId, state: 'busy', media: 'audio', durationSec: 0, count: 1 });

    await advance(45_000);
    expect(await world.service.hangup(carol.actor, carolsCall)).toEqual({ callId: carolsCall, state: 'ended' });
    expect(world.rows.get(carolsCall)).toMatchObject({ state: 'ended', duration_sec: 45 });
    await ring(alice, 'dave');
  });

  it('binds the call to the device that answered: another device is refused and hears answered_elsewhere', async () => {
    world.online(alice, bob1, bob2);
    const callId = await ring(alice, 'bob');
    expect(await world.service.accept(bob2.actor, bob2.ref, callId)).toEqual({ callId, state: 'accepted' });
    expect(world.events('call_state').filter((entry) => entry.payload.state === 'answered_elsewhere')).toEqual([
      { via: 'users', to: ['bob'], event: 'call_state', payload: { callId, state: 'answered_elsewhere', by: 'bob' }, exceptSocketId: bob2.ref.socketId },
    ]);

    const before = world.sent.length;
    expect(await codeOf(world.service.accept(bob1.actor, bob1.ref, callId))).toBe('CONFLICT');
    // The answering device repeating its accept is acknowledged and changes nothing.
    expect(await world.service.accept(bob2.actor, bob2.ref, callId)).toEqual({ callId, state: 'accepted' });
    expect(world.sent.slice(before)).toEqual([]);

    // Signaling reaches the answering device only.
    expect(await codeOf(world.service.relay(bob1.actor, bob1.ref.socketId, callId, 'webrtc_answer', { sdp: 'v=0' }))).toBe('FORBIDDEN');
    await world.service.relay(alice.actor, alice.ref.socketId, callId, 'webrtc_offer', { sdp: 'v=0 offer' });
    expect(world.events('webrtc_offer')).toEqual([{ via: 'sockets', to: [bob2.ref.socketId], event: 'webrtc_offer', payload: { callId, sdp: 'v=0 offer', from: 'alice' } }]);
  });

  it('ends the call when the device in it is lost and stays away past the reconnect grace', async () => {
    world.online(alice, bob1, bob2);
    const callId = await ring(alice, 'bob');
    await advance(2_000);
    await world.service.accept(bob1.actor, bob1.ref, callId);
    await advance(8_000);

    // Another device of the callee going away is no concern of the call.
    await world.service.socketDisconnected(bob2.actor, bob2.ref.socketId);
    expect(world.events('call_peer')).toEqual([]);

    await world.service.socketDisconnected(bob1.actor, bob1.ref.socketId);
    expect(world.events('call_peer')).toEqual([{ via: 'users', to: ['alice', 'bob'], event: 'call_peer', payload: { callId, userId: 'bob', connection: 'lost' } }]);

    await advance(world.config.reconnectGraceSec * 1000 - 1);
    expect(statesOf(callId).map((entry) => entry.payload.state)).toEqual(['ringing', 'answered_elsewhere', 'accepted']);
    expect(world.rows.get(callId)?.state).toBe('accepted');

    await advance(1);
    expect(statesOf(callId).at(-1)?.payload).toEqual({ callId, state: 'ended', by: 'bob', reason: 'connection_lost', durationSec: 18 });
    expect(world.rows.get(callId)).toMatchObject({ state: 'ended', ended_by: 'bob', end_reason: 'connection_lost', ended_at: START + 20_000, duration_sec: 18 });
    expect(world.messages.map((message) => message.call)).toEqual([{ callId, state: 'ended', media: 'audio', durationSec: 18, count: 1 }]);
  });

  it('keeps the call when the same session reconnects within the grace, on its new socket', async () => {
    world.online(alice, bob1);
    const callId = await ring(alice, 'bob');
    await world.service.accept(bob1.actor, bob1.ref, callId);
    await world.service.socketDisconnected(bob1.actor, bob1.ref.socketId);
    await advance(9_000);

    const back = reconnected(bob1, 1);
    await world.service.socketConnected(back.actor, back.ref.socketId);
    expect(world.events('call_peer').map((entry) => entry.payload.connection)).toEqual(['lost', 'resumed']);
    expect(world.events('call_state').at(-1)).toMatchObject({ via: 'sockets', to: [back.ref.socketId], payload: { callId, state: 'accepted' } });

    await advance(60_000);
    expect(world.rows.get(callId)?.state).toBe('accepted');
    await world.service.relay(alice.actor, alice.ref.socketId, callId, 'ice_candidate', { candidate: { candidate: 'candidate:1', sdpMid: '0', sdpMLineIndex: 0 } });
    expect(world.events('ice_candidate').map((entry) => entry.to)).toEqual([[back.ref.socketId]]);
    expect(await world.service.hangup(back.actor, callId)).toEqual({ callId, state: 'ended' });
    expect(world.rows.get(callId)).toMatchObject({ ended_by: 'bob', end_reason: 'hangup', duration_sec: 69 });
  });

  it('lets exactly one of two racing accepts win: the other device is refused and everything happens once', async () => {
    world.online(alice, bob1, bob2);
    const callId = await ring(alice, 'bob');
    const compareAndSet = vi.spyOn(world.cache, 'compareAndSet');

    const results = await Promise.allSettled([world.service.accept(bob1.actor, bob1.ref, callId), world.service.accept(bob2.actor, bob2.ref, callId)]);
    // Both read the ringing state before either wrote: the loser's compare-and-set failed, then it saw the winner's answer.
    expect(compareAndSet.mock.settledResults.filter((result) => result.type === 'fulfilled' && result.value === false)).toHaveLength(1);
    const won = results.flatMap((result, index) => (result.status === 'fulfilled' ? [{ index, value: result.value }] : []));
    const lost = results.flatMap((result) => (result.status === 'rejected' ? [result.reason as { code?: string }] : []));
    expect(won).toHaveLength(1);
    expect(won[0]?.value).toEqual({ callId, state: 'accepted' });
    expect(lost.map((error) => error.code)).toEqual(['CONFLICT']);

    const winner = won[0]?.index === 0 ? bob1 : bob2;
    expect(world.events('call_state').filter((entry) => entry.payload.state === 'answered_elsewhere')).toEqual([
      { via: 'users', to: ['bob'], event: 'call_state', payload: { callId, state: 'answered_elsewhere', by: 'bob' }, exceptSocketId: winner.ref.socketId },
    ]);
    expect(statesOf(callId).filter((entry) => entry.payload.state === 'accepted')).toHaveLength(1);
    expect(world.rows.get(callId)).toMatchObject({ state: 'accepted', answered_at: START });
    await world.service.relay(alice.actor, alice.ref.socketId, callId, 'webrtc_offer', { sdp: 'v=0' });
    expect(world.events('webrtc_offer').map((entry) => entry.to)).toEqual([[winner.ref.socketId]]);
  });

  it('settles an accept racing the caller’s cancel on one outcome, which both parties hear and the record keeps', async () => {
    world.online(alice, bob1);
    for (const acceptFirst of [true, false]) {
      const callId = await ring(alice, 'bob');
      const accept = () => world.service.accept(bob1.actor, bob1.ref, callId);
      const cancel = () => world.service.cancel(alice.actor, callId);
      const results = await Promise.allSettled(acceptFirst ? [accept(), cancel()] : [cancel(), accept()]);
      const won = results.flatMap((result) => (result.status === 'fulfilled' ? [result.value.state] : []));
      const lost = results.flatMap((result) => (result.status === 'rejected' ? [(result.reason as { code?: string }).code] : []));
      expect(won).toEqual([acceptFirst ? 'accepted' : 'cancelled']);
      expect(lost).toEqual(['CONFLICT']);
      const heard = statesOf(callId).map((entry) => entry.payload.state);
      expect(heard).toEqual(acceptFirst ? ['ringing', 'answered_elsewhere', 'accepted'] : ['ringing', 'cancelled']);
      expect(world.rows.get(callId)?.state).toBe(won[0]);
      if (acceptFirst) await world.service.hangup(alice.actor, callId);
    }
  });

  it('counts the calls a user places in a one-minute window on the cache’s clock', async () => {
    await world.close();
    world = createCallWorld({ perCallerPerMinute: 2 });
    world.online(alice, bob1);
    for (let n = 0; n < 2; n++) await world.service.cancel(alice.actor, await ring(alice, 'bob'));
    await advance(20_000);
    const refused = await world.service.request(alice.actor, alice.ref, { toUserId: 'bob', media: 'audio' }).catch((error: unknown) => error);
    expect(refused).toMatchObject({ code: 'RATE_LIMITED', details: { retryAfterSec: 40 } });
    expect(world.events('call_request')).toHaveLength(2);
    await advance(40_000);
    await ring(alice, 'bob');
  });
});
