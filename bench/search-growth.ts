// Search as history grows (issue 18): one private conversation of 10,000, then 100,000 (then
// 1,000,000: BENCH_SEARCH_GROWTH_SIZES) messages written straight into a stopped Parley's SQLite
// file and indexed (bench/search-index-fill.ts), then GET /messages/search timed per size for a
// rare English word, a rare two-character Chinese word and an absent word, each found through the
// index (message_search_fts, FTS5 on SQLite). Beside it, the scan the index replaced (the old substring LIKE,
// run directly on the file, no HTTP) on the same rows: the ratio is what the index saves, the
// growth (largest size against smallest) is the figure to watch: target under 3x.
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import SqliteDatabase from 'better-sqlite3';
import {
  api,
  type BenchUser,
  fixed,
  makeTempDir,
  percentile,
  printTable,
  registerUsers,
  removeTempDir,
  type ServerProcess,
  say,
  startInProcessParley,
  startParleyProcess,
  thousands,
} from './lib.js';
import { indexSqliteMessages } from './search-index-fill.js';

export interface SearchGrowthOptions {
  sizes: number[];
  requests: number;
}

const QUERIES = [
  ['rare English', 'xylophone'],
  ['rare Chinese (2 chars)', '麒麟'],
  ['absent', 'quetzalcoatl'],
] as const;

/** Appends messages `from + 1 .. to` (a rare word in 3 of them, spread over the history). */
function append(file: string, conversationId: string, senders: [string, string], from: number, to: number): void {
  const db = new SqliteDatabase(file);
  try {
    db.pragma('journal_mode = WAL');
    db.pragma('synchronous = NORMAL');
    db.prepare(
      `with recursive n(i) as (select ? union all select i + 1 from n where i < ?)
       insert into messages (conversation_id, sender_id, type, content, client_msg_id, reply_to_id, attachments, created_at, edited_at, recalled_at)
       select ?, case i % 2 when 0 then ? else ? end, 'text',
              'growth message ' || i || ': the quick brown fox jumps over the lazy dog, 我们明天去北京开会' ||
                case when i in (7, 5003, 9001) then ' xylophone 麒麟' else '' end,
              'growth-' || i, null, null, ? + i, null, null from n`,
    ).run(from + 1, to, conversationId, senders[0], senders[1], Date.now() - 10_000_000 + from);
    db.prepare('update conversations set last_message_id = (select max(id) from messages), updated_at = ? where id = ?').run(Date.now(), conversationId);
  } finally {
    db.close();
  }
}

/** The search the index replaced: the substring scan, as the repository ran it (ms per run). */
function timeScan(file: string, conversationId: string, q: string, runs: number): number[] {
  const db = new SqliteDatabase(file, { readonly: true });
  try {
    const statement = db.prepare(
      `select * from messages where conversation_id in (?) and recalled_at is null and type not in ('call', 'system')
       and lower(content) like ? escape '!' order by id desc limit 51`,
    );
    const times: number[] = [];
    for (let i = 0; i < runs; i++) {
      const started = performance.now();
      statement.all(conversationId, `%${q.toLowerCase()}%`);
      times.push(performance.now() - started);
    }
    return times.sort((a, b) => a - b);
  } finally {
    db.close();
  }
}

export async function benchSearchGrowth(options: SearchGrowthOptions): Promise<boolean> {
  const dataDir = makeTempDir('parley-bench-search-growth-');
  const file = path.join(dataDir, 'parley.db');
  let server: ServerProcess | undefined;
  try {
    server = await startParleyProcess(dataDir);
    const [alice, bob] = (await registerUsers(server.url, 'growth', 2, 2)) as [BenchUser, BenchUser];
    const conversation = await api<{ id: string }>(server.url, 'POST', '/conversations', { peerId: bob.id }, alice.token);
    await server.stop();
    server = undefined;
    const rows: string[][] = [];
    const p99s = new Map<string, number[]>();
    let written = 0;
    for (const size of options.sizes) {
      append(file, conversation.id, [alice.id, bob.id], written, size);
      written = size;
      // Index from scratch each step (the bench's bulk load; a live server indexes as it stores).
      new SqliteDatabase(file).exec('delete from message_search_fts').close();
      const indexed = indexSqliteMessages(file);
      say(`  ${thousands(size)} messages: ${thousands(indexed.tokens)} index rows built in ${fixed(indexed.seconds)} s\n`);
      const app = await startInProcessParley(dataDir, { SEARCH_TIMEOUT_MS: '600000' });
      try {
        for (const [label, q] of QUERIES) {
          const times: number[] = [];
          let hits = 0;
          for (let i = 0; i < options.requests + 5; i++) {
            const started = performance.now();
            const page = await api<{ items: unknown[] }>(app.url, 'GET', `/messages/search?q=${encodeURIComponent(q)}&limit=50`, undefined, bob.token);
            if (i >= 5) times.push(performance.now() - started);
            hits = page.items.length;
          }
          times.sort((a, b) => a - b);
          const scan = timeScan(file, conversation.id, q, size >= 1_000_000 ? 3 : 10);
          const p99 = percentile(times, 99);
          p99s.set(label, [...(p99s.get(label) ?? []), p99]);
          const scanP50 = percentile(scan, 50);
          rows.push([thousands(size), label, String(hits), fixed(percentile(times, 50), 2), fixed(p99, 2), fixed(scanP50, 1), `${fixed(scanP50 / percentile(times, 50), 0)}x`]);
        }
      } finally {
        await app.close();
      }
    }
    printTable(['messages', 'query', 'hits', 'indexed p50 ms', 'indexed p99 ms', 'old scan p50 ms', 'scan / indexed'], rows);
    for (const [label, list] of p99s) {
      const growth = (list.at(-1) as number) / (list[0] as number);
      say(
        `  ${label}: p99 at ${thousands(written)} is ${fixed(growth, 2)}x the p99 at ${thousands(options.sizes[0] as number)} (target < 3x: ${growth < 3 ? 'met' : 'NOT met'})\n`,
      );
    }
    say('  indexed times are whole HTTP requests to an in-process server (auth, reader thread, JSON); the scan is the bare SQL statement\n');
    return rows.length > 0;
  } finally {
    if (server) await server.stop();
    removeTempDir(dataDir);
  }
}
