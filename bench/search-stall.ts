// Event-loop stall seen by other users while searches run (issue 18): a private conversation of
// 1,000,000 messages (BENCH_SEARCH_MESSAGES; `--quick` 100,000) written straight into the SQLite
// file of a stopped Parley data dir, then rounds of three concurrent searches (rare and absent text) while a
// prober asks /healthz back to back. The searches have no index token, so they scan (the heaviest kind left). The server runs in this process, so the stall is read from
// its event loop (perf_hooks.monitorEventLoopDelay, 10 ms resolution) beside the probes' round
// trips (which also count the OS scheduling of a loaded machine). Run twice on the same file: searches in the reader thread
// (the default) and in the event loop (SQLITE_READER_THREADS=0, the old path), with a budget
// large enough that every search finishes, so both runs do the same work.
import path from 'node:path';
import { monitorEventLoopDelay, performance } from 'node:perf_hooks';
import { Worker } from 'node:worker_threads';
import SqliteDatabase from 'better-sqlite3';
import {
  api,
  type BenchUser,
  fixed,
  loadAverage,
  makeTempDir,
  percentile,
  printTable,
  registerUsers,
  removeTempDir,
  type ServerProcess,
  say,
  sleep,
  startInProcessParley,
  startParleyProcess,
  thousands,
} from './lib.js';

export interface SearchStallOptions {
  messages: number;
  rounds: number;
}

/**
 * What the searches look for: absent text with no search-index token (every piece under three
 * letters), so each one scans the whole history, the heaviest search left since the index
 * (migration 0020) answers words in milliseconds (bench/search-growth.ts). The rows written here
 * are not indexed: these queries never read the index.
 */
const RARE_EN = 'zq';
const RARE_ZH = 'q!';
const ABSENT = 'jz x';

function fill(file: string, conversationId: string, senders: [string, string], count: number): number {
  const started = performance.now();
  const db = new SqliteDatabase(file);
  try {
    db.pragma('journal_mode = WAL');
    db.pragma('synchronous = NORMAL');
    db.transaction(() => {
      // One statement (a recursive CTE): a million rows in seconds. A rare word every ~250,000 messages.
      db.prepare(
        `with recursive n(i) as (select 1 union all select i + 1 from n where i < ?)
         insert into messages (conversation_id, sender_id, type, content, client_msg_id, reply_to_id, attachments, created_at, edited_at, recalled_at)
         select ?, case i % 2 when 0 then ? else ? end, 'text',
                'search bench message ' || i || ': the quick brown fox jumps over the lazy dog, 我们明天去北京开会' ||
                  case when i % 250000 = 1 then ' ${RARE_EN} ${RARE_ZH}' else '' end,
                'stall-' || i, null, null, ? + i, null, null from n`,
      ).run(count, conversationId, senders[0], senders[1], Date.now() - count);
      const last = db.prepare('select max(id) as id from messages').get() as { id: number };
      db.prepare('update conversations set last_message_id = ?, updated_at = ? where id = ?').run(last.id, Date.now(), conversationId);
    })();
    return (performance.now() - started) / 1000;
  } finally {
    db.close();
  }
}

interface StallRun {
  label: string;
  searchMs: number[];
  healthMs: number[];
  probes: number;
  /** Longest event-loop delay during the searches, ms. */
  loopMaxMs: number;
  loopP99Ms: number;
  /** Share of the searches' wall time the event loop was busy (not waiting for I/O): a stall, unlike the OS scheduling of a loaded machine, shows here. */
  utilization: number;
}

async function measure(url: string, label: string, users: [BenchUser, BenchUser], rounds: number): Promise<StallRun> {
  const searchMs: number[] = [];
  const healthMs: number[] = [];
  const searchOnce = async (user: BenchUser, q: string) => {
    const started = performance.now();
    await api(url, 'GET', `/messages/search?q=${encodeURIComponent(q)}&limit=50`, undefined, user.token);
    searchMs.push(performance.now() - started);
  };
  // Warm the page cache and the statements outside the measurement.
  await searchOnce(users[0], ABSENT);
  searchMs.length = 0;
  const loop = monitorEventLoopDelay({ resolution: 10 });
  loop.enable();
  const busyBefore = performance.eventLoopUtilization();
  for (let round = 0; round < rounds; round++) {
    let searching = true;
    const prober = (async () => {
      // One probe every 5 ms: each one's latency is what any other user's request would wait right
      // then; paced rather than back to back, so the probing itself does not keep the loop busy.
      while (searching) {
        await sleep(5);
        const started = performance.now();
        const response = await fetch(`${url}/healthz`);
        await response.text();
        if (!response.ok) throw new Error(`/healthz answered ${response.status}`);
        healthMs.push(performance.now() - started);
      }
    })();
    await Promise.all([searchOnce(users[0], RARE_EN), searchOnce(users[1], RARE_ZH), searchOnce(users[0], ABSENT)]);
    searching = false;
    await prober;
  }
  loop.disable();
  const { utilization } = performance.eventLoopUtilization(busyBefore);
  searchMs.sort((a, b) => a - b);
  healthMs.sort((a, b) => a - b);
  return { label, searchMs, healthMs, probes: healthMs.length, loopMaxMs: loop.max / 1e6, loopP99Ms: loop.percentile(99) / 1e6, utilization };
}

