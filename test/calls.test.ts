import { createHmac } from 'node:crypto';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { type CallRecord, ParleyClient, type ParleySocket } from '../src/client/index.js';
import { expectFailure, history, type Page } from './support/messaging.js';
import { barrier, collect, nextEvent, registerClient, secondDevice, settle } from './support/realtime.js';
import { createTestEnvironment, startServer, storageLabel, type TestEnvironment, type TestServer } from './support/server.js';
import { useTestServer } from './support/suite.js';

/**
 * Calls end to end: the state machine, every refusal, multi-device ringing, the signaling relay,
 * reconnect grace, records and `call` messages, ICE servers — through real sockets on a real server.
 */

const TURN_SECRET = 'calls-test-turn-secret';
const GRACE_SEC = 2;
const RING_SEC = 5;

interface Person {
  id: string;
  username: string;
  password: string;
  client: ParleyClient;
  socket: ParleySocket;
}

const stateOf = (socket: ParleySocket, callId: string, state: string, timeoutMs = 5000) =>
  nextEvent(socket, 'call_state', (event) => event.callId === callId && event.state === state, timeoutMs);

describe(`calls (${storageLabel})`, () => {
  const suite = useTestServer({
    CALL_RING_TIMEOUT: String(RING_SEC),
    CALL_RECONNECT_GRACE: String(GRACE_SEC),
    STUN_URLS: 'stun:127.0.0.1:3478',
    TURN_URLS: 'turn:127.0.0.1:3478?transport=udp,turn:127.0.0.1:3478?transport=tcp',
    TURN_SECRET,
    TURN_TTL: '3600',
  });
  const opened: ParleyClient[] = [];
  afterEach(() => {
    for (const client of opened.splice(0)) client.disconnect();
  });

  async function person(): Promise<Person> {
    const user = await registerClient(suite.server.url);
    const socket = await user.client.connect();
    opened.push(user.client);
    return { ...user, socket };
  }

  async function device(of: { username: string; password: string }): Promise<ParleyClient & { socket: ParleySocket }> {
    const client = await secondDevice(suite.server.url, of);
    opened.push(client);
    return client as ParleyClient & { socket: ParleySocket };
  }

  async function callsOf(client: ParleyClient, query = ''): Promise<Page<CallRecord>> {
    return client.request<Page<CallRecord>>('GET', `/calls${query}`);
  }

  /** The `call` message a call left in the private conversation, found by its clientMsgId. */
  async function callMessage(client: ParleyClient, peerId: string, callId: string) {
    const { id } = await client.request<{ id: string }>('POST', '/conversations', { peerId });
    const page = await history(client, id);
    return page.items.find((message) => message.clientMsgId === `call:${callId}`);
  }

  /** Places a call from `caller` to `callee` and waits until the callee's socket rings. */
  async function ring(caller: { client: ParleyClient }, callee: { id: string; socket: ParleySocket }, media: 'audio' | 'video' = 'video'): Promise<string> {
    const incoming = nextEvent(callee.socket, 'call_request');
    const { callId, state } = await caller.client.emit('call_request', { toUserId: callee.id, media });
    expect(state).toBe('ringing');
    expect((await incoming).callId).toBe(callId);
    return callId;
  }

  const cast = (): Promise<[Person, Person]> => Promise.all([person(), person()]);

  it('rings every device of the callee, the first to accept wins, signaling flows only between the two call devices, and hang-up ends it for all', async () => {
    const [alice, bob] = await cast();
    const alice2 = await device(alice);
    const bob2 = await device(bob);
    const carol = await person();

    const aliceSaw = collect(alice.socket, 'call_state');
    const alice2Saw = collect(alice2.socket, 'call_state');
    const bobSaw = collect(bob.socket, 'call_state');
    const bob2Saw = collect(bob2.socket, 'call_state');
    const carolSaw = [...(['call_request', 'call_state', 'webrtc_offer', 'webrtc_answer', 'ice_candidate'] as const)].map((event) => collect(carol.socket, event));
    const alice2Signals = [collect(alice2.socket, 'webrtc_offer'), collect(alice2.socket, 'webrtc_answer'), collect(alice2.socket, 'ice_candidate')];
    const bob2Signals = [collect(bob2.socket, 'webrtc_offer'), collect(bob2.socket, 'webrtc_answer'), collect(bob2.socket, 'ice_candidate')];

    const rings = [nextEvent(bob.socket, 'call_request'), nextEvent(bob2.socket, 'call_request')];
    const { callId, state } = await alice.client.emit('call_request', { toUserId: bob.id, media: 'video' });
    expect(state).toBe('ringing');
    for (const incoming of await Promise.all(rings)) {
      expect(incoming).toMatchObject({ callId, media: 'video', from: { id: alice.id, username: alice.username, isGuest: false } });
      expect(incoming.startedAt).toMatch(/Z$/);
    }

    // Signaling before the call is accepted is refused.
    await expectFailure(alice.client.emit('webrtc_offer', { callId, sdp: 'v=0 early' }), 'CONFLICT');

    // The caller cannot accept; a stranger cannot either.
    await expectFailure(alice.client.emit('call_accept', { callId }), 'FORBIDDEN');
    await expectFailure(carol.client.emit('call_accept', { callId }), 'NOT_FOUND');

    const elsewhere = stateOf(bob2.socket, callId, 'answered_elsewhere');
    const accepted = [alice.socket, alice2.socket, bob.socket, bob2.socket].map((socket) => stateOf(socket, callId, 'accepted'));
    expect(await bob.client.emit('call_accept', { callId })).toEqual({ callId, state: 'accepted' });
    expect(await elsewhere).toMatchObject({ callId, state: 'answered_elsewhere', by: bob.id });
    for (const event of await Promise.all(accepted)) expect(event).toMatchObject({ callId, state: 'accepted', by: bob.id });
    // Accepting again from the winning device is harmless; from another device it is too late.
    expect(await bob.client.emit('call_accept', { callId })).toEqual({ callId, state: 'accepted' });
    await expectFailure(bob2.emit('call_accept', { callId }), 'CONFLICT');

    // Offer, answer and candidates go between alice's calling socket and bob's answering socket.
    const offer = nextEvent(bob.socket, 'webrtc_offer');
    expect(await alice.client.emit('webrtc_offer', { callId, sdp: 'v=0 offer' })).toBeNull();
    expect(await offer).toEqual({ callId, sdp: 'v=0 offer', from: alice.id });
    const answer = nextEvent(alice.socket, 'webrtc_answer');
    await bob.client.emit('webrtc_answer', { callId, sdp: 'v=0 answer' });
    expect(await answer).toEqual({ callId, sdp: 'v=0 answer', from: bob.id });
    const candidate = { candidate: 'candidate:1 1 udp 2122260223 127.0.0.1 50000 typ host', sdpMid: '0', sdpMLineIndex: 0 };
    const toBob = nextEvent(bob.socket, 'ice_candidate');
    await alice.client.emit('ice_candidate', { callId, candidate });
    expect(await toBob).toEqual({ callId, candidate, from: alice.id });
    const toAlice = nextEvent(alice.socket, 'ice_candidate');
    await bob.client.emit('ice_candidate', { callId, candidate: { ...candidate, usernameFragment: 'abcd' } });
    expect(await toAlice).toEqual({ callId, candidate: { ...candidate, usernameFragment: 'abcd' }, from: bob.id });

    // Other devices of the parties, a third user and an unknown call id are refused.
    await expectFailure(alice2.emit('webrtc_offer', { callId, sdp: 'v=0 other device' }), 'FORBIDDEN');
    await expectFailure(bob2.emit('ice_candidate', { callId, candidate }), 'FORBIDDEN');
    await expectFailure(carol.client.emit('webrtc_offer', { callId, sdp: 'v=0 intruder' }), 'NOT_FOUND');
    await expectFailure(carol.client.emit('webrtc_answer', { callId, sdp: 'v=0 intruder' }), 'NOT_FOUND');
    await expectFailure(carol.client.emit('ice_candidate', { callId, candidate }), 'NOT_FOUND');
    await expectFailure(carol.client.emit('call_hangup', { callId }), 'NOT_FOUND');
    await expectFailure(alice.client.emit('webrtc_offer', { callId: '00000000-0000-4000-8000-000000000000', sdp: 'v=0' }), 'NOT_FOUND');
    await expectFailure(alice.client.emit('call_hangup', { callId: 'no-such-call' }), 'NOT_FOUND');
    // Once accepted, reject and cancel no longer apply.
    await expectFailure(bob.client.emit('call_reject', { callId }), 'CONFLICT');
    await expectFailure(alice.client.emit('call_cancel', { callId }), 'CONFLICT');

    const ended = [alice.socket, alice2.socket, bob.socket, bob2.socket].map((socket) => stateOf(socket, callId, 'ended'));
    expect(await alice2.emit('call_hangup', { callId })).toEqual({ callId, state: 'ended' });
    for (const event of await Promise.all(ended)) expect(event).toMatchObject({ callId, state: 'ended', by: alice.id, reason: 'hangup', durationSec: expect.any(Number) });
    await expectFailure(alice.client.emit('webrtc_offer', { callId, sdp: 'v=0 late' }), 'CONFLICT');
    await expectFailure(bob.client.emit('call_hangup', { callId }), 'CONFLICT');

    await Promise.all([alice.socket, alice2.socket, bob.socket, bob2.socket, carol.socket].map((socket) => barrier(socket)));
    // Every device of both parties saw every transition; the non-winning callee device also heard answered_elsewhere.
    expect(aliceSaw.filter((e) => e.callId === callId).map((e) => e.state)).toEqual(['ringing', 'accepted', 'ended']);
    expect(alice2Saw.filter((e) => e.callId === callId).map((e) => e.state)).toEqual(['ringing', 'accepted', 'ended']);
    expect(bobSaw.filter((e) => e.callId === callId).map((e) => e.state)).toEqual(['ringing', 'accepted', 'ended']);
    expect(bob2Saw.filter((e) => e.callId === callId).map((e) => e.state)).toEqual(['ringing', 'answered_elsewhere', 'accepted', 'ended']);
    expect(aliceSaw[0]).toMatchObject({ callId, state: 'ringing', callerId: alice.id, calleeId: bob.id, media: 'video' });
    // Nothing at all reached the third user, and no SDP or candidate reached the parties' other devices.
    for (const events of carolSaw) expect(events).toEqual([]);
    for (const events of [...alice2Signals, ...bob2Signals]) expect(events).toEqual([]);

    // The record, from both sides, and the call message in the chat.
    const [mine] = (await callsOf(alice.client)).items;
    expect(mine).toMatchObject({
      id: callId,
      callerId: alice.id,
      calleeId: bob.id,
      direction: 'outgoing',
      media: 'video',
      state: 'ended',
      endReason: 'hangup',
      endedBy: alice.id,
      peer: { id: bob.id },
    });
    expect(mine?.answeredAt).not.toBeNull();
    expect(Date.parse(mine?.endedAt ?? '')).toBeGreaterThanOrEqual(Date.parse(mine?.answeredAt ?? ''));
    expect(Date.parse(mine?.answeredAt ?? '')).toBeGreaterThanOrEqual(Date.parse(mine?.startedAt ?? ''));
    const [theirs] = (await callsOf(bob.client)).items;
    expect(theirs).toMatchObject({ id: callId, direction: 'incoming', state: 'ended', peer: { id: alice.id } });
    const message = await callMessage(bob.client, alice.id, callId);
    expect(message).toMatchObject({ type: 'call', senderId: alice.id, content: `video call 0:${String(mine?.durationSec).padStart(2, '0')}`, id: mine?.messageId });
    // The call as data, for clients to say it in their own language; content is its English fallback.
    expect(message?.call).toEqual({ callId, state: 'ended', media: 'video', durationSec: mine?.durationSec, count: 1 });
    expect(await bob.client.request('GET', `/calls/${callId}`)).toEqual(theirs);
    await expectFailure(carol.client.request('GET', `/calls/${callId}`), 'NOT_FOUND', 404);
  });

  it('rejected: the callee declines from any device, every device of both hears it, and the chat shows a declined call', async () => {
    const [alice, bob] = await cast();
    const bob2 = await device(bob);
    const callId = await ring(alice, bob, 'audio');
    await expectFailure(alice.client.emit('call_reject', { callId }), 'FORBIDDEN');
    const heard = [alice.socket, bob.socket, bob2.socket].map((socket) => stateOf(socket, callId, 'rejected'));
    expect(await bob2.emit('call_reject', { callId, reason: 'in a meeting' })).toEqual({ callId, state: 'rejected' });
    for (const event of await Promise.all(heard)) expect(event).toMatchObject({ callId, state: 'rejected', by: bob.id, reason: 'in a meeting' });
    const [record] = (await callsOf(alice.client)).items;
    expect(record).toMatchObject({ id: callId, state: 'rejected', media: 'audio', answeredAt: null, durationSec: 0, endReason: 'in a meeting' });
    expect(await callMessage(alice.client, bob.id, callId)).toMatchObject({
      content: 'declined voice call',
      call: { callId, state: 'rejected', media: 'audio', durationSec: 0, count: 1 },
    });
    // Both are free again: bob can call alice right away.
    const back = await ring(bob, alice);
    await bob.client.emit('call_cancel', { callId: back });
  });

  it('cancelled: the caller hangs up while it rings and the callee devices stop ringing', async () => {
    const [alice, bob] = await cast();
    const bob2 = await device(bob);
    const callId = await ring(alice, bob, 'video');
    await expectFailure(bob.client.emit('call_cancel', { callId }), 'FORBIDDEN');
    const heard = [alice.socket, bob.socket, bob2.socket].map((socket) => stateOf(socket, callId, 'cancelled'));
    expect(await alice.client.emit('call_cancel', { callId })).toEqual({ callId, state: 'cancelled' });
    for (const event of await Promise.all(heard)) expect(event).toMatchObject({ callId, state: 'cancelled', by: alice.id });
    await expectFailure(bob.client.emit('call_accept', { callId }), 'CONFLICT');
    expect((await callsOf(bob.client)).items[0]).toMatchObject({ id: callId, state: 'cancelled', direction: 'incoming' });
    expect(await callMessage(bob.client, alice.id, callId)).toMatchObject({
      content: 'cancelled video call',
      call: { callId, state: 'cancelled', media: 'video', durationSec: 0, count: 1 },
    });
  });

  it('call_hangup while ringing cancels (caller) or rejects (callee)', async () => {
    const [alice, bob] = await cast();
    const first = await ring(alice, bob);
    expect(await alice.client.emit('call_hangup', { callId: first })).toEqual({ callId: first, state: 'cancelled' });
    const second = await ring(alice, bob);
    expect(await bob.client.emit('call_hangup', { callId: second })).toEqual({ callId: second, state: 'rejected' });
  });

  it(`missed: nobody answers within the ring timeout (${RING_SEC} s here)`, async () => {
    const [alice, bob] = await cast();
    const callId = await ring(alice, bob, 'video');
    const heard = [stateOf(alice.socket, callId, 'missed', (RING_SEC + 5) * 1000), stateOf(bob.socket, callId, 'missed', (RING_SEC + 5) * 1000)];
    for (const event of await Promise.all(heard)) expect(event).toMatchObject({ callId, state: 'missed', reason: 'timeout' });
    expect(event(await callsOf(alice.client))).toMatchObject({ state: 'missed', endReason: 'timeout', durationSec: 0 });
    expect(await callMessage(bob.client, alice.id, callId)).toMatchObject({
      content: 'missed video call',
      call: { callId, state: 'missed', media: 'video', durationSec: 0, count: 1 },
    });
    await expectFailure(bob.client.emit('call_accept', { callId }), 'CONFLICT');
    function event(page: Page<CallRecord>) {
      return page.items.find((item) => item.id === callId);
    }
  });

  it('missed at once: calling a user with no connected device, with a record and a missed-call message', async () => {
    const alice = await person();
    const bob = await registerClient(suite.server.url);
    const heard = nextEvent(alice.socket, 'call_state', (event) => event.state === 'missed');
    const result = await alice.client.emit('call_request', { toUserId: bob.id, media: 'audio' });
    expect(result.state).toBe('missed');
    expect(await heard).toMatchObject({ callId: result.callId, state: 'missed', reason: 'offline' });
    const [record] = (await callsOf(bob.client)).items;
    expect(record).toMatchObject({ id: result.callId, state: 'missed', endReason: 'offline', direction: 'incoming', media: 'audio' });
    expect(await callMessage(bob.client, alice.id, result.callId)).toMatchObject({
      content: 'missed voice call',
      call: { callId: result.callId, state: 'missed', media: 'audio', count: 1 },
    });
    // Alice is free again at once.
    const again = await alice.client.emit('call_request', { toUserId: bob.id, media: 'video' });
    expect(again.state).toBe('missed');
  });

  it('busy: the callee is already in a call; calling oneself is busy too; a caller in a call cannot place another', async () => {
    const [alice, bob] = await cast();
    const carol = await person();
    const callId = await ring(alice, bob);
    await bob.client.emit('call_accept', { callId });

    const carolHeard = nextEvent(carol.socket, 'call_state', (event) => event.state === 'busy');
    const bobHeard = collect(bob.socket, 'call_state');
    const busy = await carol.client.emit('call_request', { toUserId: bob.id, media: 'audio' });
    expect(busy.state).toBe('busy');
    expect(await carolHeard).toMatchObject({ callId: busy.callId, state: 'busy', reason: 'busy' });
    expect((await callsOf(carol.client)).items[0]).toMatchObject({ id: busy.callId, state: 'busy', calleeId: bob.id });
    expect(await callMessage(carol.client, bob.id, busy.callId)).toMatchObject({
      content: 'voice call, line busy',
      call: { callId: busy.callId, state: 'busy', media: 'audio', count: 1 },
    });
    await barrier(bob.socket);
    expect(bobHeard.filter((event) => event.callId === busy.callId).map((event) => event.state)).toEqual(['busy']);
    // Ringing (not yet accepted) counts as busy too.
    const dave = await person();
    const erin = await person();
    await ring(dave, erin);
    expect((await carol.client.emit('call_request', { toUserId: erin.id, media: 'audio' })).state).toBe('busy');

    const self = nextEvent(carol.socket, 'call_state', (event) => event.reason === 'self');
    const toSelf = await carol.client.emit('call_request', { toUserId: carol.id, media: 'video' });
    expect(toSelf.state).toBe('busy');
    expect(await self).toMatchObject({ callId: toSelf.callId, state: 'busy' });

    await expectFailure(alice.client.emit('call_request', { toUserId: carol.id, media: 'audio' }), 'CONFLICT');
    await alice.client.emit('call_hangup', { callId });
    // Once the call is over both are free.
    const next = await carol.client.emit('call_request', { toUserId: bob.id, media: 'audio' });
    expect(next.state).toBe('ringing');
    await carol.client.emit('call_cancel', { callId: next.callId });
  });

  it('refuses blocked users (either way), guests calling non-friends, users who take calls from friends only, and unknown users', async () => {
    const [alice, bob] = await cast();
    await bob.client.request('POST', '/blocks', { userId: alice.id });
    const silent = collect(bob.socket, 'call_request');
    await expectFailure(alice.client.emit('call_request', { toUserId: bob.id, media: 'audio' }), 'FORBIDDEN');
    await expectFailure(bob.client.emit('call_request', { toUserId: alice.id, media: 'audio' }), 'FORBIDDEN');
    await bob.client.request('DELETE', `/blocks/${alice.id}`);
    await barrier(bob.socket);
    expect(silent).toEqual([]);
    expect((await callsOf(alice.client)).items).toEqual([]);

    const guest = new ParleyClient(suite.server.url);
    opened.push(guest);
    const { user } = await guest.guest('visitor');
    await guest.connect();
    await expectFailure(guest.emit('call_request', { toUserId: bob.id, media: 'video' }), 'FORBIDDEN');
    const request = await guest.request<{ id: string }>('POST', '/friend-requests', { toUserId: bob.id });
    await bob.client.request('POST', `/friend-requests/${request.id}/accept`);
    const incoming = nextEvent(bob.socket, 'call_request');
    const allowed = await guest.emit('call_request', { toUserId: bob.id, media: 'video' });
    expect(allowed.state).toBe('ringing');
    expect((await incoming).from).toMatchObject({ id: user.id, isGuest: true });
    await guest.emit('call_cancel', { callId: allowed.callId });

    const carol = await person();
    await carol.client.request('PATCH', '/users/me', { allowMessagesFrom: 'friends' });
    await expectFailure(alice.client.emit('call_request', { toUserId: carol.id, media: 'audio' }), 'FORBIDDEN');

    await expectFailure(alice.client.emit('call_request', { toUserId: '00000000-0000-4000-8000-000000000000', media: 'audio' }), 'NOT_FOUND');
  });

  it(`a call device that drops ends the call after the ${GRACE_SEC} s grace, with a reason, unless it comes back in time`, async () => {
    const [alice, bob] = await cast();
    const callId = await ring(alice, bob);
    await bob.client.emit('call_accept', { callId });

    // Alice's device drops and the same session reconnects in time: the call goes on from the new socket.
    const lost = nextEvent(bob.socket, 'call_peer', (event) => event.connection === 'lost');
    alice.socket.disconnect();
    expect(await lost).toEqual({ callId, userId: alice.id, connection: 'lost' });
    const resumed = nextEvent(bob.socket, 'call_peer', (event) => event.connection === 'resumed');
    // Listeners go on before the connection completes: the server speaks as soon as the socket is in.
    const connecting = alice.client.connect();
    const snapshot = nextEvent(alice.client.socket as ParleySocket, 'call_state', (event) => event.callId === callId);
    const aliceAgain = await connecting;
    expect(await resumed).toEqual({ callId, userId: alice.id, connection: 'resumed' });
    expect(await snapshot).toMatchObject({ callId, state: 'accepted' });
    const offer = nextEvent(bob.socket, 'webrtc_offer');
    await alice.client.emit('webrtc_offer', { callId, sdp: 'v=0 ice restart' });
    expect(await offer).toMatchObject({ callId, sdp: 'v=0 ice restart' });

    // Bob's only device goes away for good: alice hears `ended` once the grace is over.
    const bobGone = nextEvent(aliceAgain, 'call_peer', (event) => event.connection === 'lost');
    const ended = stateOf(aliceAgain, callId, 'ended', (GRACE_SEC + 5) * 1000);
    bob.client.disconnect();
    expect(await bobGone).toEqual({ callId, userId: bob.id, connection: 'lost' });
    await expectFailure(alice.client.emit('webrtc_offer', { callId, sdp: 'v=0' }), 'CONFLICT');
    expect(await ended).toMatchObject({ callId, state: 'ended', by: bob.id, reason: 'connection_lost' });
    expect((await callsOf(alice.client)).items[0]).toMatchObject({ id: callId, state: 'ended', endReason: 'connection_lost', endedBy: bob.id });
  });

  it('a caller that drops while it rings cancels the call after the grace', async () => {
    const [alice, bob] = await cast();
    const callId = await ring(alice, bob);
    const cancelled = stateOf(bob.socket, callId, 'cancelled', (GRACE_SEC + 5) * 1000);
    alice.client.disconnect();
    expect(await cancelled).toMatchObject({ callId, state: 'cancelled', by: alice.id, reason: 'connection_lost' });
  });

  it('a callee device that connects while the call rings rings too', async () => {
    const [alice, bob] = await cast();
    const callId = await ring(alice, bob);
    const late = new ParleyClient(suite.server.url);
    opened.push(late);
    await late.login({ username: bob.username, password: bob.password });
    const connecting = late.connect();
    // Listen before the connection completes: the ring is sent as soon as the socket is in.
    const heard = nextEvent(late.socket as ParleySocket, 'call_request');
    await connecting;
    expect(await heard).toMatchObject({ callId, from: { id: alice.id } });
    await alice.client.emit('call_cancel', { callId });
  });

  it('stores a call message as data, not words, and still reads messages stored as English text by earlier versions', async () => {
    const alice = await person();
    const bob = await registerClient(suite.server.url);
    const { callId } = await alice.client.emit('call_request', { toUserId: bob.id, media: 'video' });
    const message = await callMessage(bob.client, alice.id, callId);
    const { db } = suite.server.app.database;
    const row = await db.selectFrom('messages').select(['id', 'content']).where('id', '=', Number(message?.id)).executeTakeFirstOrThrow();
    expect(JSON.parse(row.content)).toEqual({ callId, state: 'missed', media: 'video', durationSec: 0, count: 1 });
    // The stored data is not text anyone wrote: search never matches its keys or values.
    for (const q of ['missed', 'video', 'callId', callId]) {
      expect((await bob.client.request<{ items: unknown[] }>('GET', `/messages/search?q=${encodeURIComponent(q)}`)).items, q).toEqual([]);
    }

    // What earlier versions wrote: read-time mapping, so rows need no rewrite.
    const legacy: Array<[string, Record<string, unknown>]> = [
      ['video call 3:12', { state: 'ended', media: 'video', durationSec: 192, count: 1 }],
      ['voice call 1:02:03', { state: 'ended', media: 'audio', durationSec: 3723, count: 1 }],
      ['missed voice call (3)', { state: 'missed', media: 'audio', durationSec: 0, count: 3 }],
      ['declined video call', { state: 'rejected', media: 'video', durationSec: 0, count: 1 }],
      ['cancelled voice call', { state: 'cancelled', media: 'audio', durationSec: 0, count: 1 }],
      ['video call, line busy', { state: 'busy', media: 'video', durationSec: 0, count: 1 }],
    ];
    for (const [content, call] of legacy) {
      await db.updateTable('messages').set({ content }).where('id', '=', Number(message?.id)).execute();
      expect(await callMessage(bob.client, alice.id, callId), content).toMatchObject({ content, call: { callId, ...call } });
    }
    // Text that is neither form stays as it was, without a `call`.
    await db.updateTable('messages').set({ content: 'something else' }).where('id', '=', Number(message?.id)).execute();
    const unknown = await callMessage(bob.client, alice.id, callId);
    expect(unknown?.content).toBe('something else');
    expect(unknown).not.toHaveProperty('call');
  });

  it('lists call history newest first with cursor paging', async () => {
    const alice = await person();
    const bob = await registerClient(suite.server.url);
    const ids: string[] = [];
    for (let i = 0; i < 3; i++) ids.push((await alice.client.emit('call_request', { toUserId: bob.id, media: i % 2 ? 'audio' : 'video' })).callId);
    const first = await callsOf(alice.client, '?limit=2');
    expect(first.items.map((item) => item.id)).toEqual([ids[2], ids[1]]);
    expect(first.nextCursor).toEqual(expect.any(String));
    const second = await callsOf(alice.client, `?limit=2&cursor=${encodeURIComponent(first.nextCursor ?? '')}`);
    expect(second.items.map((item) => item.id)).toEqual([ids[0]]);
    expect(second.nextCursor).toBeNull();
    await expectFailure(alice.client.request('GET', '/calls?cursor=garbage'), 'VALIDATION_FAILED', 400);
    await expectFailure(new ParleyClient(suite.server.url).request('GET', '/calls'), 'UNAUTHORIZED', 401);
  });

  it('hands out STUN and TURN servers with a coturn use-auth-secret credential for the caller', async () => {
    const alice = await person();
    const before = Math.floor(Date.now() / 1000);
    const result = await alice.client.request<{ iceServers: Array<{ urls: string[]; username?: string; credential?: string }>; ttl: number }>('GET', '/calls/ice-servers');
    expect(result.ttl).toBe(3600);
    expect(result.iceServers[0]).toEqual({ urls: ['stun:127.0.0.1:3478'] });
    const turn = result.iceServers[1];
    expect(turn?.urls).toEqual(['turn:127.0.0.1:3478?transport=udp', 'turn:127.0.0.1:3478?transport=tcp']);
    const [expiry, userId] = (turn?.username ?? '').split(':');
    expect(userId).toBe(alice.id);
    expect(Number(expiry)).toBeGreaterThanOrEqual(before + 3600);
    expect(Number(expiry)).toBeLessThanOrEqual(Math.floor(Date.now() / 1000) + 3600);
    expect(turn?.credential).toBe(
      createHmac('sha1', TURN_SECRET)
        .update(turn?.username ?? '')
        .digest('base64'),
    );
    await expectFailure(new ParleyClient(suite.server.url).request('GET', '/calls/ice-servers'), 'UNAUTHORIZED', 401);
  });
});

