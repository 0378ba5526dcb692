// Shared plumbing for the socket benches: child processes (a Parley server, the bare relay, load
// generators) that are always killed on exit, /proc readings of a server process, registration
// with bounded concurrency, percentiles and plain-text tables.
import { type ChildProcess, execFileSync, fork, spawn } from 'node:child_process';
import { appendFileSync, cpSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { type App, buildApp } from '../src/app.js';
import { type Env, loadConfig } from '../src/config.js';

const here = path.dirname(fileURLToPath(import.meta.url));
/** dist/src/main.js next to this compiled file (dist/bench/lib.js), run with Node's defaults as `npm start` does. */
export const PARLEY_MAIN = path.resolve(here, '..', 'src', 'main.js');
export const benchFile = (name: string) => path.join(here, name);

// ---------------------------------------------------------------- processes and temp dirs

const children = new Set<ChildProcess>();
const tempDirs = new Set<string>();

/** Kills what this bench started (by pid) and removes its temp dirs; runs on any exit, watchdog included. */
export function cleanUpEverything(): void {
  for (const child of children) {
    if (child.exitCode === null && child.signalCode === null) {
      try {
        child.kill('SIGKILL');
      } catch {
        // already gone
      }
    }
  }
  children.clear();
  for (const dir of tempDirs) rmSync(dir, { recursive: true, force: true });
  tempDirs.clear();
}
process.on('exit', cleanUpEverything);

export function makeTempDir(prefix: string): string {
  const dir = mkdtempSync(path.join(tmpdir(), prefix));
  tempDirs.add(dir);
  return dir;
}

export function removeTempDir(dir: string): void {
  rmSync(dir, { recursive: true, force: true });
  tempDirs.delete(dir);
}

function track<T extends ChildProcess>(child: T): T {
  children.add(child);
  child.once('exit', () => children.delete(child));
  return child;
}

/** Resolves with the exit code once the child has exited; SIGKILLs it after `graceMs`. */
export function stopChild(child: ChildProcess, graceMs = 10_000): Promise<number | null> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve(child.exitCode);
  return new Promise((resolve) => {
    const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
    child.once('exit', (code) => {
      clearTimeout(timer);
      resolve(code);
    });
    child.kill('SIGTERM');
  });
}

export interface ServerProcess {
  url: string;
  pid: number;
  child: ChildProcess;
  /** Every stdout line after start-up is passed to these (JSON log lines for Parley). */
  lineListeners: Set<(line: string) => void>;
  stop(): Promise<number | null>;
}

/**
 * Fastify's own time for each request whose `x-request-id` starts with `prefix`, read from the
 * server's "request completed" log lines (the server side of a request, without the client's
 * round trip). `settle` waits up to 2 s for the lines of `ids` (stdout lags the responses), then
 * returns their times, ascending, and stops listening; `stop` stops listening without them.
 */
export function serverResponseTimes(server: ServerProcess, prefix: string): { settle(ids: readonly string[]): Promise<number[]>; stop(): void } {
  const times = new Map<string, number>();
  const listener = (line: string) => {
    if (!line.includes('request completed')) return;
    const entry = JSON.parse(line) as { reqId?: string; responseTime?: number };
    if (entry.reqId?.startsWith(prefix) && typeof entry.responseTime === 'number') times.set(entry.reqId, entry.responseTime);
  };
  server.lineListeners.add(listener);
  const stop = () => server.lineListeners.delete(listener);
  return {
    stop,
    async settle(ids) {
      for (let wait = 0; wait < 40 && ids.some((id) => !times.has(id)); wait++) await sleep(50);
      stop();
      return ids
        .map((id) => times.get(id))
        .filter((ms): ms is number => ms !== undefined)
        .sort((a, b) => a - b);
    },
  };
}

/** BENCH_SERVER_LOG: a file that gets every stdout line of every server the bench starts, for `--trace-gc` output say. */
const serverLog = process.env.BENCH_SERVER_LOG;

/**
 * Spawns a server script and waits for the stdout line containing `readyText`; the URL is read
 * from its JSON `url` field. stdout is always drained: a Node process writing to a full pipe blocks.
 */
