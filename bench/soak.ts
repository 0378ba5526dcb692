// Soak (npm run bench with BENCH_ONLY=soak): many Socket.IO clients connected to one Parley
// process for a long time, chatting at a steady rate, while the server's RSS and heap are sampled.
// The question is not speed but whether anything accumulates: memory must level off, not climb,
// and no send may fail. The server runs in this process (so its heap can be read); the clients
// live in forked load generators.
//
// Environment: SOAK_SECONDS (600), SOAK_CLIENTS (2000), SOAK_RATE (total messages per second, 200),
// SOAK_SAMPLE_SEC (10), SOAK_GEN_PROCS (2).
import type { ChildProcess } from 'node:child_process';
import { loadavg } from 'node:os';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { api, benchFile, envInt, fixed, forkWorker, makeTempDir, printTable, registerUsers, removeTempDir, say, sleep, startInProcessParley, thousands } from './lib.js';
import type { FromSoakWorker, SoakJob, SoakStats, ToSoakWorker } from './soak-client.js';

export interface SoakOptions {
  seconds: number;
  clients: number;
  ratePerSec: number;
  sampleSec: number;
  procs: number;
}

export function soakOptions(): SoakOptions {
  return {
    seconds: envInt('SOAK_SECONDS', 600),
    clients: envInt('SOAK_CLIENTS', 2000),
    ratePerSec: envInt('SOAK_RATE', 200),
    sampleSec: envInt('SOAK_SAMPLE_SEC', 10),
    procs: envInt('SOAK_GEN_PROCS', 2),
  };
}

interface Sample {
  atSec: number;
  rssMiB: number;
  /** Heap used right after a full GC: what is retained. */
  heapMiB: number;
  externalMiB: number;
  /** Longest event-loop stall of the server process since the previous sample. */
  loopMaxMs: number;
  /** 1-minute load average of the machine: a stall with a high load is the machine, not Parley. */
  load: number;
  sockets: number;
  acked: number;
  errors: number;
}

function reply<T extends FromSoakWorker['type']>(child: ChildProcess, type: T, timeoutMs: number): Promise<Extract<FromSoakWorker, { type: T }>> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.off('message', onMessage);
      reject(new Error(`soak client did not answer '${type}' within ${timeoutMs} ms`));
    }, timeoutMs);
    const onMessage = (message: FromSoakWorker) => {
      if (message.type !== type) return;
      clearTimeout(timer);
      child.off('message', onMessage);
      resolve(message as Extract<FromSoakWorker, { type: T }>);
    };
    child.on('message', onMessage);
  });
}

function sum(all: SoakStats[]): SoakStats {
  const total: SoakStats = { connected: 0, connectFailed: 0, sent: 0, acked: 0, refused: 0, timeouts: 0, received: 0, disconnects: 0 };
  for (const stats of all) {
    for (const key of Object.keys(total) as Array<keyof SoakStats>) if (key !== 'firstError') (total[key] as number) += stats[key] as number;
    total.firstError ??= stats.firstError;
  }
  return total;
}

const errorsOf = (stats: SoakStats) => stats.connectFailed + stats.refused + stats.timeouts + stats.disconnects;

/**
 * A full garbage collection before each heap reading, so the heap figure is what is retained (a
 * leak) rather than where the sawtooth of young garbage happens to be. The flag can be set at run
 * time; a new context then exposes `gc`.
 */
function fullGc(): () => void {
  setFlagsFromString('--expose-gc');
  const gc = runInNewContext('gc') as (() => void) | undefined;
  return gc ?? (() => {});
}

/** Least-squares slope of y over x. */
function slope(points: Array<[number, number]>): number {
  const n = points.length;
  if (n < 2) return 0;
  const mx = points.reduce((a, [x]) => a + x, 0) / n;
  const my = points.reduce((a, [, y]) => a + y, 0) / n;
  const num = points.reduce((a, [x, y]) => a + (x - mx) * (y - my), 0);
  const den = points.reduce((a, [x]) => a + (x - mx) ** 2, 0);
  return den === 0 ? 0 : num / den;
}

