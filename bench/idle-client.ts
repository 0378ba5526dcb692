// Forked helper of the idle-connections bench: opens one websocket-only Socket.IO connection
// per token entry it is given (forceNew: one engine each), keeps them open
// and idle until told to close.
import { performance } from 'node:perf_hooks';
import { io, type Socket } from 'socket.io-client';

export type ToIdleWorker =
  | { type: 'connect'; url: string /** One connection per entry (a token repeats once per device). */; tokens: string[]; concurrency: number; deadline: number }
  | { type: 'count' }
  | { type: 'close' };
export type FromIdleWorker =
  | { type: 'connected'; connected: number; failed: number; skipped: number; firstError?: string; ms: number; cpuMs: number }
  | { type: 'count'; connected: number; disconnected: number }
  | { type: 'closed' };

const sockets: Socket[] = [];
let disconnected = 0;
const send = (message: FromIdleWorker) => process.send?.(message);

async function connectAll(url: string, jobs: string[], concurrency: number, deadline: number): Promise<void> {
  const started = performance.now();
  const cpuStart = process.cpuUsage();
  let failed = 0;
  let firstError: string | undefined;
  let next = 0;
  const connectOne = (token: string) =>
    new Promise<void>((resolve) => {
      const socket = io(url, { path: '/socket.io', transports: ['websocket'], forceNew: true, reconnection: false, timeout: 30_000, auth: { token } });
      socket.once('connect', () => {
        sockets.push(socket);
        socket.once('disconnect', () => disconnected++);
        resolve();
      });
      socket.once('connect_error', (error) => {
        failed++;
        firstError ??= error.message;
        socket.close();
        resolve();
      });
    });
  const lane = async () => {
    while (next < jobs.length && Date.now() < deadline) await connectOne(jobs[next++] as string);
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, jobs.length) }, lane));
  const cpu = process.cpuUsage(cpuStart);
  send({ type: 'connected', connected: sockets.length, failed, skipped: jobs.length - next, firstError, ms: performance.now() - started, cpuMs: (cpu.user + cpu.system) / 1000 });
}

process.on('message', (message: ToIdleWorker) => {
  if (message.type === 'connect') void connectAll(message.url, message.tokens, message.concurrency, message.deadline);
  else if (message.type === 'count') send({ type: 'count', connected: sockets.filter((socket) => socket.connected).length, disconnected });
  else if (message.type === 'close') {
    for (const socket of sockets) socket.close();
    send({ type: 'closed' });
    setTimeout(() => process.exit(0), 50);
  }
});

process.on('disconnect', () => process.exit(0));
