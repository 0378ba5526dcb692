// Fan-out bench (scenarios 1 and 2): N users in groups of 20 (or of FanoutOptions.groupSize), one
// websocket each, held by forked load-generator processes. The total send rate is stepped up until
// p99 end-to-end latency passes the limit or sends fail; deliveries are counted at the receivers
// (group size - 1 per message). Run against a Parley process (storage, auth) and against the bare
// relay in bench/relay-server.ts.
import type { ChildProcess } from 'node:child_process';
import { performance } from 'node:perf_hooks';
import { AddMembersBody, CreateGroupBody } from '../src/contract/groups.js';
import type { ClientSpec, FromWorker, ToWorker } from './fanout-client.js';
import {
  api,
  type BenchUser,
  benchFile,
  copyDataDir,
  cpuSeconds,
  fixed,
  forkWorker,
  loadAverage,
  makeTempDir,
  mapLimit,
  measuredServerArgs,
  memoryMiB,
  percentile,
  printTable,
  removeTempDir,
  type ServerProcess,
  sampleRss,
  say,
  sayProfile,
  sleep,
  spawnServer,
  startParleyProcess,
  stopChild,
  thousands,
  type UserPool,
} from './lib.js';

/** Members per group when FanoutOptions.groupSize does not say otherwise. */
export const DEFAULT_GROUP_SIZE = 20;

export interface FanoutOptions {
  /** A multiple of the group size: every client is a member of exactly one group. */
  clients: number;
  /** Members per group on Parley, sockets per room on the relay (default DEFAULT_GROUP_SIZE). */
  groupSize?: number;
  /** Load-generator processes the clients are spread over. */
  procs: number;
  rates: number[];
  stepMs: number;
  /** Longest wait after a step's sending window for its deliveries and acks. */
  drainMs: number;
  contentBytes: number;
  p99LimitMs: number;
  /** Epoch ms by which the scenario must be done: no step starts that could end later. */
  deadline: number;
  /** Ends with a step at half the saturating rate (default); off for the repeat runs of run.ts. */
  halfRateStep?: boolean;
  /** Bisection steps between the last passing and the first failing rate (default 2). */
  refineRounds?: number;
  /** The bisected rates are multiples of this (msg/s, default 50); rates of a few msg/s need 1. */
  refineGrain?: number;
  /** Extra environment of the Parley process (the metrics scenario turns metrics on with it). */
  serverEnv?: Record<string, string>;
  /** Started once the clients are connected, stopped after the steps (the metrics scenario's scraper). */
  alongside?: (url: string) => () => Promise<void>;
}

export interface StepResult {
  label: string;
  targetRate: number;
  sentRate: number;
  deliveredPerSec: number;
  deliveredShare: number;
  expected: number;
  delivered: number;
  p50: number;
  p95: number;
  p99: number;
  max: number;
  ackFailed: number;
  ackTimeouts: number;
  firstAckError?: string;
  serverCpuPer1k: number;
  /** Server CPU over the sending window only (1 = one core busy). */
  serverCpuShare: number;
  serverPeakRssMiB: number;
  /** The busiest load generator's CPU over the step and its drain. */
  clientCpuShare: number;
  packetBytes: number;
  ok: boolean;
  reason: string;
}

export interface FanoutResult {
  name: string;
  clients: number;
  steps: StepResult[];
  /** First step that failed the criteria, if any. */
  saturating?: StepResult;
  half?: StepResult;
  best?: StepResult;
  notes: string[];
}

const groupSizeOf = (options: FanoutOptions) => options.groupSize ?? DEFAULT_GROUP_SIZE;

// ---------------------------------------------------------------- talking to the load generators

function nextMessage<T extends FromWorker['type']>(child: ChildProcess, type: T, timeoutMs: number): Promise<Extract<FromWorker, { type: T }>> {
  return new Promise((resolve, reject) => {
    const onMessage = (message: FromWorker) => {
      if (message.type !== type) return;
      cleanup();
      resolve(message as Extract<FromWorker, { type: T }>);
    };
    const onExit = (code: number | null) => {
      cleanup();
      reject(new Error(`load generator exited (${code}) while waiting for '${type}'`));
    };
    const timer = setTimeout(() => {
      cleanup();
      reject(new Error(`load generator did not answer '${type}' within ${timeoutMs} ms`));
    }, timeoutMs);
    const cleanup = () => {
      clearTimeout(timer);
      child.off('message', onMessage);
      child.off('exit', onExit);
    };
    child.on('message', onMessage);
    child.once('exit', onExit);
  });
}

