// `npm run bench`: HTTP throughput of Parley's hot REST paths next to a bare Fastify route, so a
// regression in the platform layers (auth hook, rate limit, logging, database) shows as a ratio
// that does not depend on how fast the machine is; then the socket fan-out against a bare
// Socket.IO relay (bench/fanout.ts), idle connection memory (bench/idle.ts) and history paging in
// a conversation of a million messages (bench/history.ts), the conversation list with 10,000 to
// 1,000,000 unread messages (bench/unread.ts), and Parley's own cost per message without sockets
// (bench/send-path.ts), on SQLite and then on the production set-ups (BENCH_SEND_TURNS, 3000, and BENCH_SEND_PRODUCTION_TURNS, 500, turns of 40 messages).
//
// The metrics scenario (bench/metrics-cost.ts) prices metrics on the send path: the fan-out at one fixed rate with
// metrics off and on, alternating, as a ratio of server CPU per delivery.
// The production scenario (bench/production.ts) runs the same fan-out on MariaDB + Redis and PostgreSQL + Redis
// (BENCH_PRODUCTION: comma list of database server URLs, BENCH_REDIS_URL) and tables them against SQLite and the relay.
// The big-group scenario runs the fan-out in one group of 2,000 (MAX_GROUP_MEMBERS, every member online), on Parley
// (SQLite) and then on the relay with one room of the same size, and compares their best passing deliveries/s.
// Environment: BENCH_ONLY=http,fanout,production,metrics,idle,big-group,history,unread,search,search-growth,growth,search-write,send,files picks scenarios (fanout includes the relay);
// BENCH_METRICS_CLIENTS (200), BENCH_METRICS_RATE (400 msg/s), BENCH_METRICS_ROUNDS (2 per side) shape the metrics scenario;
// BENCH_UNREAD_SIZES (10000,100000,1000000: unread totals the list is timed at; 1000,10000,100000 runs in seconds);
// BENCH_DATABASE_URL=mysql://root@127.0.0.1:3306 runs the unread scenario on MariaDB too (in a database it creates and drops);
// BENCH_SEARCH_MESSAGES (1000000; `--quick` makes it 100000) sizes the search-stall scenario (bench/search-stall.ts);
// BENCH_SEARCH_GROWTH_SIZES (10000,100000,1000000) sizes the search growth scenario (bench/search-growth.ts: indexed search against the old scan);
// BENCH_GROWTH_SIZES (10000,100000,1000000) and BENCH_GROWTH_DATABASES (sqlite and BENCH_PRODUCTION's servers) shape the growth
// scenario (bench/growth.ts: search, conversation list, history page and sync as history grows, on every dialect);
// BENCH_SEARCH_WRITE_HISTORY (100000) sizes the history under the search-write scenario (bench/search-write.ts: what indexing costs a send on SQLite);
// BENCH_ONLY=redis (not by default: it needs Redis 7 at BENCH_REDIS_URL) counts Redis messages per process per chat
// message with 1, 2 and 4 processes, classic vs sharded adapter (bench/redis-adapter.ts);
// BENCH_ONLY=soak (never by default: it runs SOAK_SECONDS, 600) is the long soak of bench/soak.ts;
// BENCH_FILES_MIB (1024), BENCH_FILES_CHUNK_MIB (64) and BENCH_FILES_ROUNDS (5) shape the file transfer (bench/files.ts);
// BENCH_CLIENTS (1000), BENCH_GEN_PROCS (2), BENCH_STEP_SEC (5), BENCH_IDLE_USERS (2000),
// BENCH_HISTORY_MESSAGES (1000000), BENCH_RATES (comma list of total send rates to step through),
// BENCH_PRODUCTION_RATES (100,200,300,400,600,...: the production set-ups' steps);
// BENCH_BIG_GROUP_RATES (2,5,10,15,20,30,40,60,80,100: the big group's steps, each message 1,999 deliveries),
// BENCH_BIG_GROUP_P99_MS (1000: its latency limit per step);
// BENCH_FANOUT_PAIRS (2: Parley-then-relay runs; the ones after the first start near saturation);
// BENCH_REFINE (2: bisection steps between the last passing and the first failing fan-out rate);
// BENCH_PROFILE=1 writes CPU profiles of the measured Parley processes (see PROFILE_DIR in lib.ts).
// BENCH_NODE_FLAGS (space-separated) adds Node flags to the measured servers, Parley's and the
// relay, e.g. `--perf-basic-prof` for `perf record`.
// BENCH_SERVER_LOG=FILE appends every stdout line of every server the bench starts to FILE, each
// prefixed with its pid: with BENCH_NODE_FLAGS=--trace-gc-nvp it is where the GC lines go.
import { mkdtempSync, rmSync } from 'node:fs';
import { availableParallelism, tmpdir, totalmem } from 'node:os';
import path from 'node:path';
import autocannon from 'autocannon';
import Fastify from 'fastify';
import { MAX_GROUP_MEMBERS } from '../src/modules/groups/groups.service.js';
import { benchParleyFanout, benchRelayFanout, DEFAULT_GROUP_SIZE, type FanoutOptions, type FanoutResult, printFanout } from './fanout.js';
import { benchFiles } from './files.js';
import { benchGrowth } from './growth.js';
import { benchHistory } from './history.js';
import { benchIdle } from './idle.js';
import { cleanUpEverything, envInt, fixed, loadAverage, prepareUserPool, removeTempDir, say, startInProcessParley, thousands, type UserPool } from './lib.js';
import { benchMetricsCost } from './metrics-cost.js';
import { benchProductionFanout, printProductionRatios, productionSetups } from './production.js';
import { benchRedisAdapters, printRedisAdapters } from './redis-adapter.js';
import { benchSearchGrowth } from './search-growth.js';
import { benchSearchStall } from './search-stall.js';
import { benchSearchWrite } from './search-write.js';
import { benchSendPathSetups } from './send-path.js';
import { benchSoak, soakOptions } from './soak.js';
import { benchUnread } from './unread.js';