export function spawnServer(options: {
  script: string;
  env: Record<string, string>;
  cwd: string;
  readyText: string;
  nodeArgs?: string[];
  timeoutMs?: number;
}): Promise<ServerProcess> {
  const child = track(
    spawn(process.execPath, [...(options.nodeArgs ?? []), options.script], {
      cwd: options.cwd,
      // A minimal environment: the caller's DATABASE_URL, REDIS_URL or .env must not leak in.
      env: { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: options.cwd, ...options.env },
      stdio: ['ignore', 'pipe', 'pipe'],
    }),
  );
  const lineListeners = new Set<(line: string) => void>();
  let stderrTail = '';
  child.stderr?.on('data', (chunk: Buffer) => {
    stderrTail = (stderrTail + chunk.toString()).slice(-4000);
  });
  return new Promise((resolve, reject) => {
    let ready = false;
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`${path.basename(options.script)} did not start within ${options.timeoutMs ?? 30_000} ms: ${stderrTail}`));
    }, options.timeoutMs ?? 30_000);
    child.once('exit', (code, signal) => {
      if (ready) return;
      clearTimeout(timer);
      reject(new Error(`${path.basename(options.script)} exited during start-up (${code ?? signal}): ${stderrTail}`));
    });
    const lines = createInterface({ input: child.stdout as NodeJS.ReadableStream });
    lines.on('line', (line) => {
      if (serverLog) appendFileSync(serverLog, `${child.pid} ${line}\n`);
      if (!ready && line.includes(options.readyText)) {
        const url = (JSON.parse(line) as { url?: string }).url;
        if (!url) return;
        ready = true;
        clearTimeout(timer);
        resolve({ url, pid: child.pid as number, child, lineListeners, stop: () => stopChild(child) });
        return;
      }
      for (const listener of lineListeners) listener(line);
    });
  });
}

/** With BENCH_PROFILE=1 every measured Parley process writes a V8 CPU profile here on exit. */
export const PROFILE_DIR = path.join(tmpdir(), 'parley-bench-profiles');
const profiling = process.env.BENCH_PROFILE === '1' || process.env.BENCH_PROFILE === 'true';

/**
 * Socket.IO limits out of the way: a bench opens thousands of sockets from one address and sends
 * far above a person's rate on each (docs/protocol.md, Limits).
 */
const SOCKET_LIMITS_OFF = {
  SOCKET_HANDSHAKES_PER_MINUTE_IP: '1000000000',
  SOCKET_HANDSHAKES_PER_MINUTE_USER: '1000000000',
  SOCKETS_PER_USER: '1000000',
  SOCKET_EVENTS_PER_SECOND: '1000000000',
  SOCKET_EVENTS_BURST: '1000000000',
  SOCKET_EVENT_LIMITS: 'typing=1000000000/1000000000,read=1000000000/1000000000,sync=1000000000/1000000000',
} as const;

/**
 * Starts `node dist/src/main.js` on `dataDir` (SQLite), bound to 127.0.0.1 on a free port.
 * `profile` names the process in the log line when BENCH_PROFILE asks for CPU profiles.
 */
export async function startParleyProcess(dataDir: string, env: Record<string, string> = {}, profile?: string): Promise<ServerProcess> {
  const server = await spawnServer({
    script: PARLEY_MAIN,
    cwd: dataDir,
    nodeArgs: measuredServerArgs(profile),
    readyText: 'Parley is listening',
    env: {
      NODE_ENV: 'production',
      DATA_DIR: dataDir,
      PORT: '0',
      HOST: '127.0.0.1',
      LOG_TO_STDOUT: 'true',
      LOG_LEVEL: 'info',
      RATE_LIMIT_MAX: '1000000000',
      SEND_RATE_LIMIT_MAX: '1000000000',
      ...SOCKET_LIMITS_OFF,
      ...env,
    },
  });
  sayProfile(profile, server);
  return server;
}

