import { afterAll, describe, expect, it } from 'vitest';
import { ParleyClient, type ParleySocket } from '../src/client/index.js';
import { type FakeLlm, startFakeLlm } from './support/fake-llm.js';
import { apiClient } from './support/http.js';
import { nextEvent, registerClient } from './support/realtime.js';
import { TEST_DATABASE_URL, TEST_REDIS_URL, type TestServer } from './support/server.js';
import { useTestServer } from './support/suite.js';

/**
 * Two servers sharing MariaDB and Redis (always the machine's real services, like cluster.test.ts):
 * an AI reply started on one can be cancelled from a device on the other, its chunks reach devices
 * on both, and both find the same assistant bot.
 */
const CLUSTER_DATABASE_URL = TEST_DATABASE_URL ?? 'mysql://root@127.0.0.1:3306/parley_test';
const CLUSTER_REDIS_URL = TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';

describe('AI across two servers sharing MariaDB and Redis', () => {
  let fake: FakeLlm;
  // One at a time: the first applies the migrations and creates the bot, the second finds both done.
  const suite = useTestServer(
    async () => {
      fake = await startFakeLlm();
      return { DEEPSEEK_API_KEY: 'k', DEEPSEEK_BASE_URL: fake.openaiBaseUrl, AI_TIMEOUT: '10' };
    },
    { environment: { databaseUrl: CLUSTER_DATABASE_URL, redisUrl: CLUSTER_REDIS_URL }, servers: 2 },
  );
  afterAll(async () => {
    await fake?.close();
  });

  it('delivers chunks to devices on both servers and cancels from the other server', async () => {
    const [a, b] = suite.servers as [TestServer, TestServer];
    const user = await registerClient(a.url);
    const onA = await user.client.connect();
    const second = new ParleyClient(b.url);
    await second.login({ username: user.username, password: user.password });
    const onB = (await second.connect()) as ParleySocket;

    fake.enqueue({ kind: 'stall', chunks: ['thinking'] });
    const requested = fake.nextRequest();
    const chunkOnB = nextEvent(onB, 'ai_chunk');
    const errorOnA = nextEvent(onA, 'ai_error');
    const errorOnB = nextEvent(onB, 'ai_error');
    const ack = await user.client.emit('ai_chat', { content: 'long question' });
    expect((await chunkOnB).delta).toBe('thinking');

    expect(await second.emit('ai_cancel', { requestId: ack.requestId })).toEqual({ cancelled: true });
    const request = await requested;
    await request.aborted;
    expect(request.wasAborted).toBe(true);
    expect((await errorOnA).error.code).toBe('AI_CANCELLED');
    expect((await errorOnB).error.code).toBe('AI_CANCELLED');
    user.client.disconnect();
    second.disconnect();
  });

  it('both servers find the same assistant bot', async () => {
    const [a, b] = suite.servers as [TestServer, TestServer];
    const user = await registerClient(a.url);
    const fromA = await user.client.request<{ user: { id: string } }>('GET', '/ai/assistant');
    const token = user.client.accessToken as string;
    const fromB = await apiClient(b.url)('GET', '/ai/assistant', { token });
    expect(fromB.status).toBe(200);
    expect(fromB.body.user.id).toBe(fromA.user.id);
    const found = await apiClient(b.url)('GET', '/users?q=assistant', { token });
    expect(found.body.items.filter((u: { id: string }) => u.id === fromA.user.id)).toHaveLength(1);
  });
});
