import { describe, expect, it } from 'vitest';
import type { CallSummary } from '../../src/contract/calls.js';
import { callSummaryText } from '../../src/contract/calls.text.js';
import { type CallState, createCallStore } from '../../src/modules/calls/calls.state.js';
import { decodeCallContent, encodeCallContent } from '../../src/modules/messaging/messaging.call-content.js';
import { MemoryCache } from '../../src/platform/cache/memory.js';

const summary = (fields: Partial<CallSummary> = {}): CallSummary => ({ callId: 'c1', state: 'missed', media: 'audio', durationSec: 0, count: 1, ...fields });

describe('call message content', () => {
  it('stores a call as data and reads it back unchanged', () => {
    const call = summary({ state: 'ended', media: 'video', durationSec: 192 });
    expect(decodeCallContent(encodeCallContent(call), 'call:c1')).toEqual(call);
  });

  it('reads every English summary earlier versions stored back into the same data', () => {
    const samples: CallSummary[] = [];
    for (const media of ['audio', 'video'] as const) {
      for (const durationSec of [0, 9, 192, 3599, 3723]) samples.push(summary({ media, state: 'ended', durationSec }));
      for (const state of ['missed', 'rejected', 'cancelled', 'busy'] as const) samples.push(summary({ media, state }));
      for (const count of [2, 3, 12]) samples.push(summary({ media, state: 'missed', count }));
    }
    for (const call of samples) expect(decodeCallContent(callSummaryText(call), `call:${call.callId}`), callSummaryText(call)).toEqual(call);
  });

  it('gives no call for anything else: other text, JSON of another shape, broken JSON', () => {
    for (const content of ['hello', 'missed voice call (x)', 'video call 3:1', '{"callId":"c1"}', '{"callId":', JSON.stringify({ ...summary(), state: 'hung up' })]) {
      expect(decodeCallContent(content, 'call:c1'), content).toBeNull();
    }
    expect(decodeCallContent(JSON.stringify({ ...summary(), count: 0 }), 'call:c1')).toBeNull();
  });
});

describe('call state store', () => {
  const ringing = (id: string): CallState => ({
    id,
    callerId: 'alice',
    calleeId: 'bob',
    media: 'audio',
    state: 'ringing',
    startedAt: 0,
    ringUntil: 30_000,
    answeredAt: null,
    endedAt: null,
    endedBy: null,
    endReason: null,
    caller: { socketId: 's1', sessionId: 'a', nodeId: 'n1', graceUntil: null },
    callee: null,
  });

  it('moves a call once when two writers race: the loser sees the winner’s state and changes nothing', async () => {
    const store = createCallStore(new MemoryCache());
    await store.create(ringing('c1'));
    const [accept, cancel] = await Promise.all([
      store.transition('c1', (call) => (call.state === 'ringing' ? { ...call, state: 'accepted' } : call)),
      store.transition('c1', (call) => (call.state === 'ringing' ? { ...call, state: 'cancelled' } : call)),
    ]);
    expect([accept.changed, cancel.changed].filter(Boolean)).toHaveLength(1);
    const final = (await store.load('c1'))?.call.state;
    expect(final).toBe(accept.changed ? 'accepted' : 'cancelled');
    expect((accept.changed ? cancel : accept).after.state).toBe(final);
  });

  it('gives a user one call at a time and reclaims the slot of a call that is over or gone', async () => {
    const store = createCallStore(new MemoryCache());
    await store.create(ringing('c1'));
    expect(await store.claimUser('alice', 'c1')).toBe(true);
    expect(await store.claimUser('alice', 'c2')).toBe(false);
    await store.transition('c1', (call) => ({ ...call, state: 'missed' }));
    expect(await store.claimUser('alice', 'c2')).toBe(true);
    expect(await store.callOf('alice')).toBe('c2');
    // c2 has no state at all: its slot is free for the next call.
    expect(await store.claimUser('alice', 'c3')).toBe(true);
    await store.releaseUser('alice', 'c2');
    expect(await store.callOf('alice')).toBe('c3');
    await store.releaseUser('alice', 'c3');
    expect(await store.callOf('alice')).toBeNull();
  });

  it('answers NOT_FOUND for a call it does not hold', async () => {
    const store = createCallStore(new MemoryCache());
    await expect(store.transition('nope', (call) => call)).rejects.toMatchObject({ code: 'NOT_FOUND' });
  });
});