const tell = (child: ChildProcess, message: ToWorker) => child.send(message);

async function ask<T extends FromWorker['type']>(workers: ChildProcess[], message: ToWorker, reply: T, timeoutMs: number) {
  const answers = workers.map((worker) => nextMessage(worker, reply, timeoutMs));
  for (const worker of workers) tell(worker, message);
  return Promise.all(answers);
}

/**
 * Longest wait for every client to connect. On Parley each connect tells the user's presence to
 * every co-member (presence.service.ts, audienceOf), so connecting a group costs the square of its
 * size: one group of 2,000 took 90 s on 2 shared cores, where groups of 20 take seconds.
 */
function connectTimeoutMs(clients: number, groupSize: number): number {
  return Math.max(120_000, clients * groupSize * 0.1);
}

async function startWorkers(url: string, clients: ClientSpec[], procs: number, timeoutMs: number): Promise<{ workers: ChildProcess[]; connectMs: number }> {
  const workers = Array.from({ length: procs }, () => forkWorker(benchFile('fanout-client.js')));
  const shares = workers.map((_, w) => clients.filter((_, i) => i % procs === w));
  const answers = workers.map((worker) => nextMessage(worker, 'connected', timeoutMs));
  for (const [w, worker] of workers.entries()) tell(worker, { type: 'connect', url, clients: shares[w] as ClientSpec[], concurrency: 50 });
  const connected = await Promise.all(answers);
  const failed = connected.reduce((sum, answer) => sum + answer.failed, 0);
  if (failed > 0) throw new Error(`${failed} of ${clients.length} clients failed to connect: ${connected.find((a) => a.firstError)?.firstError}`);
  return { workers, connectMs: Math.max(...connected.map((answer) => answer.ms)) };
}

async function closeWorkers(workers: ChildProcess[]): Promise<void> {
  await ask(workers, { type: 'close' }, 'closed', 10_000).catch(() => {});
  await Promise.all(workers.map((worker) => stopChild(worker, 3000)));
}

// ---------------------------------------------------------------- one step

let stepCounter = 0;

async function runStep(label: string, targetRate: number, workers: ChildProcess[], server: ServerProcess, options: FanoutOptions): Promise<StepResult> {
  const step = ++stepCounter;
  const perWorker = targetRate / workers.length;
  const cpuBefore = cpuSeconds(server.pid);
  const rss = sampleRss(server.pid);
  const wallStart = performance.now();

  const sent = await ask(
    workers,
    { type: 'step', step, rate: perWorker, durationMs: options.stepMs, contentBytes: options.contentBytes, groupSize: groupSizeOf(options) },
    'sent',
    options.stepMs + 30_000,
  );
  const sendEnd = performance.now();
  const cpuInWindow = cpuSeconds(server.pid) - cpuBefore;
  const emitted = sent.reduce((sum, answer) => sum + answer.emitted, 0);
  const sendSeconds = Math.max(...sent.map((answer) => answer.elapsedMs)) / 1000;
  const expected = emitted * (groupSizeOf(options) - 1);

  // Wait (bounded) until every delivery has arrived and every ack is back.
  const drainEnd = performance.now() + options.drainMs;
  for (;;) {
    const progress = await ask(workers, { type: 'progress', step }, 'progress', 10_000);
    const delivered = progress.reduce((sum, answer) => sum + answer.delivered, 0);
    const pending = progress.reduce((sum, answer) => sum + answer.acksPending, 0);
    if ((delivered >= expected && pending === 0) || performance.now() >= drainEnd) break;
    await sleep(50);
  }
  const cpuUsed = cpuSeconds(server.pid) - cpuBefore;
  const wallSeconds = (performance.now() - wallStart) / 1000;
  const windowSeconds = (sendEnd - wallStart) / 1000;
  const peakRss = rss.stop();

  const collected = await ask(workers, { type: 'collect', step }, 'collected', 30_000);
  const sum = (pick: (answer: Extract<FromWorker, { type: 'collected' }>) => number) => collected.reduce((total, answer) => total + pick(answer), 0);
  const delivered = sum((answer) => answer.delivered);
  const latencies = new Float64Array(delivered);
  let offset = 0;
  for (const answer of collected) {
    latencies.set(answer.latencies, offset);
    offset += answer.latencies.length;
  }
  latencies.sort();
  const ackFailed = sum((answer) => answer.ackFailed);
  const ackTimeouts = sum((answer) => answer.acksPending);
  const windowDeliveries = sent.reduce((total, answer) => total + answer.windowDeliveries, 0);
  const sentRate = emitted / sendSeconds;
  const clientCpuShare = Math.max(...collected.map((answer) => answer.cpuMs / 1000 / wallSeconds));

  const result: StepResult = {
    label,
    targetRate,
    sentRate,
    deliveredPerSec: windowDeliveries / sendSeconds,
    deliveredShare: expected === 0 ? 1 : delivered / expected,
    expected,
    delivered,
    p50: percentile(latencies, 50),
    p95: percentile(latencies, 95),
    p99: percentile(latencies, 99),
    max: latencies.length > 0 ? (latencies[latencies.length - 1] as number) : NaN,
    ackFailed,
    ackTimeouts,
    firstAckError: collected.find((answer) => answer.firstAckError)?.firstAckError,
    serverCpuPer1k: delivered > 0 ? cpuUsed / (delivered / 1000) : NaN,
    serverCpuShare: cpuInWindow / windowSeconds,
    serverPeakRssMiB: peakRss,
    clientCpuShare,
    packetBytes: Math.max(...collected.map((answer) => answer.samplePacketBytes)),
    ok: true,
    reason: 'ok',
  };
  const reasons: string[] = [];
  if (result.p99 > options.p99LimitMs || !Number.isFinite(result.p99)) reasons.push(`p99 > ${options.p99LimitMs} ms`);
  if (ackFailed > 0) reasons.push(`${ackFailed} acks failed`);
  if (ackTimeouts > 0) reasons.push(`${ackTimeouts} acks missing`);
  if (delivered < expected) reasons.push(`${expected - delivered} deliveries missing`);
  // Each worker sends whole messages, floor(its rate x the step): at a few msg/s that rounding is not falling behind.
  const plannedRate = (workers.length * Math.floor((perWorker * options.stepMs) / 1000)) / (options.stepMs / 1000);
  if (sentRate < 0.9 * Math.min(targetRate, plannedRate)) reasons.push('load generator behind');
  if (reasons.length > 0) {
    result.ok = false;
    result.reason = reasons.join(', ');
  }
  return result;
}

