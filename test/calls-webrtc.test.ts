import { afterAll, describe, expect, it } from 'vitest';
import type { ParleyClient } from '../src/client/index.js';
import { type ConnectedUser, connectedUser } from './support/realtime.js';
import { storageLabel } from './support/server.js';
import { useTestServer } from './support/suite.js';
import { callAndTalk } from './support/webrtc.js';

/**
 * Two real WebRTC stacks (werift, pure TypeScript) place a call through Parley's signaling only:
 * offer, answer and every ICE candidate travel over Parley's sockets, and the peers connect and
 * pass a data channel message over loopback.
 */
describe(`WebRTC peers calling through Parley (${storageLabel})`, () => {
  const suite = useTestServer({ STUN_URLS: 'stun:127.0.0.1:3478' });
  const clients: ParleyClient[] = [];
  afterAll(() => {
    for (const client of clients) client.disconnect();
  });

  async function user(): Promise<ConnectedUser> {
    const person = await connectedUser(suite.server.url);
    clients.push(person.client);
    return person;
  }

  it('connects two werift peers and passes a data channel message', async () => {
    const [alice, bob] = await Promise.all([user(), user()]);
    const { callId, received, callerPc, calleePc, signals } = await callAndTalk(alice, bob);
    try {
      expect(received).toBe('hello over a data channel, signaled by Parley 👋');
      expect(callerPc.connectionState).toBe('connected');
      expect(calleePc.connectionState).toBe('connected');
      expect(signals.offer).toBe(1);
      expect(signals.answer).toBe(1);
      // Candidates went both ways through Parley, and each side got all the other sent.
      expect(signals.candidates.caller.sent).toBeGreaterThan(0);
      expect(signals.candidates.callee.sent).toBeGreaterThan(0);
      expect(signals.candidates.caller.received).toBe(signals.candidates.callee.sent);
      expect(signals.candidates.callee.received).toBe(signals.candidates.caller.sent);
    } finally {
      await Promise.all([callerPc.close(), calleePc.close()]);
    }
    expect(await alice.client.emit('call_hangup', { callId })).toEqual({ callId, state: 'ended' });
    const record = await bob.client.request<{ state: string; answeredAt: string | null }>('GET', `/calls/${callId}`);
    expect(record).toMatchObject({ state: 'ended' });
    expect(record.answeredAt).not.toBeNull();
  });
});
