// `npm run bench`: HTTP throughput of Parley's hot REST paths next to a bare Fastify route, so a
// regression in the platform layers (auth hook, rate limit, logging, database) shows as a ratio
// that does not depend on how fast the machine is.
import { mkdtempSync, rmSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import path from 'node:path';
import autocannon from 'autocannon';
import Fastify from 'fastify';
import { type App, buildApp } from '../src/app.js';
import { loadConfig } from '../src/config.js';

const DURATION_SEC = 5;
const WARMUP_SEC = 1;
/** Stops a stuck run instead of hanging CI: the three scenarios take about 20 s. */
const WATCHDOG_MS = 120_000;

interface Scenario {
  name: string;
  options: autocannon.Options;
}

interface Row {
  name: string;
  connections: number;
  requestsPerSec: number;
  p50: number;
  p99: number;
  failures: number;
}

async function measure({ name, options }: Scenario): Promise<Row> {
  // The load generator runs in a worker thread so it does not share the event loop it measures.
  await autocannon({ ...options, duration: WARMUP_SEC, workers: 1 });
  const result = await autocannon({ ...options, duration: DURATION_SEC, workers: 1, title: name });
  return {
    name,
    connections: options.connections ?? 10,
    requestsPerSec: result.requests.average,
    p50: result.latency.p50,
    p99: result.latency.p99,
    failures: result.errors + result.timeouts + result.non2xx,
  };
}

async function startBare(): Promise<{ url: string; close: () => Promise<void> }> {
  const bare = Fastify({ logger: false });
  bare.get('/ping', async () => ({ ok: true }));
  const url = await bare.listen({ port: 0, host: '127.0.0.1' });
  return { url, close: () => bare.close() };
}

async function startParley(dataDir: string): Promise<App & { url: string }> {
  const config = loadConfig({
    env: {},
    cwd: dataDir,
    overrides: {
      NODE_ENV: 'production',
      PORT: '0',
      HOST: '127.0.0.1',
      DATA_DIR: dataDir,
      RATE_LIMIT_MAX: '1000000000',
      LOG_LEVEL: 'warn',
      LOG_TO_STDOUT: 'false',
    },
  });
  const app = await buildApp(config, { jobs: false });
  const { url } = await app.listen();
  return Object.assign(app, { url });
}

async function registerUser(baseUrl: string, username: string, password: string): Promise<string> {
  const response = await fetch(`${baseUrl}/api/v1/auth/register`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ username, password }),
  });
  const body = (await response.json()) as { accessToken?: string };
  if (response.status !== 201 || !body.accessToken) throw new Error(`register failed: ${response.status} ${JSON.stringify(body)}`);
  return body.accessToken;
}

function printTable(rows: Row[]): void {
  const baseline = rows[0]?.requestsPerSec ?? 1;
  const header = ['scenario', 'conns', 'req/s', 'p50 ms', 'p99 ms', 'vs bare', 'failed'];
  const lines = rows.map((row) => [
    row.name,
    String(row.connections),
    row.requestsPerSec.toFixed(0),
    row.p50.toFixed(1),
    row.p99.toFixed(1),
    `${((row.requestsPerSec / baseline) * 100).toFixed(1)} %`,
    String(row.failures),
  ]);
  const widths = header.map((title, i) => Math.max(title.length, ...lines.map((line) => (line[i] ?? '').length)));
  const format = (cells: string[]) => cells.map((cell, i) => (i === 0 ? cell.padEnd(widths[i] ?? 0) : cell.padStart(widths[i] ?? 0))).join('  ');
  process.stdout.write(`${format(header)}\n${widths.map((width) => '-'.repeat(width)).join('  ')}\n`);
  for (const line of lines) process.stdout.write(`${format(line)}\n`);
}

async function main(): Promise<number> {
  const dataDir = mkdtempSync(path.join(tmpdir(), 'parley-bench-'));
  const closers: Array<() => Promise<void>> = [];
  try {
    const bare = await startBare();
    closers.push(bare.close);
    const parley = await startParley(dataDir);
    closers.push(() => parley.close());

    const password = 'bench password 1234';
    const token = await registerUser(parley.url, 'bencher', password);
    const scenarios: Scenario[] = [
      { name: 'bare Fastify GET /ping', options: { url: `${bare.url}/ping`, connections: 20 } },
      {
        name: 'GET /api/v1/users/me',
        options: { url: `${parley.url}/api/v1/users/me`, connections: 20, headers: { authorization: `Bearer ${token}` } },
      },
      {
        name: 'POST /api/v1/auth/login',
        options: {
          url: `${parley.url}/api/v1/auth/login`,
          method: 'POST',
          connections: 10,
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ username: 'bencher', password }),
        },
      },
    ];

    process.stdout.write(
      `Parley HTTP bench: node ${process.version}, ${availableParallelism()} CPUs, SQLite + memory cache, ` +
        `${DURATION_SEC} s per scenario after ${WARMUP_SEC} s warm-up, load from a worker thread\n\n`,
    );
    const rows: Row[] = [];
    for (const scenario of scenarios) rows.push(await measure(scenario));
    printTable(rows);

    const failed = rows.filter((row) => row.failures > 0);
    if (failed.length > 0) {
      // Figures built on errors or 4xx answers measure the wrong thing.
      process.stderr.write(`\nbench: failed requests in ${failed.map((row) => row.name).join(', ')}: figures are not valid\n`);
      return 1;
    }
    return 0;
  } finally {
    for (const close of closers.reverse()) await close().catch(() => {});
    rmSync(dataDir, { recursive: true, force: true });
  }
}

setTimeout(() => {
  process.stderr.write('bench: watchdog expired, aborting\n');
  process.exit(2);
}, WATCHDOG_MS).unref();

main().then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    process.stderr.write(`bench: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
    process.exitCode = 1;
  },
);