/** Runs the soak; true when memory levelled off and nothing failed. */
export async function benchSoak(options: SoakOptions): Promise<boolean> {
  const dataDir = makeTempDir('parley-bench-soak-');
  const app = await startInProcessParley(dataDir, {
    SEND_RATE_LIMIT_MAX: '1000000000',
    // Tokens must outlive registration plus the whole soak.
    ACCESS_TOKEN_TTL: '86400',
  });
  const { url } = app;
  const generators: ChildProcess[] = [];
  try {
    const registering = Date.now();
    const users = await registerUsers(url, 'soak', options.clients, 20);
    say(`  ${users.length} users registered in ${fixed((Date.now() - registering) / 1000)} s\n`);
    // Pairs of users share a private conversation: every message is stored and delivered once.
    const jobs: SoakJob[] = [];
    for (let i = 0; i + 1 < users.length; i += 2) {
      const a = users[i];
      const b = users[i + 1];
      if (!a || !b) continue;
      const { id } = await api<{ id: string }>(url, 'POST', '/conversations', { peerId: b.id }, a.token);
      jobs.push({ token: a.token, conversationId: id }, { token: b.token, conversationId: id });
    }
    for (let p = 0; p < options.procs; p++) generators.push(forkWorker(benchFile('soak-client.js')));
    const share = (p: number) => jobs.filter((_, i) => i % options.procs === p);
    const connecting = Date.now();
    const connected = await Promise.all(
      generators.map((child, p) => {
        const answer = reply(child, 'connected', 300_000);
        child.send({ type: 'connect', url, jobs: share(p), concurrency: 50 } satisfies ToSoakWorker);
        return answer;
      }),
    );
    const afterConnect = sum(connected.map((m) => m.stats));
    say(`  ${afterConnect.connected} clients connected in ${fixed((Date.now() - connecting) / 1000)} s (${afterConnect.connectFailed} failed)\n`);

    const samples: Sample[] = [];
    const collect = fullGc();
    const loop = monitorEventLoopDelay({ resolution: 20 });
    loop.enable();
    const started = Date.now();
    const sample = async () => {
      const stats = sum(
        (
          await Promise.all(
            generators.map((child) => {
              const answer = reply(child, 'stats', 30_000);
              child.send({ type: 'stats' } satisfies ToSoakWorker);
              return answer;
            }),
          )
        ).map((m) => m.stats),
      );
      collect();
      const memory = process.memoryUsage();
      // (read below, then reset: each sample shows the worst stall of its own interval)
      samples.push({
        atSec: (Date.now() - started) / 1000,
        rssMiB: memory.rss / 2 ** 20,
        heapMiB: memory.heapUsed / 2 ** 20,
        externalMiB: (memory.external + memory.arrayBuffers) / 2 ** 20,
        loopMaxMs: loop.max / 1e6,
        load: loadavg()[0] ?? 0,
        sockets: app.gateway.io.engine.clientsCount,
        acked: stats.acked,
        errors: errorsOf(stats),
      });
      loop.reset();
      return stats;
    };
    await sample();
    for (const child of generators) child.send({ type: 'send', perSecond: options.ratePerSec / options.procs } satisfies ToSoakWorker);
    // Samples on a fixed grid (every sampleSec from the start), however long a sample takes.
    for (let at = options.sampleSec; at <= options.seconds; at += options.sampleSec) {
      await sleep(Math.max(0, started + at * 1000 - Date.now()));
      await sample();
    }
    await sleep(2000); // the last acks and deliveries
    const final = await sample();

    printTable(
      ['t s', 'RSS MiB', 'heap after GC MiB', 'ext+buf MiB', 'max loop stall ms', 'load avg', 'sockets', 'acked', 'errors'],
      samples.map((s) => [
        fixed(s.atSec, 0),
        fixed(s.rssMiB),
        fixed(s.heapMiB),
        fixed(s.externalMiB),
        fixed(s.loopMaxMs, 0),
        fixed(s.load, 1),
        String(s.sockets),
        thousands(s.acked),
        String(s.errors),
      ]),
      (text) => say(text.replace(/^(?=.)/gm, '  ')),
    );
    // Levelled off: over the second half, the heap retained after a full GC grows less than 1 MiB
    // per minute (a leak of even 100 bytes per message at 200 msg/s would be 1.2 MiB per minute).
    // RSS is shown too but not judged: the allocator and SQLite's page cache keep growing for a while
    // after start and return memory lazily, so on short runs it rises without anything leaking.
    const half = samples.filter((s) => s.atSec >= options.seconds / 2);
    const heapSlope = slope(half.map((s) => [s.atSec / 60, s.heapMiB]));
    const rssSlope = slope(half.map((s) => [s.atSec / 60, s.rssMiB]));
    const levelled = half.length >= 3 && heapSlope < 1;
    const errors = errorsOf(final);
    const deliveredRatio = final.acked > 0 ? final.received / final.acked : 0;
    say(
      `  sent ${thousands(final.sent)}, acked ${thousands(final.acked)} (${fixed(final.acked / options.seconds)} msg/s), delivered ${thousands(final.received)} (${fixed(deliveredRatio * 100)} % of acked), ` +
        `errors ${errors} (refused ${final.refused}, ack timeouts ${final.timeouts}, disconnects ${final.disconnects}, connect failures ${final.connectFailed})${final.firstError ? `, first: ${final.firstError}` : ''}\n` +
        `  second-half trend: heap after GC ${fixed(heapSlope, 2)} MiB/min (judged: < 1), RSS ${fixed(rssSlope, 2)} MiB/min (shown) → memory ${levelled ? 'levelled off' : half.length < 3 ? 'not judged (too few samples; raise SOAK_SECONDS)' : 'is CLIMBING'}\n`,
    );
    loop.disable();
    return levelled && errors === 0;
  } finally {
    await Promise.all(
      generators.map(async (child) => {
        if (child.exitCode !== null) return;
        const closed = reply(child, 'closed', 10_000).catch(() => undefined);
        child.send({ type: 'close' } satisfies ToSoakWorker);
        await closed;
      }),
    );
    await app.close();
    removeTempDir(dataDir);
  }
}