/**
 * The machine's floor: a thread spinning for `ms` beside a loop that only wakes every 5 ms, no
 * Parley at all. On a shared, loaded VM the OS alone delays such a loop by tens of milliseconds;
 * the reader-thread figure cannot be read below this one.
 */
async function floor(ms: number): Promise<{ loopP99Ms: number; loopMaxMs: number; utilization: number }> {
  const loop = monitorEventLoopDelay({ resolution: 10 });
  loop.enable();
  const busyBefore = performance.eventLoopUtilization();
  const spinner = new Worker(`const end = Date.now() + ${ms}; while (Date.now() < end) {}`, { eval: true });
  const ticking = setInterval(() => {}, 5);
  await new Promise((resolve) => spinner.once('exit', resolve));
  clearInterval(ticking);
  loop.disable();
  return { loopP99Ms: loop.percentile(99) / 1e6, loopMaxMs: loop.max / 1e6, utilization: performance.eventLoopUtilization(busyBefore).utilization };
}

export async function benchSearchStall(options: SearchStallOptions): Promise<boolean> {
  const dataDir = makeTempDir('parley-bench-search-');
  let server: ServerProcess | undefined;
  try {
    server = await startParleyProcess(dataDir);
    const [alice, bob] = (await registerUsers(server.url, 'stall', 2, 2)) as [BenchUser, BenchUser];
    const conversation = await api<{ id: string }>(server.url, 'POST', '/conversations', { peerId: bob.id }, alice.token);
    await server.stop();
    server = undefined;
    const seconds = fill(path.join(dataDir, 'parley.db'), conversation.id, [alice.id, bob.id], options.messages);
    say(`  ${thousands(options.messages)} messages written in ${fixed(seconds)} s; ${options.rounds} rounds of 3 concurrent searches (${RARE_EN}, ${RARE_ZH}, ${ABSENT})\n`);

    const runs: StallRun[] = [];
    for (const [label, threads] of [
      ['reader thread (default)', '1'],
      ['event loop (SQLITE_READER_THREADS=0)', '0'],
    ] as const) {
      const app = await startInProcessParley(dataDir, { SQLITE_READER_THREADS: threads, SEARCH_TIMEOUT_MS: '600000' });
      try {
        runs.push(await measure(app.url, label, [alice, bob], options.rounds));
      } finally {
        await app.close();
      }
    }
    const base = await floor(2000);
    printTable(
      [
        'searches run in',
        'searches',
        'search p50 ms',
        'search max ms',
        'loop delay p99 ms',
        'loop delay max ms',
        'loop busy',
        '/healthz probes',
        'healthz p50 ms',
        'healthz p99 ms',
        'healthz max ms',
      ],
      runs
        .map((run) => [
          run.label,
          thousands(run.searchMs.length),
          fixed(percentile(run.searchMs, 50)),
          fixed(run.searchMs.at(-1) ?? Number.NaN),
          fixed(run.loopP99Ms, 1),
          fixed(run.loopMaxMs, 1),
          `${fixed(run.utilization * 100, 0)} %`,
          thousands(run.probes),
          fixed(percentile(run.healthMs, 50), 2),
          fixed(percentile(run.healthMs, 99), 2),
          fixed(run.healthMs.at(-1) ?? Number.NaN, 2),
        ])
        .concat([
          [
            'floor: a spinning thread beside an idle loop, no Parley',
            '-',
            '-',
            '-',
            fixed(base.loopP99Ms, 1),
            fixed(base.loopMaxMs, 1),
            `${fixed(base.utilization * 100, 0)} %`,
            '-',
            '-',
            '-',
            '-',
          ],
        ]),
    );
    const [worker, inLoop] = runs as [StallRun, StallRun];
    const stall = worker.loopMaxMs;
    const oldStall = inLoop.loopMaxMs;
    say(
      `  stall of the server's event loop during the searches (longest delay): ${fixed(stall, 1)} ms with the reader thread, ${fixed(oldStall, 1)} ms in the event loop ` +
        `(${fixed(oldStall / stall, 0)}x less); target < 20 ms: ${stall < 20 ? 'met' : 'NOT met'}` +
        ` (this machine's floor, no Parley: ${fixed(base.loopMaxMs, 1)} ms)\n`,
    );
    say(
      "  the prober shares the server's process: on the in-loop path its probes cannot even be sent while a search holds the loop (hence so few), so its round trips say nothing there\n",
    );
    say(`  load average ${loadAverage()}: on a busy machine the loop delay also counts time the OS did not run the idle loop; 'loop busy' (event-loop utilisation) does not\n`);
    say('  one reader thread serves the three searches one after another: the loop is free, a search waits its turn (its time budget counts that wait)\n');
    return worker.probes > 0 && inLoop.searchMs.length > 0;
  } finally {
    if (server) await server.stop();
    removeTempDir(dataDir);
  }
}
