// Idle connections (scenario 3): the memory a Parley process holds per authenticated, idle
// Socket.IO connection. Users are registered on one process; a fresh process on the same data
// dir is measured with no sockets, then with every socket connected (10 devices per user).
import type { ChildProcess } from 'node:child_process';
import { performance } from 'node:perf_hooks';
import type { FromIdleWorker, ToIdleWorker } from './idle-client.js';
import {
  benchFile,
  cpuSeconds,
  fileDescriptors,
  fixed,
  forkWorker,
  loadAverage,
  memoryMiB,
  printTable,
  type ServerProcess,
  say,
  sleep,
  startParleyProcess,
  stopChild,
  thousands,
  type UserPool,
} from './lib.js';

export interface IdleOptions {
  users: number;
  socketsPerUser: number;
  procs: number;
  deadline: number;
}

function reply<T extends FromIdleWorker['type']>(child: ChildProcess, type: T, timeoutMs: number): Promise<Extract<FromIdleWorker, { type: T }>> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.off('message', onMessage);
      reject(new Error(`idle client did not answer '${type}' within ${timeoutMs} ms`));
    }, timeoutMs);
    const onMessage = (message: FromIdleWorker) => {
      if (message.type !== type) return;
      clearTimeout(timer);
      child.off('message', onMessage);
      resolve(message as Extract<FromIdleWorker, { type: T }>);
    };
    child.on('message', onMessage);
  });
}

/** Median of a few VmRSS readings, so one sample taken mid-GC does not decide the figure. */
async function steadyRss(pid: number, samples = 5, everyMs = 400): Promise<number> {
  const readings: number[] = [];
  for (let i = 0; i < samples; i++) {
    readings.push(memoryMiB(pid).rss);
    await sleep(everyMs);
  }
  return readings.sort((a, b) => a - b)[Math.floor(readings.length / 2)] as number;
}

/**
 * Runs on the pool's data dir (users registered by another process: argon2 would inflate this
 * one's heap), in a fresh process: its RSS with no socket is the baseline.
 */
export async function benchIdle(options: IdleOptions, pool: UserPool): Promise<boolean> {
  let server: ServerProcess | undefined;
  const workers: ChildProcess[] = [];
  const users = pool.users.slice(0, options.users);
  if (users.length < options.users) say(`  idle: only ${users.length} of ${options.users} users could be registered in the time budget\n`);
  try {
    server = await startParleyProcess(pool.dataDir, {}, 'idle');
    await sleep(1500);
    const rss0 = await steadyRss(server.pid);
    const hwm0 = memoryMiB(server.pid).hwm;
    const fds = fileDescriptors(server.pid);
    const wanted = users.length * options.socketsPerUser;
    // Each connection is a file descriptor of the server: stay under its limit (plus headroom).
    const cap = fds.limit - fds.open - 64;
    const total = Math.min(wanted, cap);
    if (total < wanted) {
      say(
        `  idle: the server may open ${thousands(fds.limit)} files (ulimit -n, hard limit) and holds ${fds.open}: connecting ${thousands(total)} of ${thousands(wanted)} sockets\n`,
      );
    }
    const jobs = users.flatMap((user) => Array.from({ length: options.socketsPerUser }, () => user.token)).slice(0, total);

    const connectStart = performance.now();
    const cpuBefore = cpuSeconds(server.pid);
    for (let w = 0; w < options.procs; w++) workers.push(forkWorker(benchFile('idle-client.js'), ['--max-old-space-size=4096']));
    const answers = workers.map((worker) => reply(worker, 'connected', Math.max(10_000, options.deadline - Date.now())));
    workers.forEach((worker, w) => {
      const share = jobs.filter((_, i) => i % options.procs === w);
      worker.send({ type: 'connect', url: (server as ServerProcess).url, tokens: share, concurrency: 64, deadline: options.deadline - 20_000 } satisfies ToIdleWorker);
    });
    const connected = await Promise.all(answers);
    const connectSeconds = (performance.now() - connectStart) / 1000;
    const connectCpu = cpuSeconds(server.pid) - cpuBefore;
    const opened = connected.reduce((sum, answer) => sum + answer.connected, 0);
    const failed = connected.reduce((sum, answer) => sum + answer.failed, 0);
    const skipped = connected.reduce((sum, answer) => sum + answer.skipped, 0);
    const clientCpu = connected.reduce((sum, answer) => sum + answer.cpuMs, 0) / 1000;
    say(
      `  idle: ${thousands(opened)} sockets connected in ${fixed(connectSeconds)} s by ${options.procs} client processes (${fixed(clientCpu)} client CPU s, ${fixed(connectCpu)} server CPU s); ` +
        `${failed} failed${failed ? ` (${connected.find((a) => a.firstError)?.firstError})` : ''}, ${skipped} not attempted (time budget); load ${loadAverage()}\n`,
    );

    await sleep(3000);
    const idleCpuBefore = cpuSeconds(server.pid);
    const idleStart = performance.now();
    const rssN = await steadyRss(server.pid, 7, 500);
    const idleCpuShare = (cpuSeconds(server.pid) - idleCpuBefore) / ((performance.now() - idleStart) / 1000);
    const { hwm } = memoryMiB(server.pid);
    const counts = await Promise.all(
      workers.map((worker) => {
        const answer = reply(worker, 'count', 10_000);
        worker.send({ type: 'count' } satisfies ToIdleWorker);
        return answer;
      }),
    );
    const stillConnected = counts.reduce((sum, answer) => sum + answer.connected, 0);
    const perConnKiB = opened > 0 ? ((rssN - rss0) * 1024) / opened : NaN;
    const at20k = rss0 + (perConnKiB * 20_000) / 1024;

    printTable(
      ['idle connections', 'sockets', 'server RSS MiB', 'peak RSS MiB', 'per socket KiB', 'server CPU'],
      [
        ['none (fresh process)', '0', fixed(rss0, 0), fixed(hwm0, 0), '-', '-'],
        [
          `${users.length} users x ${options.socketsPerUser}`,
          thousands(stillConnected),
          fixed(rssN, 0),
          fixed(hwm, 0),
          fixed(perConnKiB, 1),
          `${fixed(idleCpuShare * 100, 1)} % idle`,
        ],
        ['extrapolated', '20,000', fixed(at20k, 0), '-', fixed(perConnKiB, 1), '-'],
      ],
    );
    say(
      `  server CPU per handshake ${fixed((connectCpu / Math.max(1, opened)) * 1000, 2)} ms; RSS is VmRSS (median of 7 readings over 3.5 s, no forced GC); ` +
        `target 20,000 idle authenticated connections under 1 GiB: ${at20k < 1024 ? 'met' : 'NOT met'} (extrapolated ${fixed(at20k, 0)} MiB)\n`,
    );
    if (stillConnected < opened) say(`  warning: ${opened - stillConnected} sockets dropped while idle\n`);
    // Refused or timed-out handshakes are reported above; only a run with no socket at all fails.
    return opened > 0;
  } finally {
    await Promise.all(
      workers.map(async (worker) => {
        const closed = reply(worker, 'closed', 10_000).catch(() => {});
        if (worker.connected) worker.send({ type: 'close' } satisfies ToIdleWorker);
        await closed;
        await stopChild(worker, 3000);
      }),
    );
    if (server) await server.stop();
  }
}