async function stepUp(name: string, workers: ChildProcess[], server: ServerProcess, options: FanoutOptions): Promise<FanoutResult> {
  const result: FanoutResult = { name, clients: options.clients, steps: [], notes: [] };
  const stepBudget = options.stepMs + options.drainMs + 3000;
  // A short unreported warm-up so the first row does not carry JIT compilation.
  await runStep('warm-up', options.rates[0] ?? 100, workers, server, { ...options, stepMs: 1000 });
  for (const rate of options.rates) {
    if (Date.now() + stepBudget * 2 > options.deadline) {
      result.notes.push(`stopped before ${rate} msg/s: time budget`);
      break;
    }
    const step = await runStep(String(rate), rate, workers, server, options);
    result.steps.push(step);
    say(`  ${name}: ${rate} msg/s -> ${thousands(step.deliveredPerSec)} deliveries/s, p99 ${fixed(step.p99)} ms, ${step.reason} (load ${loadAverage()})\n`);
    if (!step.ok) {
      result.saturating = step;
      break;
    }
    await sleep(300);
  }
  await refine(name, workers, server, options, result, stepBudget);
  const passing = result.steps.filter((step) => step.ok);
  result.best = passing.reduce<StepResult | undefined>((best, step) => (!best || step.deliveredPerSec > best.deliveredPerSec ? step : best), undefined);
  const lastRate = result.saturating?.targetRate ?? result.steps.at(-1)?.targetRate;
  if (options.halfRateStep !== false && lastRate !== undefined && Date.now() + stepBudget < options.deadline) {
    if (!result.saturating) result.notes.push(`did not saturate up to ${lastRate} msg/s: the half-rate row is half the highest rate tried`);
    await sleep(1000);
    result.half = await runStep(`half (${lastRate / 2})`, lastRate / 2, workers, server, options);
  }
  return result;
}

/**
 * Bisects the gap between the last passing rate and the first failing one, `BENCH_REFINE` times
 * (default 2), so each side's capacity is known to a quarter of the step instead of a whole one.
 * The ratio of Parley to the relay compares the two best passing rates: with 400 msg/s steps near
 * 2,000-2,400 msg/s the grid alone moved it by up to 20 %, whichever side it happened to favour.
 * Both sides get the same bisection, so it sharpens the ratio without leaning on either.
 */
