// History paging (scenario 4): GET /conversations/:id/messages?limit=50&before=<random id> in a
// private conversation of 1,000,000 messages. The rows are written straight into the SQLite file
// of a stopped Parley data dir; the latency is Fastify's own `responseTime` from the server's
// "request completed" log lines, with the client-side round trip beside it.
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
  serverResponseTimes,
  startParleyProcess,
  thousands,
} from './lib.js';

export interface HistoryOptions {
  messages: number;
  requests: number;
  warmup: number;
}

function fill(file: string, conversationId: string, senders: [string, string], count: number): { first: number; last: number; seconds: number } {
  const started = performance.now();
  const db = new SqliteDatabase(file);
  try {
    db.pragma('journal_mode = WAL');
    db.pragma('synchronous = NORMAL');
    const insert = db.prepare(
      'insert into messages (conversation_id, sender_id, type, content, client_msg_id, reply_to_id, attachments, created_at, edited_at, recalled_at) values (?, ?, ?, ?, ?, null, null, ?, null, null)',
    );
    const base = Date.now() - count * 1000;
    let first = 0;
    let last = 0;
    db.transaction(() => {
      for (let i = 0; i < count; i++) {
        const content = `history message ${i}: the quick brown fox jumps over the lazy dog while the bench fills a long conversation`;
        const { lastInsertRowid } = insert.run(conversationId, senders[i % 2], 'text', content, `hist-${i}`, base + i * 1000);
        last = Number(lastInsertRowid);
        if (i === 0) first = last;
      }
      db.prepare('update conversations set last_message_id = ?, updated_at = ? where id = ?').run(last, base + count * 1000, conversationId);
    })();
    return { first, last, seconds: (performance.now() - started) / 1000 };
  } finally {
    db.close();
  }
}

export async function benchHistory(options: HistoryOptions): Promise<boolean> {
  const dataDir = makeTempDir('parley-bench-history-');
  let server: ServerProcess | undefined;
  try {
    server = await startParleyProcess(dataDir);
    const [alice, bob] = (await registerUsers(server.url, 'hist', 2, 2)) as [BenchUser, BenchUser];
    const conversation = await api<{ id: string }>(server.url, 'POST', '/conversations', { peerId: bob.id }, alice.token);
    await server.stop();
    server = undefined;

    const { first, last, seconds } = fill(path.join(dataDir, 'parley.db'), conversation.id, [alice.id, bob.id], options.messages);
    say(`  history: ${thousands(options.messages)} messages written in ${fixed(seconds)} s (one transaction, prepared insert)\n`);

    server = await startParleyProcess(dataDir, {}, 'history');
    const serverTimes = serverResponseTimes(server, 'hist-');
    const url = server.url;
    const route = `/conversations/${encodeURIComponent(conversation.id)}/messages`;
    const clientTimes: number[] = [];
    let short = 0;
    for (let i = 0; i < options.warmup + options.requests; i++) {
      // Any id in the conversation, so most pages are full and spread over the whole index.
      const before = first + 1 + Math.floor(Math.random() * (last - first));
      const started = performance.now();
      const page = await api<{ items: unknown[] }>(url, 'GET', `${route}?limit=50&before=${before}`, undefined, alice.token, { 'x-request-id': `hist-${i}` });
      const elapsed = performance.now() - started;
      if (i < options.warmup) continue;
      clientTimes.push(elapsed);
      if (page.items.length < Math.min(50, before - first)) short++;
    }
    const ids = Array.from({ length: options.requests }, (_, i) => `hist-${i + options.warmup}`);
    const server_ = await serverTimes.settle(ids);
    clientTimes.sort((a, b) => a - b);
    const row = (name: string, times: number[]) => [
      name,
      thousands(times.length),
      fixed(percentile(times, 50), 2),
      fixed(percentile(times, 90), 2),
      fixed(percentile(times, 99), 2),
      fixed(times.at(-1) ?? NaN, 2),
    ];
    printTable(
      ['GET messages?limit=50&before=random', 'requests', 'p50 ms', 'p90 ms', 'p99 ms', 'max ms'],
      [row('server responseTime (Fastify log)', server_), row('client round trip (fetch, same host)', clientTimes)],
    );
    const p99 = percentile(server_, 99);
    say(`  ${options.warmup} warm-up requests not counted; sequential, one at a time; target p99 < 5 ms (server side): ${p99 < 5 ? 'met' : 'NOT met'}\n`);
    if (short > 0) say(`  warning: ${short} pages were shorter than expected\n`);
    if (server_.length < options.requests) say(`  warning: ${options.requests - server_.length} requests had no "request completed" log line\n`);
    return server_.length > 0 && short === 0;
  } finally {
    if (server) await server.stop();
    removeTempDir(dataDir);
  }
}
