// Forked helper of the soak bench: holds its share of the websocket-only Socket.IO clients and,
// once told to, sends chat messages round-robin over them at a steady rate, counting acks,
// failures, timeouts, deliveries and drops until told to stop.
import { io, type Socket } from 'socket.io-client';

export interface SoakJob {
  token: string;
  conversationId: string;
}

export type ToSoakWorker = { type: 'connect'; url: string; jobs: SoakJob[]; concurrency: number } | { type: 'send'; perSecond: number } | { type: 'stats' } | { type: 'close' };

export interface SoakStats {
  connected: number;
  connectFailed: number;
  sent: number;
  acked: number;
  /** Acks with ok: false. */
  refused: number;
  /** No ack within 10 s. */
  timeouts: number;
  received: number;
  disconnects: number;
  firstError?: string;
}

export type FromSoakWorker = { type: 'connected'; stats: SoakStats } | { type: 'stats'; stats: SoakStats } | { type: 'closed' };

const clients: Array<{ socket: Socket; conversationId: string }> = [];
const stats: SoakStats = { connected: 0, connectFailed: 0, sent: 0, acked: 0, refused: 0, timeouts: 0, received: 0, disconnects: 0 };
const send = (message: FromSoakWorker) => process.send?.(message);
let ticker: NodeJS.Timeout | undefined;
let next = 0;
let counter = 0;

async function connectAll(url: string, jobs: SoakJob[], concurrency: number): Promise<void> {
  let index = 0;
  const connectOne = (job: SoakJob) =>
    new Promise<void>((resolve) => {
      const socket = io(url, { path: '/socket.io', transports: ['websocket'], forceNew: true, reconnection: false, timeout: 30_000, auth: { token: job.token } });
      socket.once('connect', () => {
        clients.push({ socket, conversationId: job.conversationId });
        socket.on('chat', () => stats.received++);
        socket.once('disconnect', () => stats.disconnects++);
        resolve();
      });
      socket.once('connect_error', (error) => {
        stats.connectFailed++;
        stats.firstError ??= `connect: ${error.message}`;
        socket.close();
        resolve();
      });
    });
  const lane = async () => {
    while (index < jobs.length) await connectOne(jobs[index++] as SoakJob);
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, jobs.length) }, lane));
  stats.connected = clients.length;
  send({ type: 'connected', stats });
}

function sendOne(): void {
  if (clients.length === 0) return;
  const client = clients[next++ % clients.length];
  if (!client?.socket.connected) return;
  stats.sent++;
  const clientMsgId = `soak-${process.pid}-${counter++}`;
  client.socket
    .timeout(10_000)
    .emit(
      'chat',
      { conversationId: client.conversationId, type: 'text', content: `soak message ${counter} ${'x'.repeat(60)}`, clientMsgId },
      (error: Error | null, ack: { ok: boolean; error?: { code: string } }) => {
        if (error) {
          stats.timeouts++;
          stats.firstError ??= 'ack timeout';
        } else if (ack.ok) stats.acked++;
        else {
          stats.refused++;
          stats.firstError ??= `refused: ${ack.error?.code}`;
        }
      },
    );
}

function startSending(perSecond: number): void {
  // Every 50 ms, the messages due by now: a steady rate without bursts of a whole second.
  const started = Date.now();
  let due = 0;
  ticker = setInterval(() => {
    const target = Math.floor(((Date.now() - started) / 1000) * perSecond);
    while (due < target) {
      sendOne();
      due++;
    }
  }, 50);
}

process.on('message', (message: ToSoakWorker) => {
  if (message.type === 'connect') void connectAll(message.url, message.jobs, message.concurrency);
  else if (message.type === 'send') startSending(message.perSecond);
  else if (message.type === 'stats') send({ type: 'stats', stats: { ...stats, connected: clients.filter((c) => c.socket.connected).length } });
  else if (message.type === 'close') {
    if (ticker) clearInterval(ticker);
    for (const client of clients) client.socket.close();
    send({ type: 'closed' });
    setTimeout(() => process.exit(0), 50);
  }
});

process.on('disconnect', () => process.exit(0));