describe(`calls without TURN (${storageLabel})`, () => {
  const suite = useTestServer({ STUN_URLS: 'stun:127.0.0.1:3478,stun:[::1]:3478' });

  it('hands out STUN only, with the configured TTL', async () => {
    const user = await registerClient(suite.server.url);
    const result = await user.client.request<{ iceServers: unknown[]; ttl: number }>('GET', '/calls/ice-servers');
    expect(result).toEqual({ iceServers: [{ urls: ['stun:127.0.0.1:3478', 'stun:[::1]:3478'] }], ttl: 86_400 });
  });
});

describe(`calls interrupted by a server stop (${storageLabel})`, () => {
  let env: TestEnvironment;
  const servers: TestServer[] = [];
  const clients: ParleyClient[] = [];
  beforeAll(async () => {
    env = await createTestEnvironment();
  });
  afterAll(async () => {
    for (const client of clients) client.disconnect();
    for (const server of servers) await server.close();
    await env?.dispose();
  });

  it('closes the record of a call left ringing when the server stopped, once a server runs again', async () => {
    const overrides = { CALL_RECONNECT_GRACE: '1' };
    const first = await startServer(env, overrides);
    servers.push(first);
    const alice = await registerClient(first.url);
    const bob = await registerClient(first.url);
    clients.push(alice.client, bob.client);
    await Promise.all([alice.client.connect(), bob.client.connect()]);
    const rang = nextEvent(bob.client.socket as ParleySocket, 'call_request');
    const { callId } = await alice.client.emit('call_request', { toUserId: bob.id, media: 'video' });
    await rang;
    alice.client.disconnect();
    bob.client.disconnect();
    await first.close();

    const second = await startServer(env, overrides);
    servers.push(second);
    const again = new ParleyClient(second.url);
    await again.login({ username: bob.username, password: bob.password });
    // In-memory state died with the first server: its record is closed as interrupted. With Redis the
    // state survived, and the second server's sweep ends it once the caller's grace is over.
    let record = await again.request<CallRecord>('GET', `/calls/${callId}`);
    for (let tries = 0; tries < 100 && record.state === 'ringing'; tries++) {
      // Polls until the caller's reconnect grace (a timer) has run out: nothing to wait on but time.
      await settle(200);
      await second.app.services.calls.recover();
      record = await again.request<CallRecord>('GET', `/calls/${callId}`);
    }
    expect(['missed', 'cancelled']).toContain(record.state);
    expect(record.endedAt).not.toBeNull();
    expect(['interrupted', 'connection_lost']).toContain(record.endReason);
    const { id } = await again.request<{ id: string }>('POST', '/conversations', { peerId: alice.id });
    const messages = await history(again, id);
    expect(messages.items.find((message) => message.clientMsgId === `call:${callId}`)?.type).toBe('call');
  });
});
