// Load generator for the fan-out bench, run as a forked child (IPC with structured clone). It
// holds a share of the simulated users, one websocket-only Socket.IO connection each; during a
// step its users take turns sending `chat` at a fixed total rate, and every `chat` received is
// counted as one delivery with its end-to-end latency (send timestamp carried in the content).
import { performance } from 'node:perf_hooks';
import { io, type Socket } from 'socket.io-client';

export interface ClientSpec {
  /** Handshake auth: `{ token }` for Parley, `{ room }` for the relay. */
  auth: Record<string, string>;
  conversationId: string;
}

export type ToWorker =
  | { type: 'connect'; url: string; clients: ClientSpec[]; concurrency: number }
  /** `groupSize`: each message reaches groupSize - 1 sockets, which sizes the latency buffer up front. */
  | { type: 'step'; step: number; rate: number; durationMs: number; contentBytes: number; groupSize: number }
  | { type: 'progress'; step: number }
  | { type: 'collect'; step: number }
  | { type: 'close' };

export type FromWorker =
  | { type: 'connected'; connected: number; failed: number; firstError?: string; ms: number }
  | { type: 'sent'; step: number; emitted: number; elapsedMs: number; cpuMs: number; windowDeliveries: number }
  | { type: 'progress'; step: number; delivered: number; acksPending: number }
  | {
      type: 'collected';
      step: number;
      emitted: number;
      acked: number;
      ackFailed: number;
      acksPending: number;
      firstAckError?: string;
      delivered: number;
      late: number;
      latencies: Float64Array;
      samplePacketBytes: number;
      cpuMs: number;
    }
  | { type: 'closed' };

/** Milliseconds since the epoch with sub-millisecond precision, comparable across processes. */
const now = () => performance.timeOrigin + performance.now();

const send = (message: FromWorker) => process.send?.(message);

const sockets: Socket[] = [];
const specs: ClientSpec[] = [];

/** Everything recorded for the step in progress. */
let current = {
  step: -1,
  windowEnd: Infinity,
  emitted: 0,
  acked: 0,
  ackFailed: 0,
  firstAckError: undefined as string | undefined,
  delivered: 0,
  windowDeliveries: 0,
  late: 0,
  latencies: new Float64Array(1 << 16),
  samplePacketBytes: 0,
  cpuStart: process.cpuUsage(),
};

function record(latency: number, arrived: number): void {
  if (current.delivered === current.latencies.length) {
    const bigger = new Float64Array(current.latencies.length * 2);
    bigger.set(current.latencies);
    current.latencies = bigger;
  }
  current.latencies[current.delivered++] = latency;
  if (arrived <= current.windowEnd) current.windowDeliveries++;
}

function onChat(message: { content?: unknown }): void {
  const arrived = now();
  const content = message.content;
  if (typeof content !== 'string') return;
  // content = "<step>|<sent at, epoch ms>|<padding>"
  const bar = content.indexOf('|');
  const step = Number(content.slice(0, bar));
  if (step !== current.step) {
    current.late++;
    return;
  }
  const sentAt = Number(content.slice(bar + 1, content.indexOf('|', bar + 1)));
  if (current.samplePacketBytes === 0) current.samplePacketBytes = Buffer.byteLength(JSON.stringify(['chat', message]));
  record(arrived - sentAt, arrived);
}

async function connectAll(url: string, clients: ClientSpec[], concurrency: number): Promise<void> {
  const started = performance.now();
  let failed = 0;
  let firstError: string | undefined;
  let next = 0;
  const connectOne = (spec: ClientSpec) =>
    new Promise<void>((resolve) => {
      const socket = io(url, { path: '/socket.io', transports: ['websocket'], forceNew: true, reconnection: false, timeout: 20_000, auth: spec.auth });
      socket.once('connect', () => {
        sockets.push(socket);
        specs.push(spec);
        socket.on('chat', onChat);
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
    while (next < clients.length) await connectOne(clients[next++] as ClientSpec);
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, clients.length) }, lane));
  send({ type: 'connected', connected: sockets.length, failed, firstError, ms: performance.now() - started });
}