/** Node flags for a measured server: BENCH_NODE_FLAGS, and a CPU profile when BENCH_PROFILE asks for it. */
export function measuredServerArgs(profile?: string): string[] {
  const extra = (process.env.BENCH_NODE_FLAGS ?? '').split(' ').filter(Boolean);
  if (!profiling || !profile) return extra;
  mkdirSync(PROFILE_DIR, { recursive: true });
  return ['--cpu-prof', `--cpu-prof-dir=${PROFILE_DIR}`, ...extra];
}

export function sayProfile(profile: string | undefined, server: ServerProcess): void {
  if (profiling && profile) say(`  (${profile} server pid ${server.pid}: CPU profile goes to ${PROFILE_DIR}/CPU.*.${server.pid}.*.cpuprofile)\n`);
}

/** Forks a bench worker script with the structured-clone IPC channel (typed arrays pass as is). */
export function forkWorker(script: string, execArgv: string[] = []): ChildProcess {
  return track(fork(script, [], { serialization: 'advanced', stdio: ['ignore', 'inherit', 'inherit', 'ipc'], execArgv }));
}

// ---------------------------------------------------------------- /proc readings

let clockTicks: number | undefined;
export function clkTck(): number {
  if (clockTicks === undefined) {
    try {
      clockTicks = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
    } catch {
      clockTicks = 100;
    }
  }
  return clockTicks;
}

/** User + system CPU seconds the process has used so far (/proc/<pid>/stat utime + stime). */
export function cpuSeconds(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  // Fields after "pid (comm) ": state is field 3, utime 14, stime 15.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) / clkTck();
}

/** VmRSS and VmHWM (peak) of a process, in MiB. */
export function memoryMiB(pid: number): { rss: number; hwm: number } {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = (name: string) => Number(new RegExp(`^${name}:\\s+(\\d+)`, 'm').exec(status)?.[1] ?? NaN);
  return { rss: kb('VmRSS') / 1024, hwm: kb('VmHWM') / 1024 };
}

/** Soft limit on open files of a process, and how many it holds now. */
export function fileDescriptors(pid: number): { limit: number; open: number } {
  const limits = readFileSync(`/proc/${pid}/limits`, 'utf8');
  const limit = Number(/^Max open files\s+(\d+)/m.exec(limits)?.[1] ?? NaN);
  return { limit, open: readdirSync(`/proc/${pid}/fd`).length };
}

/** Samples VmRSS every `everyMs` until stopped; returns the peak seen (MiB). */
export function sampleRss(pid: number, everyMs = 100): { stop(): number } {
  let peak = 0;
  const read = () => {
    try {
      peak = Math.max(peak, memoryMiB(pid).rss);
    } catch {
      // the process may be gone
    }
  };
  read();
  const timer = setInterval(read, everyMs);
  return {
    stop() {
      clearInterval(timer);
      read();
      return peak;
    },
  };
}

export const loadAverage = () =>
  loadavg()
    .map((n) => n.toFixed(2))
    .join(' ');

// ---------------------------------------------------------------- HTTP helpers

/**
 * Runs `fn` over `items` with at most `limit` in flight; results keep the input order. With a
 * deadline (epoch ms) no item starts after it, and the results stop at the first item not run.
 */
export async function mapLimit<T, R>(items: readonly T[], limit: number, fn: (item: T, index: number) => Promise<R>, deadline = Infinity): Promise<R[]> {
  const results = new Array<R>(items.length);
  let next = 0;
  const run = async () => {
    while (next < items.length && Date.now() < deadline) {
      const index = next++;
      results[index] = await fn(items[index] as T, index);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, run));
  return next < items.length ? results.slice(0, next) : results;
}