async function refine(name: string, workers: ChildProcess[], server: ServerProcess, options: FanoutOptions, result: FanoutResult, stepBudget: number): Promise<void> {
  const failing = result.saturating;
  const passed = result.steps.filter((step) => step.ok).at(-1);
  if (!failing || !passed) return;
  let low = passed.targetRate;
  let high = failing.targetRate;
  const grain = options.refineGrain ?? 50;
  for (let round = 0; round < (options.refineRounds ?? 2); round++) {
    const rate = Math.round((low + high) / 2 / grain) * grain;
    if (rate <= low || rate >= high) break;
    if (Date.now() + stepBudget * 2 > options.deadline) {
      result.notes.push(`refinement stopped before ${rate} msg/s: time budget`);
      break;
    }
    // A step past saturation leaves a bigger heap and backed-up sockets behind; let them settle.
    await sleep(2000);
    const step = await runStep(`${rate} (refine)`, rate, workers, server, options);
    result.steps.push(step);
    say(`  ${name}: ${rate} msg/s (refine) -> ${thousands(step.deliveredPerSec)} deliveries/s, p99 ${fixed(step.p99)} ms, ${step.reason} (load ${loadAverage()})\n`);
    if (step.ok) low = rate;
    else high = rate;
  }
}

// ---------------------------------------------------------------- the two targets

/** The `maxItems` of an array in the API contract (TypeBox keeps it on the schema, not in the type). */
function maxItems(schema: object): number {
  const max = (schema as { maxItems?: unknown }).maxItems;
  if (typeof max !== 'number') throw new Error('the contract sets no maxItems on this array');
  return max;
}
/** Ids one request may name: `memberIds` of POST /groups, `userIds` of POST /groups/:id/members (500 each). */
const MEMBER_IDS_PER_CREATE = maxItems(CreateGroupBody.properties.memberIds);
const USER_IDS_PER_ADD = maxItems(AddMembersBody.properties.userIds);
/** Set-up requests in flight at once, over all groups: enough to keep the server busy, few enough not to time out. */
const SETUP_REQUESTS_IN_FLIGHT = 20;

interface SentInvitation {
  id: string;
  inviteeId: string;
}

/**
 * Makes a group of `members`, the first one its owner, and returns its conversation id. The bench
 * users are strangers to each other, so each other member is invited and joins by accepting. A
 * request names at most MEMBER_IDS_PER_CREATE (500) members, so a bigger group is created with the
 * first ones and the rest are added in batches before anyone accepts: the size check counts
 * members, not pending invitations.
 */
async function createGroup(url: string, name: string, members: readonly BenchUser[], acceptsInFlight: number): Promise<string> {
  const [owner, ...rest] = members as [BenchUser, ...BenchUser[]];
  const ids = rest.map((user) => user.id);
  const group = await api<{ id: string; conversationId: string; invited: SentInvitation[] }>(
    url,
    'POST',
    '/groups',
    { name, memberIds: ids.slice(0, MEMBER_IDS_PER_CREATE) },
    owner.token,
  );
  const invited = [...group.invited];
  for (let i = MEMBER_IDS_PER_CREATE; i < ids.length; i += USER_IDS_PER_ADD) {
    const added = await api<{ invited: SentInvitation[] }>(url, 'POST', `/groups/${group.id}/members`, { userIds: ids.slice(i, i + USER_IDS_PER_ADD) }, owner.token);
    invited.push(...added.invited);
  }
  const tokens = new Map(rest.map((user) => [user.id, user.token]));
  await mapLimit(invited, acceptsInFlight, (invitation) => api(url, 'POST', `/group-invitations/${invitation.id}/accept`, undefined, tokens.get(invitation.inviteeId) as string));
  return group.conversationId;
}

/** Splits `users` into groups of `groupSize` and creates them; returns each group's conversation id. */
async function createGroups(url: string, users: readonly BenchUser[], groupSize: number): Promise<string[]> {
  const groups: BenchUser[][] = [];
  for (let i = 0; i < users.length; i += groupSize) groups.push(users.slice(i, i + groupSize));
  const groupsInFlight = Math.min(5, groups.length);
  const acceptsInFlight = Math.max(1, Math.floor(SETUP_REQUESTS_IN_FLIGHT / groupsInFlight));
  return mapLimit(groups, groupsInFlight, (members, g) => createGroup(url, `bench ${g}`, members, acceptsInFlight));
}