let stepSerial = 0;

/** Sends at `rate` messages/s for `durationMs`, the users taking turns; catches up after a late timer. */
function runStep(step: number, rate: number, durationMs: number, contentBytes: number, groupSize: number): void {
  current = {
    step,
    windowEnd: Infinity,
    emitted: 0,
    acked: 0,
    ackFailed: 0,
    firstAckError: undefined,
    delivered: 0,
    windowDeliveries: 0,
    late: 0,
    latencies: new Float64Array(Math.max(1 << 16, Math.ceil(rate * (durationMs / 1000) * groupSize))),
    samplePacketBytes: 0,
    cpuStart: process.cpuUsage(),
  };
  const serial = ++stepSerial;
  const record = current;
  const start = performance.now();
  record.windowEnd = now() + durationMs;
  let turn = Math.floor(Math.random() * Math.max(1, sockets.length));
  const prefix = `${step}|`;
  const padding = 'x'.repeat(contentBytes);
  const tick = () => {
    const elapsed = Math.min(performance.now() - start, durationMs);
    const due = Math.floor((rate * elapsed) / 1000) - record.emitted;
    for (let i = 0; i < due && sockets.length > 0; i++) {
      const index = turn++ % sockets.length;
      const socket = sockets[index] as Socket;
      const spec = specs[index] as ClientSpec;
      const head = `${prefix}${now().toFixed(3)}|`;
      const content = head + padding.slice(head.length);
      const clientMsgId = `${process.pid}-${serial}-${record.emitted}`;
      record.emitted++;
      socket.emit('chat', { conversationId: spec.conversationId, type: 'text', content, clientMsgId }, (ack: { ok?: boolean; error?: { code?: string; message?: string } }) => {
        if (ack?.ok) record.acked++;
        else {
          record.ackFailed++;
          record.firstAckError ??= `${ack?.error?.code}: ${ack?.error?.message}`;
        }
      });
    }
    if (elapsed >= durationMs) {
      const cpu = process.cpuUsage(record.cpuStart);
      send({ type: 'sent', step, emitted: record.emitted, elapsedMs: performance.now() - start, cpuMs: (cpu.user + cpu.system) / 1000, windowDeliveries: record.windowDeliveries });
      return;
    }
    setTimeout(tick, 1);
  };
  tick();
}

process.on('message', (message: ToWorker) => {
  switch (message.type) {
    case 'connect':
      void connectAll(message.url, message.clients, message.concurrency);
      break;
    case 'step':
      runStep(message.step, message.rate, message.durationMs, message.contentBytes, message.groupSize);
      break;
    case 'progress':
      send({ type: 'progress', step: message.step, delivered: current.delivered, acksPending: current.emitted - current.acked - current.ackFailed });
      break;
    case 'collect': {
      const cpu = process.cpuUsage(current.cpuStart);
      const result: FromWorker = {
        type: 'collected',
        step: message.step,
        emitted: current.emitted,
        acked: current.acked,
        ackFailed: current.ackFailed,
        acksPending: current.emitted - current.acked - current.ackFailed,
        firstAckError: current.firstAckError,
        delivered: current.delivered,
        late: current.late,
        latencies: current.latencies.slice(0, current.delivered),
        samplePacketBytes: current.samplePacketBytes,
        cpuMs: (cpu.user + cpu.system) / 1000,
      };
      // Acks and deliveries of this step that come later are not counted (the step is over).
      current = { ...current, step: -1, latencies: new Float64Array(16), delivered: 0 };
      send(result);
      break;
    }
    case 'close':
      for (const socket of sockets) socket.close();
      send({ type: 'closed' });
      setTimeout(() => process.exit(0), 50);
      break;
  }
});

// The parent going away (crash, watchdog) must not leave this process connected.
process.on('disconnect', () => process.exit(0));
