import { afterAll } from 'vitest';
import type { ParleyClient, ParleySocket } from '../../src/client/index.js';
import type { ServerProcess } from './process.js';
import { registerClient } from './realtime.js';
import { databaseKindOf, TEST_DATABASE_URL, type TestEnvironment } from './server.js';

/**
 * For the suites that run two server processes on shared services (cluster, redis-cluster): the
 * database they share is always a real one, the suite's MariaDB or PostgreSQL when it names one,
 * MariaDB on the embedded pass.
 */
export const SHARED_DATABASE_URL = TEST_DATABASE_URL ?? 'mysql://root@127.0.0.1:3306/parley_test';
/** The dialect the servers log for that URL. */
export const SHARED_DIALECT = databaseKindOf(SHARED_DATABASE_URL);

export type Registered = Awaited<ReturnType<typeof registerClient>>;

/** Makes two users friends (a request and its acceptance). */
export async function befriend(a: Registered, b: Registered): Promise<void> {
  const request = await a.client.request<{ id: string }>('POST', '/friend-requests', { toUserId: b.id });
  await b.client.request('POST', `/friend-requests/${request.id}/accept`);
}

/** Resolves with the reason once the socket is disconnected (at once when it already is). */
export function waitForDisconnect(socket: ParleySocket): Promise<string> {
  return new Promise((resolve) => {
    if (socket.disconnected) resolve('already disconnected');
    else socket.once('disconnect', (reason) => resolve(reason));
  });
}

/**
 * The processes a describe block starts and the users it connects to them: `userOn` registers
 * and connects a user on a process; after the block, the clients leave, the processes get SIGTERM
 * and the environment is disposed. Call it inside the describe block.
 */
export function processPair(state: () => { processes: Array<ServerProcess | undefined>; env: TestEnvironment | undefined }) {
  const clients: ParleyClient[] = [];
  afterAll(async () => {
    for (const client of clients) client.disconnect();
    const { processes, env } = state();
    for (const proc of processes) {
      if (!proc || proc.child.exitCode !== null) continue;
      proc.child.kill('SIGTERM');
      await proc.exited;
    }
    await env?.dispose();
  });
  return {
    clients,
    async userOn(proc: ServerProcess): Promise<Registered> {
      const user = await registerClient(proc.url);
      await user.client.connect();
      clients.push(user.client);
      return user;
    },
  };
}