/** Runs on a copy of the pool's data dir: its first `options.clients` users form the groups. */
export async function benchParleyFanout(options: FanoutOptions, pool: UserPool): Promise<FanoutResult> {
  const groupSize = groupSizeOf(options);
  if (pool.users.length < options.clients) {
    const clients = Math.floor(pool.users.length / groupSize) * groupSize;
    if (clients === 0) throw new Error(`only ${pool.users.length} users could be registered in time`);
    say(`  parley: only ${pool.users.length} of ${options.clients} users could be registered in the time budget: running with ${clients}\n`);
    options = { ...options, clients };
  }
  const dataDir = copyDataDir(pool.dataDir, 'parley-bench-fanout-');
  let server: ServerProcess | undefined;
  let workers: ChildProcess[] = [];
  try {
    // Each owner invites every other member of its group within the hour: the default budget (100) would refuse a big group.
    server = await startParleyProcess(dataDir, { GROUP_INVITES_PER_HOUR: String(groupSize), ...options.serverEnv }, 'fan-out');
    const users = pool.users.slice(0, options.clients);
    const conversations = await createGroups(server.url, users, groupSize);
    const specs: ClientSpec[] = users.map((user, i) => ({ auth: { token: user.token }, conversationId: conversations[Math.floor(i / groupSize)] as string }));
    say(`  parley: ${conversations.length} groups of ${groupSize} created; server RSS ${fixed(memoryMiB(server.pid).rss, 0)} MiB\n`);
    const started = performance.now();
    ({ workers } = await startWorkers(server.url, specs, options.procs, connectTimeoutMs(specs.length, groupSize)));
    say(`  parley: ${specs.length} sockets connected in ${fixed((performance.now() - started) / 1000)} s; server RSS ${fixed(memoryMiB(server.pid).rss, 0)} MiB\n`);
    const stopAlongside = options.alongside?.(server.url);
    try {
      return await stepUp('parley', workers, server, options);
    } finally {
      await stopAlongside?.();
    }
  } finally {
    await closeWorkers(workers);
    if (server) {
      const code = await server.stop();
      if (code !== 0) say(`  parley: server exited with ${code}\n`);
    }
    removeTempDir(dataDir);
  }
}

export async function benchRelayFanout(options: FanoutOptions): Promise<FanoutResult> {
  const groupSize = groupSizeOf(options);
  const dir = makeTempDir('parley-bench-relay-');
  let server: ServerProcess | undefined;
  let workers: ChildProcess[] = [];
  try {
    server = await spawnServer({ script: benchFile('relay-server.js'), cwd: dir, env: {}, readyText: 'relay listening', nodeArgs: measuredServerArgs('relay') });
    sayProfile('relay', server);
    const specs: ClientSpec[] = Array.from({ length: options.clients }, (_, i) => {
      const room = `g.${Math.floor(i / groupSize)}`;
      return { auth: { room }, conversationId: room };
    });
    ({ workers } = await startWorkers(server.url, specs, options.procs, connectTimeoutMs(specs.length, groupSize)));
    return await stepUp('relay', workers, server, options);
  } finally {
    await closeWorkers(workers);
    if (server) await server.stop();
    removeTempDir(dir);
  }
}

// ---------------------------------------------------------------- report

export function printFanout(result: FanoutResult): void {
  const rows = [...result.steps, ...(result.half ? [result.half] : [])].map((step) => [
    step.label,
    thousands(step.sentRate),
    thousands(step.deliveredPerSec),
    `${fixed(step.deliveredShare * 100)} %`,
    fixed(step.p50),
    fixed(step.p95),
    fixed(step.p99),
    String(step.ackFailed),
    String(step.ackTimeouts),
    fixed(step.serverCpuPer1k, 4),
    `${fixed(step.serverCpuShare * 100, 0)} %`,
    fixed(step.serverPeakRssMiB, 0),
    `${fixed(step.clientCpuShare * 100, 0)} %`,
    step.ok ? 'ok' : step.reason,
  ]);
  printTable(
    ['offered msg/s', 'sent/s', 'delivered/s', 'arrived', 'p50 ms', 'p95 ms', 'p99 ms', 'ack err', 'ack t/o', 'srv CPU s/1k dlv', 'srv CPU', 'srv RSS MiB', 'gen CPU', 'verdict'],
    rows,
  );
  const packet = Math.max(0, ...result.steps.map((step) => step.packetBytes));
  if (packet > 0) say(`  one delivered chat event carries ${packet} bytes of Socket.IO packet (JSON)\n`);
  for (const note of result.notes) say(`  note: ${note}\n`);
  const errors = [...result.steps, ...(result.half ? [result.half] : [])].find((step) => step.firstAckError)?.firstAckError;
  if (errors) say(`  first ack error: ${errors}\n`);
}
