import { afterEach, describe, expect, it } from 'vitest';
import type { ParleyClient, ParleySocket } from '../src/client/index.js';
import { createGroup, expectFailure, openPrivate, people, sendText } from './support/messaging.js';
import { barrier, nextEvent } from './support/realtime.js';
import { storageLabel } from './support/server.js';
import { useTestServer } from './support/suite.js';

/** Resolves with the reason once the server closes the socket (not on client-side closes). */
function disconnected(socket: ParleySocket, timeoutMs = 5000): Promise<string> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('socket was not disconnected')), timeoutMs);
    socket.once('disconnect', (reason) => {
      clearTimeout(timer);
      resolve(reason);
    });
  });
}

describe(`messaging: sessions and sockets (${storageLabel})`, () => {
  const suite = useTestServer();
  const crowd = people(() => suite.server.url);
  afterEach(() => crowd.closeAll());

  /** Checks a socket still works end to end: a private message from `from` reaches it. */
  async function stillReceives(socket: ParleySocket, from: ParleyClient, conversationId: string): Promise<void> {
    const arrived = nextEvent(socket, 'chat', (m) => m.content === 'still there?');
    const sent = await sendText(from, conversationId, 'still there?');
    expect((await arrived).id).toBe(sent.id);
  }

  it('logging out disconnects that session’s socket at once, telling it why, while the user’s other session stays connected', async () => {
    const alice = await crowd.user();
    const bob = await crowd.user();
    const aliceTablet = await crowd.device(alice);
    const conversationId = await openPrivate(bob.client, alice.id);
    const revoked = nextEvent(alice.socket, 'session_revoked');
    const closed = disconnected(alice.socket);
    await alice.client.request('POST', '/auth/logout');
    expect((await revoked).reason).toEqual(expect.any(String));
    expect(await closed).toBe('io server disconnect');
    expect(alice.socket.connected).toBe(false);

    await barrier(aliceTablet.socket);
    expect(aliceTablet.socket.connected).toBe(true);
    await stillReceives(aliceTablet.socket, bob.client, conversationId);
    // The ended session's token no longer opens a socket.
    await expect(alice.client.connect()).rejects.toMatchObject({ code: 'UNAUTHORIZED' });
  });

  it('revoking a session with DELETE /auth/sessions/:id disconnects its socket at once and leaves the caller’s own connected', async () => {
    const alice = await crowd.user();
    const bob = await crowd.user();
    const alicePhone = await crowd.device(alice);
    const conversationId = await openPrivate(bob.client, alice.id);
    const sessions = await alice.client.request<{ items: Array<{ id: string; current: boolean }> }>('GET', '/auth/sessions');
    expect(sessions.items).toHaveLength(2);
    const phoneSession = sessions.items.find((s) => !s.current);
    const revoked = nextEvent(alicePhone.socket, 'session_revoked');
    const closed = disconnected(alicePhone.socket);
    await alice.client.request('DELETE', `/auth/sessions/${phoneSession!.id}`);
    expect((await revoked).reason).toEqual(expect.any(String));
    expect(await closed).toBe('io server disconnect');

    await barrier(alice.socket);
    expect(alice.socket.connected).toBe(true);
    await stillReceives(alice.socket, bob.client, conversationId);
    await expect(alicePhone.request('GET', '/users/me')).rejects.toMatchObject({ code: 'UNAUTHORIZED', status: 401 });
  });

  it('auth_refresh with a fresh access token keeps the same socket and its rooms', async () => {
    const alice = await crowd.user();
    const bob = await crowd.user();
    const group = await createGroup(bob.client, [alice]);
    const socketId = alice.socket.id;
    const oldRefreshToken = alice.client.refreshToken;
    // Rotates the pair over REST, then hands the socket the new access token with auth_refresh.
    await alice.client.refresh();
    expect(alice.client.refreshToken).not.toBe(oldRefreshToken);
    expect(alice.socket.connected).toBe(true);
    expect(alice.socket.id).toBe(socketId);

    const arrived = nextEvent(alice.socket, 'chat');
    const sent = await sendText(bob.client, group.conversationId, 'after your refresh');
    expect((await arrived).id).toBe(sent.id);
    // The socket still acts as Alice.
    const reply = await sendText(alice.client, group.conversationId, 'got it');
    expect(reply.senderId).toBe(alice.id);

    // The explicit ack carries the new expiry.
    const ack = await alice.client.emit('auth_refresh', { token: alice.client.accessToken! });
    expect(new Date(ack.expiresAt).getTime()).toBeGreaterThan(Date.now());
  });

  it('refuses auth_refresh with another user’s token (FORBIDDEN) or with garbage (UNAUTHORIZED), keeping the connection as it was', async () => {
    const alice = await crowd.user();
    const mallory = await crowd.user();
    const conversationId = await openPrivate(mallory.client, alice.id);
    await expectFailure(alice.client.emit('auth_refresh', { token: mallory.client.accessToken! }), 'FORBIDDEN');
    await expectFailure(alice.client.emit('auth_refresh', { token: 'garbage' }), 'UNAUTHORIZED');
    await expectFailure(alice.client.emit('auth_refresh', { token: '' }), 'VALIDATION_FAILED');
    expect(alice.socket.connected).toBe(true);
    const sent = await sendText(alice.client, conversationId, 'still me');
    expect(sent.senderId).toBe(alice.id);
    await stillReceives(alice.socket, mallory.client, conversationId);
  });
});
