// The cost of metrics on the send path (scenario "metrics"): the fan-out of bench/fanout.ts at one
// fixed rate below saturation, on a Parley process with metrics off and one with them on (and
// scraped every second, as a busy Prometheus would), alternating off/on/off/on so the machine's
// drift from minute to minute falls on both sides. Server CPU per 1,000 deliveries is the figure:
// at a fixed rate it moves with the work Parley does per message, which is what metrics add to.
import { benchParleyFanout, type FanoutOptions, type StepResult } from './fanout.js';
import { fixed, printTable, say, sleep, type UserPool } from './lib.js';

const TOKEN = 'bench-metrics-token-0123456789';

export interface MetricsCostOptions extends Pick<FanoutOptions, 'procs' | 'stepMs' | 'contentBytes'> {
  clients: number;
  rate: number;
  /** Runs per side (alternating). */
  rounds: number;
  deadline: number;
}

/** Scrapes /metrics every second until stopped; counts failures. */
function scraper(url: string, tally: { scrapes: number; failed: number; bytes: number }): () => Promise<void> {
  let stopped = false;
  const loop = (async () => {
    while (!stopped) {
      try {
        const response = await fetch(`${url}/metrics`, { headers: { authorization: `Bearer ${TOKEN}` } });
        const body = await response.text();
        tally.scrapes++;
        tally.bytes = body.length;
        if (!response.ok) tally.failed++;
      } catch {
        tally.failed++;
      }
      await sleep(1000);
    }
  })();
  return async () => {
    stopped = true;
    await loop;
  };
}

export async function benchMetricsCost(options: MetricsCostOptions, pool: UserPool): Promise<boolean> {
  const clients = Math.min(options.clients, Math.floor(pool.users.length / 20) * 20);
  if (clients < 20) throw new Error(`only ${pool.users.length} users registered: the metrics scenario needs at least 20`);
  const tally = { scrapes: 0, failed: 0, bytes: 0 };
  const sides: Record<'off' | 'on', StepResult[]> = { off: [], on: [] };
  const fanout = (on: boolean): FanoutOptions => ({
    clients,
    procs: options.procs,
    rates: [options.rate],
    stepMs: options.stepMs,
    drainMs: 4000,
    contentBytes: options.contentBytes,
    p99LimitMs: 250,
    refineRounds: 0,
    halfRateStep: false,
    deadline: options.deadline,
    serverEnv: on ? { METRICS_TOKEN: TOKEN } : {},
    alongside: on ? (url) => scraper(url, tally) : undefined,
  });
  say(
    `${clients} users in groups of 20, ${options.rate} msg/s for ${options.stepMs / 1000} s per run, ${options.rounds} runs per side alternating off/on; /metrics scraped every second when on\n`,
  );
  for (let round = 0; round < options.rounds; round++) {
    for (const side of ['off', 'on'] as const) {
      if (Date.now() + 60_000 > options.deadline) {
        say(`  stopped before round ${round + 1} (${side}): time budget\n`);
        break;
      }
      const result = await benchParleyFanout(fanout(side === 'on'), pool);
      const step = result.steps[0];
      if (!step) continue;
      sides[side].push(step);
      say(`  metrics ${side}: ${fixed(step.serverCpuPer1k, 4)} CPU s per 1k deliveries, p99 ${fixed(step.p99)} ms, ${step.reason}\n`);
    }
  }
  const mean = (steps: StepResult[], pick: (step: StepResult) => number) => steps.reduce((sum, step) => sum + pick(step), 0) / steps.length;
  const rows = (['off', 'on'] as const).map((side) => [
    side,
    String(sides[side].length),
    fixed(
      mean(sides[side], (step) => step.deliveredPerSec),
      0,
    ),
    fixed(
      mean(sides[side], (step) => step.serverCpuPer1k),
      4,
    ),
    fixed(mean(sides[side], (step) => step.p50)),
    fixed(mean(sides[side], (step) => step.p99)),
    sides[side].every((step) => step.ok) ? 'ok' : 'a run failed',
  ]);
  printTable(['metrics', 'runs', 'delivered/s', 'srv CPU s/1k dlv', 'p50 ms', 'p99 ms', 'verdict'], rows);
  if (sides.off.length === 0 || sides.on.length === 0) {
    say('metrics on / off: not available (a side has no run)\n');
    return false;
  }
  const ratio = mean(sides.on, (step) => step.serverCpuPer1k) / mean(sides.off, (step) => step.serverCpuPer1k);
  say(`metrics on / off, server CPU per delivery = ${fixed(ratio * 100)} % (100 % = free); ${tally.scrapes} scrapes of ${fixed(tally.bytes / 1024)} KiB, ${tally.failed} failed\n`);
  const failed = [...sides.off, ...sides.on].filter((step) => !step.ok);
  // The runs are at a fixed rate: one that misses the latency bar (a busy shared machine) still
  // prices the CPU per delivery on both sides alike, so it is flagged, not a failure of the bench.
  if (failed.length > 0) say(`caution: ${failed.length} run(s) did not pass (${failed[0]?.reason}): the machine was busier than the rate needs; compare CPU, not latency\n`);
  return tally.failed === 0;
}