const DURATION_SEC = 5;
const WARMUP_SEC = 1;
/** Stops a stuck run instead of hanging CI; the scenarios' own budgets end well before it. */
const DEFAULT_SCENARIOS = 'http,fanout,production,metrics,idle,big-group,history,unread,search,search-growth,growth,search-write,send,files';
/** The unread scenario writes 1,000,000 rows (twice with BENCH_DATABASE_URL): time on top of the others'. */
const UNREAD_BUDGET_MS = (process.env.BENCH_DATABASE_URL ? 2 : 1) * 180_000;
/** The search-stall scenario writes 1,000,000 rows and runs three rounds of searches both ways. */
const SEARCH_BUDGET_MS = 240_000;
/** Each production set-up registers its users and steps its own fan-out (bench/production.ts). */
const PRODUCTION_STEP_BUDGET_MS = 150_000;
const PRODUCTION_REGISTER_BUDGET_MS = 120_000;
const PRODUCTION_BUDGET_MS = productionSetups().length * (PRODUCTION_STEP_BUDGET_MS + PRODUCTION_REGISTER_BUDGET_MS + 30_000);
/** The search growth scenario writes and indexes up to 1,000,000 messages (about 40 index rows each). */
const SEARCH_GROWTH_BUDGET_MS = 600_000;
/** The growth scenario writes and indexes up to 1,000,000 messages (about 19 million index rows) per database. */
const GROWTH_BUDGET_MS = growthDatabases().length * 420_000;
/** The send scenario's runs on the production set-ups come on top of its SQLite run. */
const SEND_PRODUCTION_BUDGET_MS = productionSetups().length * 180_000;
/**
 * The big-group scenario, after the other users of the pool: Parley's part includes making the
 * group (1,999 invitations accepted) and connecting its sockets (3.5 s since live presence stops at
 * groups of 200; it was 90 s when each connect's presence went to 1,999 co-members); steps take up
 * to 12 s each.
 */
