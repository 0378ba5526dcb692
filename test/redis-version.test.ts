import { once } from 'node:events';
import { createServer, type Server, type Socket } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestEnvironment, startServer, type TestEnvironment } from './support/server.js';

/**
 * A Redis that says it is 6.2: this machine only has Redis 7, and the sharded adapter must refuse
 * an older one at start-up (it would refuse every SPUBLISH later). The stand-in speaks just enough
 * RESP for ioredis's connection: INFO answers with the version, everything else +OK.
 */
function startOldRedis(version: string): Promise<{ url: string; commands: string[]; server: Server }> {
  const commands: string[] = [];
  const server = createServer((socket: Socket) => {
    let buffered = '';
    socket.on('data', (chunk) => {
      buffered += chunk.toString('utf8');
      // Each command is an array of bulk strings: *N\r\n$len\r\nword\r\n...
      for (;;) {
        const match = /^\*(\d+)\r\n/.exec(buffered);
        if (!match) return;
        const count = Number(match[1]);
        let offset = match[0].length;
        const words: string[] = [];
        for (let i = 0; i < count; i++) {
          const header = /^\$(\d+)\r\n/.exec(buffered.slice(offset));
          if (!header) return;
          const length = Number(header[1]);
          const start = offset + header[0].length;
          if (buffered.length < start + length + 2) return;
          words.push(buffered.slice(start, start + length));
          offset = start + length + 2;
        }
        buffered = buffered.slice(offset);
        const command = (words[0] ?? '').toUpperCase();
        commands.push(command);
        if (command === 'INFO') {
          const info = `# Server\r\nredis_version:${version}\r\nredis_mode:standalone\r\nloading:0\r\n`;
          socket.write(`$${Buffer.byteLength(info)}\r\n${info}\r\n`);
        } else if (command === 'PING') socket.write('+PONG\r\n');
        else socket.write('+OK\r\n');
      }
    });
    socket.on('error', () => {});
  });
  server.listen(0, '127.0.0.1');
  return once(server, 'listening').then(() => {
    const address = server.address() as { port: number };
    return { url: `redis://127.0.0.1:${address.port}`, commands, server };
  });
}

describe('SOCKET_ADAPTER=sharded on a Redis older than 7', () => {
  let env: TestEnvironment;
  let oldRedis: Awaited<ReturnType<typeof startOldRedis>>;

  beforeAll(async () => {
    oldRedis = await startOldRedis('6.2.14');
    env = await createTestEnvironment();
  });
  afterAll(async () => {
    oldRedis.server.close();
    await env.dispose();
  });

  it('refuses to start, naming the Redis and its version, and says what it needs', async () => {
    await expect(startServer(env, { REDIS_URL: oldRedis.url, SOCKET_ADAPTER: 'sharded' })).rejects.toThrow(
      `SOCKET_ADAPTER=sharded needs Redis 7 or later (sharded pub/sub); 127.0.0.1:${new URL(oldRedis.url).port} runs Redis 6.2.14`,
    );
    expect(oldRedis.commands).toContain('INFO');
  });

  it('starts on the same stand-in once it reports Redis 7 (the check reads the version, nothing else)', async () => {
    const seven = await startOldRedis('7.0.15');
    try {
      // Only the start-up check is exercised: a stand-in cannot carry pub/sub, so the server is not started.
      const { assertShardedPubSub } = await import('../src/platform/realtime/gateway.js');
      await expect(assertShardedPubSub(seven.url)).resolves.toBeUndefined();
    } finally {
      seven.server.close();
    }
  });
});
