import { type ChildProcess, spawn } from 'node:child_process';
import { createSocket } from 'node:dgram';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { RTCIceServer } from 'werift';
import type { ParleyClient } from '../src/client/index.js';
import { turnCredential } from '../src/modules/calls/index.js';
import { type ConnectedUser, connectedUser } from './support/realtime.js';
import { storageLabel } from './support/server.js';
import { useTestServer } from './support/suite.js';
import { callAndTalk, loopbackPeer } from './support/webrtc.js';

/**
 * TURN credentials in the scheme coturn implements with `use-auth-secret` (the TURN REST API):
 * username `expiry:userId`, password base64(HMAC-SHA1(secret, username)). Checked against a value
 * computed independently (`openssl dgst -sha1 -hmac`), then against a real coturn `turnserver` on
 * loopback: two WebRTC peers allowed to use relay candidates only connect through it with the
 * credentials Parley hands out, and coturn refuses a wrong or expired one.
 */

const SECRET = 'parley-turn-test-secret';

describe('TURN REST credentials', () => {
  it('match the known HMAC for a known secret, user and expiry', () => {
    // printf '1700000000:alice' | openssl dgst -sha1 -hmac 'north' -binary | base64
    expect(turnCredential('north', 'alice', 1_700_000_000)).toEqual({ username: '1700000000:alice', credential: 'Cd/49soE35ICqcJF/bCTn8Z4OyE=' });
  });
});

/**
 * coturn's ports are taken above Linux's ephemeral range (32768-60999): the suites running alongside
 * take ephemeral ports all the time, and one of them once held the port coturn was about to listen
 * on (found free a moment before). Relays get 61000-65299; the listener a free port of 65400-65535.
 */
const RELAY_RANGE = { from: 61_000, to: 65_300 } as const;
const LISTENER_RANGE = { from: 65_400, to: 65_536 } as const;

/** A UDP port of LISTENER_RANGE that binds now (tried at random, so parallel runs rarely meet). */
async function freeUdpPort(): Promise<number> {
  for (let attempt = 0; attempt < 50; attempt++) {
    const port = LISTENER_RANGE.from + Math.floor(Math.random() * (LISTENER_RANGE.to - LISTENER_RANGE.from));
    const socket = createSocket('udp4');
    const bound = await new Promise<boolean>((resolve) => {
      socket.once('error', () => resolve(false));
      socket.bind(port, '127.0.0.1', () => resolve(true));
    });
    await new Promise<void>((resolve) => socket.close(() => resolve()));
    if (bound) return port;
  }
  throw new Error(`no free UDP port in ${LISTENER_RANGE.from}-${LISTENER_RANGE.to - 1}`);
}

/** Starts coturn on loopback with the TURN REST API secret; resolves once it listens. */
async function startTurnserver(dir: string, port: number): Promise<{ child: ChildProcess; log: () => string }> {
  const relayFrom = RELAY_RANGE.from + Math.floor(Math.random() * (RELAY_RANGE.to - RELAY_RANGE.from - 100));
  const child = spawn(
    '/usr/bin/turnserver',
    [
      '-n',
      '--listening-ip=127.0.0.1',
      '--relay-ip=127.0.0.1',
      `--listening-port=${port}`,
      `--min-port=${relayFrom}`,
      `--max-port=${relayFrom + 100}`,
      '--use-auth-secret',
      `--static-auth-secret=${SECRET}`,
      '--realm=parley.test',
      // UDP only, as the peers use: a TCP listener would need its port free as well.
      '--no-tcp',
      '--no-tls',
      '--no-dtls',
      '--no-cli',
      // The peers are on this machine's loopback too; coturn refuses loopback peers unless told.
      '--allow-loopback-peers',
      '--no-multicast-peers',
      '--fingerprint',
      `--db=${path.join(dir, 'turndb')}`,
      `--pidfile=${path.join(dir, 'turnserver.pid')}`,
      '--log-file=stdout',
      '--simple-log',
    ],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let log = '';
  child.stdout?.on('data', (chunk: Buffer) => (log += chunk.toString()));
  child.stderr?.on('data', (chunk: Buffer) => (log += chunk.toString()));
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`turnserver did not start: ${log}`)), 15_000);
    const check = () => {
      if (/relay ports initialization.*done|Total UDP servers/i.test(log) || /IPv4\. UDP listener opened on : 127\.0\.0\.1/.test(log)) {
        clearTimeout(timer);
        resolve();
      }
    };
    child.stdout?.on('data', check);
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`turnserver exited with ${code}: ${log}`));
    });
  });
  return { child, log: () => log };
}