const BIG_GROUP_PARLEY_BUDGET_MS = 360_000;
const BIG_GROUP_RELAY_BUDGET_MS = 180_000;
const BIG_GROUP_BUDGET_MS = BIG_GROUP_PARLEY_BUDGET_MS + BIG_GROUP_RELAY_BUDGET_MS + 60_000;
const WATCHDOG_MS =
  595_000 +
  (selected('send') ? SEND_PRODUCTION_BUDGET_MS : 0) +
  (soakSelected() ? (soakOptions().seconds + 600) * 1000 : 0) +
  (selected('unread') ? UNREAD_BUDGET_MS : 0) +
  (selected('search') ? SEARCH_BUDGET_MS : 0) +
  (selected('production') ? PRODUCTION_BUDGET_MS : 0) +
  (selected('search-growth') ? SEARCH_GROWTH_BUDGET_MS : 0) +
  (selected('growth') ? GROWTH_BUDGET_MS : 0) +
  (selected('big-group') ? BIG_GROUP_BUDGET_MS : 0);
const STARTED = Date.now();
/** Everything but the history scenario (not time-boxed, about 30 s) is planned to end by then. */
const PLANNED_END = STARTED + 520_000;
/**
 * Deadline of a step-wise part: its own budget, cut short so the parts after it keep the least
 * time they need (ms). Registration stops starting users, fan-out stops stepping, idle stops connecting.
 */
function deadline(budgetMs: number, reserveAfterMs: number): number {
  return Math.min(Date.now() + budgetMs, PLANNED_END - reserveAfterMs);
}
/** Time kept for what follows a part: the relay's first run, each later pair of runs, the idle scenario. */
const RESERVE = { relay: 90_000, pair: 150_000, idle: 70_000 };

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