export async function api<T>(baseUrl: string, method: string, route: string, body?: unknown, token?: string, headers: Record<string, string> = {}): Promise<T> {
  const response = await fetch(`${baseUrl}/api/v1${route}`, {
    method,
    headers: { ...(body === undefined ? {} : { 'content-type': 'application/json' }), ...(token ? { authorization: `Bearer ${token}` } : {}), ...headers },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await response.text();
  if (!response.ok) throw new Error(`${method} ${route}: ${response.status} ${text.slice(0, 300)}`);
  return (text ? JSON.parse(text) : null) as T;
}

export interface BenchUser {
  id: string;
  username: string;
  token: string;
}

/**
 * Registers up to `count` users named `<prefix><n>`, `concurrency` at a time (argon2 makes each one
 * slow); none starts after `deadline`, so fewer may come back.
 */
export async function registerUsers(baseUrl: string, prefix: string, count: number, concurrency = 20, deadline = Infinity): Promise<BenchUser[]> {
  const names = Array.from({ length: count }, (_, i) => `${prefix}${String(i).padStart(5, '0')}`);
  return mapLimit(
    names,
    concurrency,
    async (username) => {
      const result = await api<{ accessToken: string; user: { id: string } }>(baseUrl, 'POST', '/auth/register', { username, password: 'bench password 1234' });
      return { id: result.user.id, username, token: result.accessToken };
    },
    deadline,
  );
}

/** A stopped Parley data dir holding registered users (with access tokens), shared by scenarios. */
export interface UserPool {
  dataDir: string;
  users: BenchUser[];
  seconds: number;
}

/** Registers the users once (argon2 is the slowest part of the set-up) on a process that is then stopped. */
export async function prepareUserPool(count: number, deadline: number, serverEnv: Record<string, string> = {}): Promise<UserPool> {
  const dataDir = makeTempDir('parley-bench-users-');
  const server = await startParleyProcess(dataDir, serverEnv);
  try {
    const started = Date.now();
    const users = await registerUsers(server.url, 'u', count, 20, deadline);
    return { dataDir, users, seconds: (Date.now() - started) / 1000 };
  } finally {
    await server.stop();
  }
}

/** A copy of a stopped data dir, for a scenario that changes it. */
export function copyDataDir(source: string, prefix: string): string {
  const copy = makeTempDir(prefix);
  cpSync(source, copy, { recursive: true, filter: (file) => !file.includes(`${path.sep}logs`) });
  return copy;
}

// ---------------------------------------------------------------- figures and tables

/** Percentile by nearest rank of an ascending-sorted array. */
export function percentile(sorted: ArrayLike<number>, p: number): number {
  if (sorted.length === 0) return NaN;
  const rank = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[rank] as number;
}

export function printTable(header: string[], rows: string[][], out: (text: string) => void = (t) => process.stdout.write(t)): void {
  const widths = header.map((title, i) => Math.max(title.length, ...rows.map((row) => (row[i] ?? '').length)));
  const format = (cells: string[]) => cells.map((cell, i) => (i === 0 ? cell.padEnd(widths[i] ?? 0) : cell.padStart(widths[i] ?? 0))).join('  ');
  out(`${format(header)}\n${widths.map((width) => '-'.repeat(width)).join('  ')}\n`);
  for (const row of rows) out(`${format(row)}\n`);
}

export const fixed = (n: number, digits = 1) => (Number.isFinite(n) ? n.toFixed(digits) : '-');
export const thousands = (n: number) => (Number.isFinite(n) ? Math.round(n).toLocaleString('en-US') : '-');
export const say = (text: string) => process.stdout.write(text);
export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

export function envInt(name: string, fallback: number): number {
  const raw = process.env[name];
  if (raw === undefined || raw.trim() === '') return fallback;
  const n = Number(raw);
  if (!Number.isInteger(n) || n <= 0) throw new Error(`${name} must be a positive integer (got ${raw})`);
  return n;
}

/**
 * A Parley in this process on a free loopback port, on the embedded defaults in `dataDir`, with
 * rate limits out of the way and quiet logs; `overrides` adds scenario-specific variables.
 */
export async function startInProcessParley(dataDir: string, overrides: Partial<Record<keyof Env, string>> = {}): Promise<App & { url: string }> {
  const config = loadConfig({
    env: {},
    cwd: dataDir,
    overrides: {
      NODE_ENV: 'production',
      PORT: '0',
      HOST: '127.0.0.1',
      DATA_DIR: dataDir,
      RATE_LIMIT_MAX: '1000000000',
      ...SOCKET_LIMITS_OFF,
      LOG_LEVEL: 'warn',
      LOG_TO_STDOUT: 'false',
      ...overrides,
    },
  });
  const app = await buildApp(config, { jobs: false });
  const { url } = await app.listen();
  return Object.assign(app, { url });
}
