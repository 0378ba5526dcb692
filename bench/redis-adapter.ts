// Redis messages each process receives per chat message, for 1, 2 and 4 processes, with the
// classic and the sharded Socket.IO adapter (BENCH_ONLY=redis, or `node dist/bench/redis-adapter.js`).
// Each "process" is Parley's own gateway (createGateway: the real adapter wiring and publisher) on
// its own HTTP server and its own Redis connections, in this one Node process; users are
// connected to fixed processes and private chats pair users at random (fixed seed), as Parley's
// messaging service emits them (publisher.toUsers([low, high])). Counting is done on each
// gateway's subscriber connection. BENCH_REDIS_URL (redis://127.0.0.1:6379), BENCH_REDIS_USERS
// (per process, 10) and BENCH_REDIS_MESSAGES (400) shape it.

import { randomBytes } from 'node:crypto';
import { createServer, type Server as HttpServer } from 'node:http';
import { io as connectClient, type Socket } from 'socket.io-client';
import { loadConfig } from '../src/config.js';
import { MemoryCache } from '../src/platform/cache/memory.js';
import { createLogger } from '../src/platform/logger.js';
import { createGateway, type Gateway } from '../src/platform/realtime/gateway.js';

export interface RedisAdapterRow {
  adapter: 'classic' | 'sharded';
  processes: number;
  messages: number;
  /** Redis messages received per process per chat message (mean over processes). */
  perProcess: number;
  /** The same, summed over all processes. */
  total: number;
  delivered: number;
}

function envNumber(name: string, fallback: number): number {
  const value = Number(process.env[name]);
  return Number.isFinite(value) && value > 0 ? value : fallback;
}

/** A small deterministic generator, so every run pairs the same users. */
function seeded(seed: number): () => number {
  let state = seed;
  return () => {
    state = (state * 1_103_515_245 + 12_345) % 2 ** 31;
    return state / 2 ** 31;
  };
}

async function measure(redisUrl: string, adapter: 'classic' | 'sharded', processes: number, usersPerProcess: number, messages: number): Promise<RedisAdapterRow> {
  const config = loadConfig({ env: {}, overrides: { NODE_ENV: 'test', LOG_LEVEL: 'silent', LOG_TO_STDOUT: 'false' } });
  const { logger, close: closeLogger } = await createLogger(config.log);
  const prefix = `parley-bench:${randomBytes(4).toString('hex')}:`;
  const servers: HttpServer[] = [];
  const gateways: Gateway[] = [];
  for (let i = 0; i < processes; i++) {
    const httpServer = createServer();
    await new Promise<void>((resolve) => httpServer.listen(0, '127.0.0.1', resolve));
    servers.push(httpServer);
    gateways.push(
      createGateway({
        httpServer,
        logger,
        corsOrigins: ['*'],
        redisUrl,
        socketAdapter: adapter,
        redisKeyPrefix: prefix,
        cache: new MemoryCache(),
        limits: { ...config.socketLimits, handshakesPerMinutePerIp: 1_000_000, handshakesPerMinutePerUser: 1_000_000 },
        trustProxy: false,
        // The token is the user id: no auth cost, which this bench does not measure.
        authenticate: async (token) => ({ actor: { userId: token, sessionId: `s-${token}` } as never, expiresAt: Date.now() + 3_600_000 }),
        roomsOf: async () => [],
        onConnection: () => {},
      }),
    );
  }
  // Subscriptions are made as rooms appear; give the adapters a moment to subscribe their main channels.
  await new Promise((resolve) => setTimeout(resolve, 300));
  const users: Array<{ id: string; process: number }> = [];
  const sockets: Socket[] = [];
  let delivered = 0;
  for (let p = 0; p < processes; p++) {
    const address = servers[p]?.address();
    const port = typeof address === 'object' && address ? address.port : 0;
    for (let u = 0; u < usersPerProcess; u++) {
      const id = `u${p}x${u}`;
      const socket = connectClient(`http://127.0.0.1:${port}`, { path: '/socket.io', transports: ['websocket'], auth: { token: id } });
      await new Promise<void>((resolve, reject) => {
        socket.once('connect', () => resolve());
        socket.once('connect_error', reject);
      });
      socket.on('chat', () => delivered++);
      sockets.push(socket);
      users.push({ id, process: p });
    }
  }
  await new Promise((resolve) => setTimeout(resolve, 300));
  const before = gateways.map((gateway) => gateway.redisMessagesReceived());
  const random = seeded(42);
  const pick = () => users[Math.floor(random() * users.length)] as { id: string; process: number };
  for (let m = 0; m < messages; m++) {
    const sender = pick();
    let peer = pick();
    while (peer.id === sender.id) peer = pick();
    // The sender's process publishes, as the messaging service does after storing the message.
    gateways[sender.process]?.publisher.toUsers([sender.id, peer.id], 'chat', { id: String(m), content: 'x' } as never);
    if (m % 50 === 49) await new Promise((resolve) => setImmediate(resolve));
  }
  const expected = messages * 2;
  const deadline = Date.now() + 10_000;
  while (delivered < expected && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 20));
  await new Promise((resolve) => setTimeout(resolve, 200));
  const received = gateways.map((gateway, i) => gateway.redisMessagesReceived() - (before[i] ?? 0));
  for (const socket of sockets) socket.disconnect();
  for (const gateway of gateways) await gateway.close();
  for (const server of servers) await new Promise((resolve) => server.close(resolve));
  await closeLogger();
  const total = received.reduce((sum, n) => sum + n, 0) / messages;
  return { adapter, processes, messages, perProcess: total / processes, total, delivered };
}

export async function benchRedisAdapters(): Promise<RedisAdapterRow[]> {
  const redisUrl = process.env.BENCH_REDIS_URL ?? 'redis://127.0.0.1:6379';
  const usersPerProcess = envNumber('BENCH_REDIS_USERS', 10);
  const messages = envNumber('BENCH_REDIS_MESSAGES', 400);
  const rows: RedisAdapterRow[] = [];
  for (const adapter of ['classic', 'sharded'] as const) {
    for (const processes of [1, 2, 4]) rows.push(await measure(redisUrl, adapter, processes, usersPerProcess, messages));
  }
  return rows;
}

export function printRedisAdapters(rows: RedisAdapterRow[]): string {
  const lines = ['Redis messages received per chat message (private chats, users on fixed processes)', 'adapter   processes   per process   all processes   delivered/expected'];
  for (const row of rows) {
    lines.push(
      `${row.adapter.padEnd(9)} ${String(row.processes).padStart(9)}   ${row.perProcess.toFixed(2).padStart(11)}   ${row.total.toFixed(2).padStart(13)}   ${row.delivered}/${row.messages * 2}`,
    );
  }
  return lines.join('\n');
}

if (import.meta.url === `file://${process.argv[1]}`) {
  benchRedisAdapters()
    .then((rows) => {
      process.stdout.write(`${printRedisAdapters(rows)}\n`);
      process.exit(rows.every((row) => row.delivered === row.messages * 2) ? 0 : 1);
    })
    .catch((error: unknown) => {
      process.stderr.write(`${String(error)}\n`);
      process.exit(1);
    });
}