async function httpBench(): Promise<number> {
  const dataDir = mkdtempSync(path.join(tmpdir(), 'parley-bench-'));
  const closers: Array<() => Promise<void>> = [];
  try {
    const bare = await startBare();
    closers.push(bare.close);
    const parley = await startInProcessParley(dataDir);
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
      `Parley HTTP bench: in-process server (buildApp), SQLite + memory cache, ` + `${DURATION_SEC} s per scenario after ${WARMUP_SEC} s warm-up, load from a worker thread\n\n`,
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

/** Runs one scenario; a crash is reported and fails the run, but the other scenarios still run. */
async function scenario(name: string, run: () => Promise<boolean | number>): Promise<number> {
  say(`\n== ${name} (load average ${loadAverage()}, ${fixed((Date.now() - STARTED) / 1000, 0)} s into the run)\n`);
  try {
    const outcome = await run();
    return outcome === true || outcome === 0 ? 0 : 1;
  } catch (error) {
    process.stderr.write(`bench: ${name} crashed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
    return 1;
  }
}

function fanoutOptions(deadlineAt: number): FanoutOptions {
  return {
    clients: Math.max(DEFAULT_GROUP_SIZE, Math.floor(envInt('BENCH_CLIENTS', 1000) / DEFAULT_GROUP_SIZE) * DEFAULT_GROUP_SIZE),
    groupSize: DEFAULT_GROUP_SIZE,
    procs: envInt('BENCH_GEN_PROCS', 2),
    // Steps of 400 msg/s up to 6,400: the ratio compares the last passing steps of both servers,
    // so coarser steps near where they saturate would move it by up to the step size.
    rates: rateSteps('BENCH_RATES', [...Array.from({ length: 16 }, (_, i) => (i + 1) * 400), 7200, 8000, 9600, 12800].join(',')),
    stepMs: envInt('BENCH_STEP_SEC', 5) * 1000,
    drainMs: 4000,
    contentBytes: 200,
    p99LimitMs: 250,
    refineRounds: envInt('BENCH_REFINE', 2),
    deadline: deadlineAt,
  };
}

/** The largest group Parley allows, every member online. */
const BIG_GROUP_SIZE = MAX_GROUP_MEMBERS;

/**
 * One group of `groupSize` (BIG_GROUP_SIZE unless registration fell short) and no one else: each
 * message is groupSize - 1 deliveries, so the steps are a hundredth of the fan-out's rates.
 */
function bigGroupOptions(groupSize: number, deadlineAt: number): FanoutOptions {
  return {
    ...fanoutOptions(deadlineAt),
    clients: groupSize,
    groupSize,
    rates: rateSteps('BENCH_BIG_GROUP_RATES', '2,5,10,15,20,30,40,60,80,100'),
    // The bisection between steps like 20 and 30 msg/s would round to 50 and stop.
    refineGrain: 1,
    // One message lands as 1,999 deliveries at once on the load generators (1,000 sockets each), which
    // take ~100 ms to drain such a burst: the bare relay's p99 at 2 msg/s was 250 ms. The fan-out's
    // 250 ms limit would measure the generators; both sides get this one (BENCH_BIG_GROUP_P99_MS).
    p99LimitMs: envInt('BENCH_BIG_GROUP_P99_MS', 1000),
  };
}

/** What a fan-out run is, printed above its table. */
function describeFanout(options: FanoutOptions): string {
  return (
    `${options.clients} users in groups of ${options.groupSize ?? DEFAULT_GROUP_SIZE}, websocket only, held by ${options.procs} load-generator processes; ` +
    `${options.stepMs / 1000} s steps, ${options.contentBytes}-byte content; a step fails on p99 > ${options.p99LimitMs} ms, a failed or missing ack, or a missing delivery\n`
  );
}

function printRatio(parley: FanoutResult | undefined, relay: FanoutResult | undefined): void {
  if (!parley?.best || !relay?.best) {
    say('\nParley / relay: not available (a side had no passing step)\n');
    return;
  }
  const ratio = parley.best.deliveredPerSec / relay.best.deliveredPerSec;
  say(
    `\nbest passing steps: Parley ${thousands(parley.best.deliveredPerSec)} deliveries/s at ${parley.best.label} msg/s, ` +
      `relay ${thousands(relay.best.deliveredPerSec)} deliveries/s at ${relay.best.label} msg/s\n` +
      `Parley / bare relay delivered/s = ${fixed(ratio * 100)} % (the design target is at least 80 %)\n`,
  );
  if (!relay.saturating) say('caution: the relay did not saturate, so its capacity is higher than shown and the ratio is an upper bound\n');
  if (!parley.saturating) say('caution: Parley did not saturate, so its capacity is higher than shown and the ratio is a lower bound\n');
  const peak = (result: FanoutResult) => Math.max(...result.steps.map((step) => step.deliveredPerSec));
  say(`peak delivered/s over all steps (passing or not): Parley ${thousands(peak(parley))}, relay ${thousands(peak(relay))}\n`);
}

/** Pairs of fan-out runs after the first (BENCH_FANOUT_PAIRS, default 2 pairs in all). */
function laterPairs(): number {
  return Math.max(0, envInt('BENCH_FANOUT_PAIRS', 2) - 1);
}

/** One line per pair, then the ratio of the summed best passing rates of all pairs. */
function printPairs(pairs: Array<{ parley: FanoutResult; relay: FanoutResult }>): void {
  if (pairs.length < 2) return;
  say('\nfan-out pairs (best passing step of each side):\n');
  let parleySum = 0;
  let relaySum = 0;
  for (const [index, { parley, relay }] of pairs.entries()) {
    const p = parley.best?.deliveredPerSec ?? 0;
    const r = relay.best?.deliveredPerSec ?? 0;
    parleySum += p;
    relaySum += r;
    const caution = !relay.saturating || !parley.saturating ? ' (a side did not saturate)' : '';
    say(
      `  pair ${index + 1}: Parley ${thousands(p)} at ${parley.best?.label} msg/s (p99 ${fixed(parley.best?.p99 ?? NaN)} ms), relay ${thousands(r)} at ${relay.best?.label} msg/s (p99 ${fixed(relay.best?.p99 ?? NaN)} ms) = ${fixed((p / r) * 100)} %${caution}\n`,
    );
    for (const note of [...parley.notes.map((note) => `Parley ${note}`), ...relay.notes.map((note) => `relay ${note}`)]) say(`    note: ${note}\n`);
  }
  say(`Parley / bare relay over ${pairs.length} pairs (summed best passing delivered/s) = ${fixed((parleySum / relaySum) * 100)} % (the design target is at least 80 %)\n`);
}

/** The soak (bench/soak.ts) runs for minutes, so only when BENCH_ONLY names it. */
function soakSelected(): boolean {
  return (process.env.BENCH_ONLY ?? '').split(',').some((name) => name.trim() === 'soak');
}

function selected(name: string): boolean {
  return (process.env.BENCH_ONLY ?? DEFAULT_SCENARIOS).split(',').some((item) => item.trim() === name);
}

/** BENCH_GROWTH_DATABASES: 'sqlite' and database server URLs; by default SQLite and the production set-ups' servers. */
function growthDatabases(): string[] {
  const raw = process.env.BENCH_GROWTH_DATABASES ?? ['sqlite', ...productionSetups().map((setup) => setup.databaseServerUrl)].join(',');
  return raw
    .split(',')
    .map((item) => item.trim())
    .filter(Boolean);
}

/**
 * The production set-ups saturate far below SQLite (400 msg/s had no passing step on MariaDB or
 * PostgreSQL), so they step from 100 msg/s: BENCH_PRODUCTION_RATES overrides.
 */
function productionRates(): number[] {
  return rateSteps('BENCH_PRODUCTION_RATES', '100,200,300,400,600,800,1200,1600,2000,2400,3200,4000');
}

/** Send rates (msg/s) to step through: the comma list in the variable `name`, else `fallback`. */
function rateSteps(name: string, fallback: string): number[] {
  return (process.env[name] ?? fallback)
    .split(',')
    .map(Number)
    .filter((n) => n > 0);
}

function unreadSizes(): number[] {
  return ascendingSizes('BENCH_UNREAD_SIZES', '10000,100000,1000000');
}

function ascendingSizes(name: string, fallback: string): number[] {
  const raw = process.env[name] ?? fallback;
  const sizes = raw.split(',').map((item) => Number(item.trim()));
  if (sizes.some((n) => !Number.isInteger(n) || n <= 0) || sizes.some((n, i) => i > 0 && n <= (sizes[i - 1] ?? 0))) {
    throw new Error(`${name} must be ascending positive integers (got ${raw})`);
  }
  return sizes;
}

async function main(): Promise<number> {
  const only = new Set((process.env.BENCH_ONLY ?? DEFAULT_SCENARIOS).split(',').map((name) => name.trim()));
  say(`Parley bench: node ${process.version}, ${availableParallelism()} CPUs, ${fixed(totalmem() / 2 ** 30)} GiB, load average ${loadAverage()}\n`);
  let failures = 0;
  if (only.has('http')) failures += await scenario('HTTP (autocannon)', httpBench);
  if (only.has('redis')) {
    failures += await scenario('Redis messages per process: classic vs sharded adapter', async () => {
      const rows = await benchRedisAdapters();
      say(`${printRedisAdapters(rows)}\n`);
      return rows.every((row) => row.delivered === row.messages * 2);
    });
  }

  const clients = fanoutOptions(0).clients;
  const idleUsers = envInt('BENCH_IDLE_USERS', 2000);
  let pool: UserPool | undefined;
  const metricsClients = Math.max(20, Math.floor(envInt('BENCH_METRICS_CLIENTS', 200) / 20) * 20);
  if (only.has('fanout') || only.has('idle') || only.has('metrics') || only.has('big-group')) {
    const count = Math.max(
      only.has('fanout') ? clients : 0,
      only.has('idle') ? idleUsers : 0,
      only.has('metrics') ? metricsClients : 0,
      only.has('big-group') ? BIG_GROUP_SIZE : 0,
    );
    failures += await scenario(`registering ${count} users for the fan-out, idle and big-group scenarios`, async () => {
      // The big group uses these tokens last, after the fan-out pairs, the production set-ups, metrics
      // and idle have run: often more than the default 15 minutes after they were issued.
      const tokenTtl = { ACCESS_TOKEN_TTL: String(24 * 3600) };
      pool = await prepareUserPool(count, deadline(150_000, 80_000 + RESERVE.relay + laterPairs() * RESERVE.pair + RESERVE.idle), tokenTtl);
      const rate = pool.users.length / pool.seconds;
      say(`  ${pool.users.length} users registered in ${fixed(pool.seconds)} s, 20 requests in flight (${fixed(rate)} per second; argon2id 19 MiB, 2 passes)\n`);
      return pool.users.length > 0;
    });
  }

  // The first SQLite run and relay run, for the production set-ups' table.
  let sqliteFanout: FanoutResult | undefined;
  let relayFanout: FanoutResult | undefined;
  if (only.has('fanout') && pool) {
    const users = pool;
    let parley: FanoutResult | undefined;
    let relay: FanoutResult | undefined;
    failures += await scenario('fan-out: Parley process (SQLite, every message stored)', async () => {
      const options = fanoutOptions(deadline(150_000, RESERVE.relay + laterPairs() * RESERVE.pair + RESERVE.idle));
      say(describeFanout(options));
      parley = await benchParleyFanout(options, users);
      printFanout(parley);
      return true;
    });
    failures += await scenario('fan-out: bare Socket.IO relay (no auth, no storage)', async () => {
      // The same number of clients as Parley had, should registration have fallen short.
      const options = { ...fanoutOptions(deadline(105_000, laterPairs() * RESERVE.pair + RESERVE.idle)), ...(parley ? { clients: parley.clients } : {}) };
      say(describeFanout(options));
      relay = await benchRelayFanout(options);
      printFanout(relay);
      return true;
    });
    printRatio(parley, relay);
    sqliteFanout = parley;
    relayFanout = relay;
    // The machine's speed drifts from minute to minute (it is a shared VM), and one pair of runs
    // can land on a fast minute for one side and a slow one for the other. Later pairs step from
    // near where the first saturated, and the headline ratio pools every pair.
    const pairs: Array<{ parley: FanoutResult; relay: FanoutResult }> = parley?.best && relay?.best ? [{ parley, relay }] : [];
    for (let pair = 2; pair <= 1 + laterPairs() && pairs.length > 0; pair++) {
      const first = pairs[0] as { parley: FanoutResult; relay: FanoutResult };
      const from = (result: FanoutResult) => Math.max(400, Math.floor((0.7 * (result.best?.targetRate ?? 400)) / 400) * 400);
      const rematch = (result: FanoutResult): FanoutOptions => ({
        ...fanoutOptions(deadline(RESERVE.pair / 2, (1 + laterPairs() - pair) * RESERVE.pair + RESERVE.idle)),
        clients: first.parley.clients,
        rates: fanoutOptions(0).rates.filter((rate) => rate >= from(result)),
        halfRateStep: false,
      });
      const next: { parley?: FanoutResult; relay?: FanoutResult } = {};
      failures += await scenario(`fan-out, pair ${pair}: Parley, then the relay, stepping from 70 % of where each saturated`, async () => {
        next.parley = await benchParleyFanout(rematch(first.parley), users);
        next.relay = await benchRelayFanout(rematch(first.relay));
        return true;
      });
      if (next.parley?.best && next.relay?.best) pairs.push({ parley: next.parley, relay: next.relay });
    }
    printPairs(pairs);
    say(
      'columns: sent/s = emits the generators made; delivered/s = chat events received during the sending window; arrived = deliveries by the end of the drain / (sent x 19); ' +
        'latency = send timestamp in the content to receipt; srv CPU s/1k dlv = utime+stime of the server over the step and its drain per 1,000 deliveries; srv CPU = its share of one core during the sending window; gen CPU = busiest load generator\n',
    );
  }

  if (only.has('production')) {
    const rows: Array<{ label: string; result: FanoutResult | undefined }> = [{ label: 'SQLite', result: sqliteFanout }];
    // As many clients as the SQLite run had, so the rows compare.
    const clients = sqliteFanout?.clients ?? fanoutOptions(0).clients;
    for (const setup of productionSetups()) {
      let result: FanoutResult | undefined;
      failures += await scenario(`fan-out: Parley process on ${setup.label} (every message stored, delivered through the Redis adapter)`, async () => {
        const registered = Date.now() + PRODUCTION_REGISTER_BUDGET_MS;
        result = await benchProductionFanout(setup, { ...fanoutOptions(registered + PRODUCTION_STEP_BUDGET_MS), clients, rates: productionRates() }, registered);
        return true;
      });
      rows.push({ label: setup.label, result });
    }
    if (!relayFanout) {
      failures += await scenario('fan-out: bare Socket.IO relay (no auth, no storage), for the production set-ups', async () => {
        relayFanout = await benchRelayFanout({ ...fanoutOptions(Date.now() + 105_000), clients });
        printFanout(relayFanout);
        return true;
      });
    }
    printProductionRatios(rows, relayFanout);
  }

  if (only.has('metrics') && pool) {
    const users = pool;
    failures += await scenario('cost of metrics on the send path: fan-out at a fixed rate, metrics off vs on', () =>
      benchMetricsCost(
        {
          clients: metricsClients,
          rate: envInt('BENCH_METRICS_RATE', 400),
          rounds: envInt('BENCH_METRICS_ROUNDS', 2),
          procs: envInt('BENCH_GEN_PROCS', 2),
          stepMs: envInt('BENCH_STEP_SEC', 5) * 1000,
          contentBytes: 200,
          deadline: deadline(120_000, RESERVE.idle),
        },
        users,
      ),
    );
  }

  if (only.has('idle') && pool) {
    const users = pool;
    failures += await scenario('idle connections', () => benchIdle({ users: idleUsers, socketsPerUser: 10, procs: 4, deadline: deadline(120_000, 0) }, users));
  }
  if (only.has('big-group') && pool) {
    const users = pool;
    // Fewer members than BIG_GROUP_SIZE only when registration ran out of time; both sides get the same.
    const groupSize = Math.min(BIG_GROUP_SIZE, users.users.length);
    let parley: FanoutResult | undefined;
    let relay: FanoutResult | undefined;
    failures += await scenario(`big group: Parley process (SQLite, every message stored), one group of ${groupSize}`, async () => {
      const options = bigGroupOptions(groupSize, Date.now() + BIG_GROUP_PARLEY_BUDGET_MS);
      say(describeFanout(options));
      parley = await benchParleyFanout(options, users);
      printFanout(parley);
      return true;
    });
    failures += await scenario(`big group: bare Socket.IO relay (no auth, no storage), one room of ${groupSize}`, async () => {
      const options = bigGroupOptions(groupSize, Date.now() + BIG_GROUP_RELAY_BUDGET_MS);
      say(describeFanout(options));
      relay = await benchRelayFanout(options);
      printFanout(relay);
      return true;
    });
    printRatio(parley, relay);
    say(`columns as in the fan-out scenario; arrived = deliveries by the end of the drain / (sent x ${groupSize - 1})\n`);
  }
  if (pool) removeTempDir(pool.dataDir);
  if (only.has('history')) {
    failures += await scenario('history paging', () => benchHistory({ messages: envInt('BENCH_HISTORY_MESSAGES', 1_000_000), requests: 1000, warmup: 50 }));
  }
  if (only.has('unread')) {
    const unread = { sizes: unreadSizes(), conversations: 10, requests: 300, warmup: 30 };
    failures += await scenario('conversation list with unread messages: SQLite', () => benchUnread(unread));
    const databaseUrl = process.env.BENCH_DATABASE_URL;
    if (databaseUrl) failures += await scenario('conversation list with unread messages: MariaDB', () => benchUnread({ ...unread, databaseUrl }));
  }
  if (only.has('search')) {
    const messages = envInt('BENCH_SEARCH_MESSAGES', process.argv.includes('--quick') ? 100_000 : 1_000_000);
    failures += await scenario('event-loop stall while others search (SQLite: reader thread vs event loop)', () => benchSearchStall({ messages, rounds: 3 }));
  }
  if (only.has('search-growth')) {
    const sizes = ascendingSizes('BENCH_SEARCH_GROWTH_SIZES', process.argv.includes('--quick') ? '10000,100000' : '10000,100000,1000000');
    failures += await scenario('search growth (SQLite: indexed search against the old scan)', () => benchSearchGrowth({ sizes, requests: 50 }));
  }
  if (only.has('growth')) {
    const sizes = ascendingSizes('BENCH_GROWTH_SIZES', process.argv.includes('--quick') ? '10000,100000' : '10000,100000,1000000');
    failures += await scenario('reads as history grows: search, conversation list, history page, sync (SQLite, then the production databases)', () =>
      benchGrowth({ sizes, requests: 100, warmup: 10, databases: growthDatabases() }),
    );
  }
  if (only.has('search-write')) {
    const history = envInt('BENCH_SEARCH_WRITE_HISTORY', process.argv.includes('--quick') ? 20000 : 100000);
    failures += await scenario('search index cost per send (SQLite writer: none, FTS5, token table)', () => benchSearchWrite({ history, messages: 2000, rounds: 3 }));
  }
  if (only.has('send')) {
    failures += await scenario('send path in-process (no sockets: service, checks, group commit), SQLite then the production set-ups', () =>
      benchSendPathSetups({ users: 40, perTurn: 40, turns: envInt('BENCH_SEND_TURNS', 3000), productionTurns: envInt('BENCH_SEND_PRODUCTION_TURNS', 500) }),
    );
  }
  if (only.has('files')) {
    failures += await scenario('file transfer (tus upload, download, memory)', () =>
      benchFiles({ sizeMiB: envInt('BENCH_FILES_MIB', 1024), chunkMiB: envInt('BENCH_FILES_CHUNK_MIB', 64), rounds: envInt('BENCH_FILES_ROUNDS', 5) }),
    );
  }
  if (only.has('soak')) {
    const options = soakOptions();
    failures += await scenario(`soak: ${options.clients} clients for ${options.seconds} s at ${options.ratePerSec} msg/s (memory must level off, no errors)`, () =>
      benchSoak(options),
    );
  }
  say(`\nbench finished in ${fixed((Date.now() - STARTED) / 1000, 0)} s, load average ${loadAverage()}\n`);
  return failures > 0 ? 1 : 0;
}

setTimeout(() => {
  process.stderr.write('bench: watchdog expired, aborting\n');
  cleanUpEverything();
  process.exit(2);
}, WATCHDOG_MS).unref();

// Exits explicitly: a keep-alive socket or a straggling child must not hold the run open.
main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    process.stderr.write(`bench: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
    process.exit(1);
  },
);
