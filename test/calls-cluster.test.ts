import { randomBytes } from 'node:crypto';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ParleyClient, ParleyError, type ParleySocket } from '../src/client/index.js';
import { type ServerProcess, spawnServer } from './support/process.js';
import { collect, nextEvent, registerClient, settle } from './support/realtime.js';
import { createTestEnvironment, TEST_DATABASE_URL, TEST_REDIS_URL, type TestEnvironment, testEnvVars } from './support/server.js';
import { callAndTalk } from './support/webrtc.js';

/**
 * Calls whose parties are connected to different server processes behind one MariaDB and one
 * Redis: the call state lives in Redis, so either process handles any event of any call.
 */
const CLUSTER_DATABASE_URL = TEST_DATABASE_URL ?? 'mysql://root@127.0.0.1:3306/parley_test';
const CLUSTER_REDIS_URL = TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';
const GRACE_SEC = 2;

type Device = ParleyClient & { socket: ParleySocket };

describe('calls across two server processes sharing MariaDB and Redis', () => {
  let env: TestEnvironment;
  let p1: ServerProcess;
  let p2: ServerProcess;
  const clients: ParleyClient[] = [];

  beforeAll(async () => {
    env = await createTestEnvironment({ databaseUrl: CLUSTER_DATABASE_URL, redisUrl: CLUSTER_REDIS_URL });
    const common = { JWT_SECRET: randomBytes(32).toString('hex'), CALL_RING_TIMEOUT: '5', CALL_RECONNECT_GRACE: String(GRACE_SEC), STUN_URLS: 'stun:127.0.0.1:3478' };
    p1 = await spawnServer(testEnvVars(env, { ...common, LOG_DIR: path.join(env.dataDir, 'logs-1') }));
    p2 = await spawnServer(testEnvVars(env, { ...common, LOG_DIR: path.join(env.dataDir, 'logs-2') }));
  });

  afterAll(async () => {
    for (const client of clients) client.disconnect();
    for (const proc of [p1, p2]) {
      if (!proc || proc.child.exitCode !== null) continue;
      proc.child.kill('SIGTERM');
      await proc.exited;
    }
    await env?.dispose();
  });

  /** A user registered on `home`, with one connected device per listed process. */
  async function person(home: ServerProcess, ...on: ServerProcess[]): Promise<{ id: string; username: string; password: string; devices: Device[] }> {
    const user = await registerClient(home.url);
    const devices: Device[] = [];
    for (const proc of on) {
      const client = new ParleyClient(proc.url);
      clients.push(client);
      await client.login({ username: user.username, password: user.password });
      await client.connect();
      devices.push(client as Device);
    }
    return { id: user.id, username: user.username, password: user.password, devices };
  }

  const stateOn = (device: Device, callId: string, state: string, timeoutMs = 5000) =>
    nextEvent(device.socket, 'call_state', (event) => event.callId === callId && event.state === state, timeoutMs);

  it('rings devices on both processes, relays signaling across them only between the call devices, and ends everywhere', async () => {
    const alice = await person(p1, p1, p2);
    const bob = await person(p2, p1, p2);
    const [alice1, alice2] = alice.devices as [Device, Device];
    const [bob1, bob2] = bob.devices as [Device, Device];
    const alice2Signals = collect(alice2.socket, 'webrtc_answer');
    const bob1Signals = collect(bob1.socket, 'webrtc_offer');
    const alice2States = collect(alice2.socket, 'call_state');

    const rings = [nextEvent(bob1.socket, 'call_request'), nextEvent(bob2.socket, 'call_request')];
    const { callId, state } = await alice1.emit('call_request', { toUserId: bob.id, media: 'video' });
    expect(state).toBe('ringing');
    for (const ring of await Promise.all(rings)) expect(ring).toMatchObject({ callId, from: { id: alice.id }, media: 'video' });

    // Bob answers on p2; his device on p1 hears it was answered elsewhere; all four see accepted.
    const elsewhere = stateOn(bob1, callId, 'answered_elsewhere');
    const accepted = [alice1, alice2, bob1, bob2].map((device) => stateOn(device, callId, 'accepted'));
    await bob2.emit('call_accept', { callId });
    await elsewhere;
    await Promise.all(accepted);

    const offer = nextEvent(bob2.socket, 'webrtc_offer');
    await alice1.emit('webrtc_offer', { callId, sdp: 'v=0 from p1' });
    expect(await offer).toEqual({ callId, sdp: 'v=0 from p1', from: alice.id });
    const answer = nextEvent(alice1.socket, 'webrtc_answer');
    await bob2.emit('webrtc_answer', { callId, sdp: 'v=0 from p2' });
    expect(await answer).toEqual({ callId, sdp: 'v=0 from p2', from: bob.id });
    const candidate = nextEvent(alice1.socket, 'ice_candidate');
    await bob2.emit('ice_candidate', { callId, candidate: { candidate: 'candidate:1 1 udp 1 127.0.0.1 9 typ host', sdpMid: '0', sdpMLineIndex: 0 } });
    expect((await candidate).from).toBe(bob.id);
    await expect(alice2.emit('webrtc_offer', { callId, sdp: 'v=0' })).rejects.toMatchObject({ code: 'FORBIDDEN' });
    await expect(bob1.emit('webrtc_answer', { callId, sdp: 'v=0' })).rejects.toMatchObject({ code: 'FORBIDDEN' });

    // A third user on p2 calling Bob gets busy, whichever process holds the call.
    const carol = await person(p2, p2);
    expect((await (carol.devices[0] as Device).emit('call_request', { toUserId: bob.id, media: 'audio' })).state).toBe('busy');

    const ended = [alice1, alice2, bob1, bob2].map((device) => stateOn(device, callId, 'ended'));
    await bob1.emit('call_hangup', { callId });
    for (const event of await Promise.all(ended)) expect(event).toMatchObject({ state: 'ended', by: bob.id });
    await settle();
    // Alice's other device, on the other process, saw the whole call, and no signaling.
    expect(alice2States.filter((event) => event.callId === callId).map((event) => event.state)).toEqual(['ringing', 'accepted', 'ended']);
    expect(alice2Signals).toEqual([]);
    expect(bob1Signals).toEqual([]);
    const onP1 = await alice1.request<{ items: Array<{ id: string; state: string }> }>('GET', '/calls');
    expect(onP1.items[0]).toMatchObject({ id: callId, state: 'ended' });
  });

  it('lets exactly one of two devices on different processes win a simultaneous accept', async () => {
    const alice = await person(p1, p1);
    const bob = await person(p2, p1, p2);
    const [bob1, bob2] = bob.devices as [Device, Device];
    const rang = nextEvent(bob2.socket, 'call_request');
    const { callId } = await (alice.devices[0] as Device).emit('call_request', { toUserId: bob.id, media: 'audio' });
    await rang;
    const results = await Promise.allSettled([bob1.emit('call_accept', { callId }), bob2.emit('call_accept', { callId })]);
    const won = results.filter((result) => result.status === 'fulfilled');
    const lost = results.filter((result): result is PromiseRejectedResult => result.status === 'rejected');
    expect(won).toHaveLength(1);
    expect(lost).toHaveLength(1);
    expect(lost[0]?.reason).toBeInstanceOf(ParleyError);
    expect((lost[0] as PromiseRejectedResult).reason.code).toBe('CONFLICT');
    await (alice.devices[0] as Device).emit('call_hangup', { callId });
  });

  it('rejects and cancels across processes, and calls a user with no device on either process missed at once', async () => {
    const alice = await person(p1, p1);
    const bob = await person(p2, p2);
    const aliceDevice = alice.devices[0] as Device;
    const bobDevice = bob.devices[0] as Device;

    let rang = nextEvent(bobDevice.socket, 'call_request');
    const first = await aliceDevice.emit('call_request', { toUserId: bob.id, media: 'audio' });
    await rang;
    const rejected = stateOn(aliceDevice, first.callId, 'rejected');
    await bobDevice.emit('call_reject', { callId: first.callId });
    expect(await rejected).toMatchObject({ by: bob.id, reason: 'declined' });

    rang = nextEvent(bobDevice.socket, 'call_request');
    const second = await aliceDevice.emit('call_request', { toUserId: bob.id, media: 'video' });
    await rang;
    const cancelled = stateOn(bobDevice, second.callId, 'cancelled');
    await aliceDevice.emit('call_cancel', { callId: second.callId });
    expect(await cancelled).toMatchObject({ by: alice.id });

    const nobody = await registerClient(p2.url);
    expect((await aliceDevice.emit('call_request', { toUserId: nobody.id, media: 'audio' })).state).toBe('missed');
    const history = await nobody.client.request<{ items: Array<{ state: string; endReason: string }> }>('GET', '/calls');
    expect(history.items[0]).toMatchObject({ state: 'missed', endReason: 'offline' });
  });

  it('times out a ringing call placed on p1 while the callee sits on p2', async () => {
    const alice = await person(p1, p1);
    const bob = await person(p2, p2);
    const bobDevice = bob.devices[0] as Device;
    const rang = nextEvent(bobDevice.socket, 'call_request');
    const { callId } = await (alice.devices[0] as Device).emit('call_request', { toUserId: bob.id, media: 'video' });
    await rang;
    expect(await stateOn(bobDevice, callId, 'missed', 15_000)).toMatchObject({ reason: 'timeout' });
  });

  it('keeps the call when a device reconnects to the other process within the grace', async () => {
    const alice = await person(p1, p1);
    const bob = await person(p2, p2);
    const aliceOnP1 = alice.devices[0] as Device;
    const bobDevice = bob.devices[0] as Device;
    const rang = nextEvent(bobDevice.socket, 'call_request');
    const { callId } = await aliceOnP1.emit('call_request', { toUserId: bob.id, media: 'audio' });
    await rang;
    await bobDevice.emit('call_accept', { callId });

    // Same session (same tokens), new connection, other process.
    const lost = nextEvent(bobDevice.socket, 'call_peer', (event) => event.connection === 'lost');
    const resumed = nextEvent(bobDevice.socket, 'call_peer', (event) => event.connection === 'resumed');
    const aliceOnP2 = new ParleyClient(p2.url, { accessToken: aliceOnP1.accessToken, refreshToken: aliceOnP1.refreshToken });
    clients.push(aliceOnP2);
    aliceOnP1.disconnect();
    await lost;
    await aliceOnP2.connect();
    expect(await resumed).toEqual({ callId, userId: alice.id, connection: 'resumed' });
    const offer = nextEvent(bobDevice.socket, 'webrtc_offer');
    await aliceOnP2.emit('webrtc_offer', { callId, sdp: 'v=0 from p2 now' });
    expect((await offer).sdp).toBe('v=0 from p2 now');
    await settle((GRACE_SEC + 1) * 1000);
    // Still on after the grace: the device came back in time.
    const hung = await aliceOnP2.emit('call_hangup', { callId });
    expect(hung.state).toBe('ended');
  });

  it('connects two werift peers on different processes through Parley signaling', async () => {
    const alice = await person(p1, p1);
    const bob = await person(p2, p2);
    const a = alice.devices[0] as Device;
    const b = bob.devices[0] as Device;
    const { received, callerPc, calleePc } = await callAndTalk({ client: a, socket: a.socket }, { id: bob.id, client: b, socket: b.socket });
    try {
      expect(received).toBe('hello over a data channel, signaled by Parley 👋');
    } finally {
      await Promise.all([callerPc.close(), calleePc.close()]);
    }
  });

  // Last: it kills p1. Its presence heartbeat expires after 30 s; p2's sweep then sees Alice's call
  // device gone with it, waits the grace, and ends the call.
  it('ends the call from the surviving process when the process holding a call device dies', async () => {
    const alice = await person(p1, p1);
    const bob = await person(p2, p2);
    const bobDevice = bob.devices[0] as Device;
    const rang = nextEvent(bobDevice.socket, 'call_request');
    const { callId } = await (alice.devices[0] as Device).emit('call_request', { toUserId: bob.id, media: 'video' });
    await rang;
    await bobDevice.emit('call_accept', { callId });

    const lost = nextEvent(bobDevice.socket, 'call_peer', (event) => event.connection === 'lost', 60_000);
    const ended = stateOn(bobDevice, callId, 'ended', 70_000);
    p1.child.kill('SIGKILL');
    await p1.exited;
    expect(await lost).toEqual({ callId, userId: alice.id, connection: 'lost' });
    expect(await ended).toMatchObject({ callId, state: 'ended', by: alice.id, reason: 'connection_lost' });
    const record = await bobDevice.request<{ state: string; endReason: string }>('GET', `/calls/${callId}`);
    expect(record).toMatchObject({ state: 'ended', endReason: 'connection_lost' });
  }, 90_000);
});
