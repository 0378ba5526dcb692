import { describe, expect, it } from 'vitest';
import { ParleyClient, type ParleySocket } from '../src/client/index.js';
import { apiClient, expectError, uniqueName } from './support/http.js';
import { nextEvent, registerClient } from './support/realtime.js';
import { TEST_DATABASE_URL, TEST_REDIS_URL, type TestServer } from './support/server.js';
import { useTestServer } from './support/suite.js';

/**
 * Suspension across two servers sharing MariaDB and Redis (always the machine's real services,
 * like cluster.test.ts): an admin on one server suspends a user whose sockets are on the other.
 */
const CLUSTER_DATABASE_URL = TEST_DATABASE_URL ?? 'mysql://root@127.0.0.1:3306/parley_test';
const CLUSTER_REDIS_URL = TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';
const ADMIN = uniqueName('admin');

function waitForDisconnect(socket: ParleySocket): Promise<string> {
  return new Promise((resolve) => {
    if (socket.disconnected) resolve('already disconnected');
    else socket.once('disconnect', (reason) => resolve(reason));
  });
}

describe('suspension across two servers sharing MariaDB and Redis', () => {
  const suite = useTestServer({ ADMIN_USERNAMES: ADMIN }, { environment: { databaseUrl: CLUSTER_DATABASE_URL, redisUrl: CLUSTER_REDIS_URL }, servers: 2 });

  it('disconnects every socket of the user on the other server within a second; login and refresh are refused there', async () => {
    const [a, b] = suite.servers as [TestServer, TestServer];
    const admin = await registerClient(a.url, ADMIN);
    const eve = await registerClient(b.url);
    const phone = await eve.client.connect();
    const tablet = new ParleyClient(b.url);
    await tablet.login({ username: eve.username, password: eve.password });
    const tabletSocket = await tablet.connect();

    // The bound is the "within a second"; the events themselves are awaited, never slept for.
    const told = [nextEvent(phone, 'session_revoked', () => true, 1000), nextEvent(tabletSocket, 'session_revoked', () => true, 1000)];
    const gone = [waitForDisconnect(phone), waitForDisconnect(tabletSocket)];
    await admin.client.request('PUT', `/admin/users/${eve.id}/suspension`, { reason: 'cluster' });
    expect(await Promise.all(told)).toEqual([{ reason: 'account_suspended' }, { reason: 'account_suspended' }]);
    expect(await Promise.all(gone)).toEqual(['io server disconnect', 'io server disconnect']);

    const onB = apiClient(b.url);
    expectError(await onB('POST', '/auth/login', { body: { username: eve.username, password: eve.password } }), 403, 'ACCOUNT_SUSPENDED');
    expectError(await onB('POST', '/auth/refresh', { body: { refreshToken: tablet.refreshToken } }), 403, 'ACCOUNT_SUSPENDED');
    expectError(await onB('GET', '/users/me', { token: tablet.accessToken }), 401, 'UNAUTHORIZED');
    admin.client.disconnect();
  });
});