/** Gathers candidates with relay-only policy and returns the relay candidates it got. */
async function relayCandidates(iceServers: RTCIceServer[], waitMs = 15_000): Promise<string[]> {
  const pc = loopbackPeer({ iceServers, iceTransportPolicy: 'relay' });
  const found: string[] = [];
  try {
    // Done at the first relay candidate, or when gathering completes without one.
    const gathered = new Promise<void>((resolve) => {
      pc.onIceCandidate.subscribe((candidate) => {
        if (!candidate) return;
        found.push(candidate.toJSON().candidate);
        if (candidate.toJSON().candidate.includes(' typ relay')) resolve();
      });
      pc.iceGatheringStateChange.subscribe((state) => state === 'complete' && resolve());
    });
    pc.createDataChannel('probe');
    // werift's setLocalDescription waits for gathering, which retries a refused allocation for ~13 s.
    const described = pc.setLocalDescription(await pc.createOffer()).catch(() => undefined);
    await Promise.race([Promise.all([gathered, described]), new Promise((resolve) => setTimeout(resolve, waitMs))]);
    return found.filter((candidate) => candidate.includes(' typ relay'));
  } finally {
    await pc.close();
  }
}

describe(`calls through a real coturn turnserver (${storageLabel})`, () => {
  let dir: string;
  let turn: { child: ChildProcess; log: () => string };
  let port: number;
  const clients: ParleyClient[] = [];
  // The server's configuration points at coturn, started first on a port found free.
  const suite = useTestServer(async () => {
    dir = mkdtempSync(path.join(tmpdir(), 'parley-turn-'));
    port = await freeUdpPort();
    turn = await startTurnserver(dir, port);
    return { STUN_URLS: `stun:127.0.0.1:${port}`, TURN_URLS: `turn:127.0.0.1:${port}?transport=udp`, TURN_SECRET: SECRET, TURN_TTL: '600' };
  });
  afterAll(async () => {
    for (const client of clients) client.disconnect();
    if (turn && turn.child.exitCode === null) {
      const exited = new Promise((resolve) => turn.child.once('exit', resolve));
      turn.child.kill('SIGTERM');
      await exited;
    }
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  async function user(): Promise<ConnectedUser> {
    const person = await connectedUser(suite.server.url);
    clients.push(person.client);
    return person;
  }

  async function iceServersOf(person: ConnectedUser): Promise<RTCIceServer[]> {
    const { iceServers } = await person.client.request<{ iceServers: Array<{ urls: string[]; username?: string; credential?: string }> }>('GET', '/calls/ice-servers');
    // werift takes one URL per entry.
    return iceServers.flatMap((entry) => entry.urls.map((url) => ({ urls: url, username: entry.username, credential: entry.credential })));
  }

  it('coturn allocates a relay with the credential Parley hands out, and refuses a wrong or expired one', async () => {
    const alice = await user();
    const servers = await iceServersOf(alice);
    const turnEntry = servers.find((entry) => String(entry.urls).startsWith('turn:'));
    expect(turnEntry?.username).toMatch(new RegExp(`^\\d+:${alice.id}$`));
    expect(await relayCandidates(servers), `no relay candidate; coturn's log:\n${turn.log().slice(-3000)}`).not.toEqual([]);

    // coturn logs each refused authentication ("check_stun_auth: Cannot find credentials of user ...").
    const refusals = () => (turn.log().match(/check_stun_auth/g) ?? []).length;
    const before = refusals();
    const wrong = { ...turnEntry, credential: turnCredential('not-the-secret', alice.id, Math.floor(Date.now() / 1000) + 600).credential } as RTCIceServer;
    expect(await relayCandidates([wrong], 5000)).toEqual([]);
    const afterWrong = refusals();
    expect(afterWrong).toBeGreaterThan(before);
    const expired = { ...turnEntry, ...turnCredential(SECRET, alice.id, Math.floor(Date.now() / 1000) - 60) } as RTCIceServer;
    expect(await relayCandidates([expired], 5000)).toEqual([]);
    expect(refusals()).toBeGreaterThan(afterWrong);
  }, 60_000);

  it('two peers restricted to relay candidates connect through coturn and pass a data channel message', async () => {
    const [alice, bob] = await Promise.all([user(), user()]);
    const { received, callerPc, calleePc, signals } = await callAndTalk(alice, bob, {
      iceServers: await iceServersOf(alice),
      iceTransportPolicy: 'relay',
      onlyRelay: true,
    });
    try {
      expect(received).toBe('hello over a data channel, signaled by Parley 👋');
      expect(signals.candidates.caller.sent).toBeGreaterThan(0);
      expect(signals.candidates.callee.sent).toBeGreaterThan(0);
    } finally {
      await Promise.all([callerPc.close(), calleePc.close()]);
    }
  });
});
