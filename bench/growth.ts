// Reads as history grows, on every dialect (issue 18): one private conversation holding 10,000, then
// 100,000, then 1,000,000 messages from Bob that Alice has never read, written straight into a
// stopped Parley's database (its SQLite file, or a scratch database on MariaDB and on PostgreSQL) and
// indexed for search as the server indexes what it stores (FTS5 on SQLite, the token table
// elsewhere). At each size a Parley process answers, one request at a time:
//   - search for a rare English word, a rare two-character Chinese word and an absent word;
//   - the conversation list (its unread count walks the history after the read position, capped);
//   - a history page of 50 before a random message;
//   - `sync` after a long absence (since the conversation's first message: a full 500 and truncated).
// HTTP figures are the server's own time (Fastify's responseTime in its log); `sync` is a socket
// event, timed as the ack's round trip on the same host. Targets: p99 under 20 ms at the largest
// size, and the largest size's figure under 3x the smallest's.
//
// The messages are one short chat line (19 index tokens, "see you at the station tomorrow, 明天见"),
// three of them carrying the rare words: lookups of rare and absent words walk few postings whatever
// the history, which is what the index must keep flat; what a common word costs is bounded by the
// search time budget (docs/performance.md).
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import SqliteDatabase from 'better-sqlite3';
import { createConnection } from 'mysql2/promise';
import pg from 'pg';
import { io, type Socket } from 'socket.io-client';
import { createScratchDatabase, databaseKindOf } from '../src/platform/db/scratch-database.js';
import { messageTokens } from '../src/shared/search-tokens.js';
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
import { indexSqliteMessages } from './search-index-fill.js';

export interface GrowthOptions {
  /** Message counts, ascending: each step appends the difference. */
  sizes: number[];
  /** Timed requests per read and size, after `warmup` untimed ones. */
  requests: number;
  warmup: number;
  /** Where to run: 'sqlite', or a MySQL/MariaDB or PostgreSQL server URL (the bench makes and drops a database there). */
  databases: string[];
}

const COMMON = 'see you at the station tomorrow, 明天见';
const RARE = ' xylophone 麒麟';
/** Sequence numbers (1-based) of the messages carrying the rare words: all inside the smallest size. */
const RARE_AT = [7, 5003, 9001];
const PASSWORD = 'bench password 1234';
/** The targets of issue 18. */
const P99_TARGET_MS = 20;
const GROWTH_TARGET = 3;
/** Messages per token-insert statement on MariaDB/PostgreSQL (about 19 rows each). */
const TOKEN_CHUNK = 25_000;

/** One database the scenario writes into; `append` stores and indexes messages `from + 1 .. to` and returns their ids. */
interface GrowthStore {
  label: string;
  serverEnv: Record<string, string>;
  append(conversationId: string, senderId: string, from: number, to: number): Promise<{ firstId: number; lastId: number }>;
  dispose(): Promise<void>;
}

const rareTokens = () => {
  const common = new Set(messageTokens(COMMON));
  return messageTokens(COMMON + RARE).filter((token) => !common.has(token));
};

function sqliteStore(dataDir: string): GrowthStore {
  const file = path.join(dataDir, 'parley.db');
  return {
    label: 'SQLite',
    serverEnv: {},
    async append(conversationId, senderId, from, to) {
      const db = new SqliteDatabase(file);
      let before: number;
      let lastId: number;
      try {
        db.pragma('journal_mode = WAL');
        db.pragma('synchronous = NORMAL');
        before = Number((db.prepare('select coalesce(max(id), 0) as id from messages').get() as { id: number }).id);
        db.prepare(
          `with recursive n(i) as (select ? union all select i + 1 from n where i < ?)
           insert into messages (conversation_id, sender_id, type, content, client_msg_id, reply_to_id, attachments, created_at, edited_at, recalled_at)
           select ?, ?, 'text', ? || case when i in (${RARE_AT.join(',')}) then ? else '' end, 'growth-' || i, null, null, ? + i, null, null from n`,
        ).run(from + 1, to, conversationId, senderId, COMMON, RARE, Date.now() - 10_000_000);
        lastId = Number((db.prepare('select max(id) as id from messages').get() as { id: number }).id);
        db.prepare('update conversations set last_message_id = ?, updated_at = ? where id = ?').run(lastId, Date.now(), conversationId);
      } finally {
        db.close();
      }
      indexSqliteMessages(file, before);
      return { firstId: before + 1, lastId };
    },
    async dispose() {},
  };
}

async function mysqlStore(serverUrl: string): Promise<GrowthStore> {
  const scratch = await createScratchDatabase(serverUrl, `parley_bench_growth_${process.pid}`);
  const common = messageTokens(COMMON);
  const tokenList = common.map(() => 'select ? as token').join(' union all ');
  return {
    label: 'MariaDB',
    serverEnv: { DATABASE_URL: scratch.url },
    async append(conversationId, senderId, from, to) {
      const db = await createConnection({ uri: scratch.url });
      try {
        const [[{ maxId: before }]] = (await db.query('select coalesce(max(id), 0) as maxId from messages')) as unknown as [[{ maxId: number }]];
        // MariaDB's Sequence engine numbers the rows (seq_1_to_N), like generate_series.
        await db.query(
          `insert into messages (conversation_id, sender_id, type, content, client_msg_id, created_at)
           select ?, ?, 'text', concat(?, case when seq in (${RARE_AT.join(',')}) then ? else '' end), concat('growth-', seq), ? + seq from seq_${from + 1}_to_${to}`,
          [conversationId, senderId, COMMON, RARE, Date.now() - 10_000_000],
        );
        const [[{ lastId }]] = (await db.query('select max(id) as lastId from messages')) as unknown as [[{ lastId: number }]];
        for (let start = Number(before); start < lastId; start += TOKEN_CHUNK) {
          await db.query(
            `insert into message_search_tokens (message_id, token, conversation_id)
             select m.id, t.token, m.conversation_id from messages m join (${tokenList}) t where m.id > ? and m.id <= ?`,
            [...common, start, Math.min(start + TOKEN_CHUNK, lastId)],
          );
        }
        await insertRareTokens((sql, params) => db.query(sql, params), Number(before), 'mysql');
        await db.query('update conversations set last_message_id = ?, updated_at = ? where id = ?', [lastId, Date.now(), conversationId]);
        // What InnoDB's background statistics would settle on after a bulk load.
        await db.query('analyze table messages, message_search_tokens');
        return { firstId: Number(before) + 1, lastId: Number(lastId) };
      } finally {
        await db.end();
      }
    },
    dispose: () => scratch.drop(),
  };
}

async function postgresStore(serverUrl: string): Promise<GrowthStore> {
  const scratch = await createScratchDatabase(serverUrl, `parley_bench_growth_${process.pid}`);
  const common = messageTokens(COMMON);
  return {
    label: 'PostgreSQL',
    serverEnv: { DATABASE_URL: scratch.url },
    async append(conversationId, senderId, from, to) {
      const db = new pg.Client({ connectionString: scratch.url });
      await db.connect();
      try {
        const before = Number((await db.query('select coalesce(max(id), 0) as max_id from messages')).rows[0].max_id);
        await db.query(
          `insert into messages (conversation_id, sender_id, type, content, client_msg_id, created_at)
           select $1::text, $2::text, 'text', $3::text || case when seq in (${RARE_AT.join(',')}) then $4::text else '' end, 'growth-' || seq, $5::bigint + seq
           from generate_series($6::bigint, $7::bigint) as seq`,
          [conversationId, senderId, COMMON, RARE, Date.now() - 10_000_000, from + 1, to],
        );
        const lastId = Number((await db.query('select max(id) as last from messages')).rows[0].last);
        for (let start = before; start < lastId; start += TOKEN_CHUNK) {
          await db.query(
            `insert into message_search_tokens (message_id, token, conversation_id)
             select m.id, t.token, m.conversation_id from messages m cross join unnest($1::text[]) as t(token) where m.id > $2 and m.id <= $3`,
            [common, start, Math.min(start + TOKEN_CHUNK, lastId)],
          );
        }
        await insertRareTokens((sql, params) => db.query(sql, params), before, 'postgres');
        await db.query('update conversations set last_message_id = $1, updated_at = $2 where id = $3', [lastId, Date.now(), conversationId]);
        // What autovacuum's analyze would settle on after a bulk load.
        await db.query('analyze messages, message_search_tokens');
        return { firstId: before + 1, lastId };
      } finally {
        await db.end();
      }
    },
    dispose: () => scratch.drop(),
  };
}

/** The rare words' own tokens for the rare messages appended after `before` (MariaDB and PostgreSQL). */
async function insertRareTokens(query: (sql: string, params: unknown[]) => Promise<unknown>, before: number, dialect: 'mysql' | 'postgres'): Promise<void> {
  /** Placeholders for one statement: `?` on MySQL, `$1, $2, ...` on PostgreSQL. */
  const placeholders = () => {
    let n = 0;
    return () => (dialect === 'mysql' ? '?' : `$${++n}`);
  };
  const ids = RARE_AT.map((i) => `growth-${i}`);
  // The rare messages' ids, found by their client ids among the appended ones.
  let next = placeholders();
  const found = await query(`select id, conversation_id from messages where client_msg_id in (${ids.map(() => next()).join(', ')}) and id > ${next()}`, [...ids, before]);
  const list = (Array.isArray(found) ? found[0] : (found as { rows: unknown[] }).rows) as Array<{ id: number | string; conversation_id: string }>;
  const rows = list.flatMap((row) => rareTokens().map((token) => [Number(row.id), token, row.conversation_id]));
  if (rows.length === 0) return;
  next = placeholders();
  const values = rows.map(() => `(${next()}, ${next()}, ${next()})`).join(', ');
  await query(`insert into message_search_tokens (message_id, token, conversation_id) values ${values}`, rows.flat());
}

async function openStore(database: string, dataDir: string): Promise<GrowthStore> {
  if (database === 'sqlite') return sqliteStore(dataDir);
  return databaseKindOf(database) === 'postgres' ? postgresStore(database) : mysqlStore(database);
}

interface Read {
  label: string;
  /** One timed call: resolves to what the server answered, checked by `expect`. */
  run(tag: string): Promise<unknown>;
  expect(answer: unknown): boolean;
  /** True when the server's log line times it (HTTP); false for the socket round trip. */
  logged: boolean;
}

function reads(url: string, token: string, socket: Socket, conversation: { id: string; firstId: number; lastId: number }): Read[] {
  const get = (route: string) => (tag: string) => api<unknown>(url, 'GET', route, undefined, token, { 'x-request-id': tag });
  const search = (label: string, q: string, hits: number): Read => ({
    label: `search: ${label}`,
    run: get(`/messages/search?q=${encodeURIComponent(q)}&limit=50`),
    expect: (answer) => (answer as { items: unknown[] }).items.length === hits,
    logged: true,
  });
  return [
    search('rare English', 'xylophone', RARE_AT.length),
    search('rare Chinese (2 chars)', '麒麟', RARE_AT.length),
    search('absent', 'quetzalcoatl', 0),
    {
      label: 'conversation list (all unread)',
      run: get('/conversations?limit=20'),
      expect: (answer) => (answer as { items: Array<{ unreadCount: number }> }).items[0]?.unreadCount === 100,
      logged: true,
    },
    {
      label: 'history page (50 before a random id)',
      run: (tag) =>
        get(
          `/conversations/${encodeURIComponent(conversation.id)}/messages?limit=50&before=${conversation.firstId + 50 + Math.floor(Math.random() * (conversation.lastId - conversation.firstId - 50))}`,
        )(tag),
      expect: (answer) => (answer as { items: unknown[] }).items.length === 50,
      logged: true,
    },
    {
      label: 'sync after a long absence (socket ack)',
      run: () => socket.emitWithAck('sync', { since: { [conversation.id]: String(conversation.firstId - 1) } }),
      expect: (answer) => {
        const ack = answer as { ok: boolean; data?: { messages: Record<string, unknown[]>; truncated: string[] } };
        return ack.ok && ack.data?.messages[conversation.id]?.length === 500 && ack.data.truncated.includes(conversation.id);
      },
      logged: false,
    },
  ];
}

async function timeRead(server: ServerProcess, read: Read, options: GrowthOptions, tagPrefix: string): Promise<{ times: number[]; wrong: number }> {
  const serverTimes = serverResponseTimes(server, tagPrefix);
  const roundTrips = new Map<string, number>();
  let wrong = 0;
  try {
    for (let i = 0; i < options.warmup + options.requests; i++) {
      const tag = `${tagPrefix}${i}`;
      const started = performance.now();
      const answer = await read.run(tag);
      if (i < options.warmup) continue;
      roundTrips.set(tag, performance.now() - started);
      if (!read.expect(answer)) wrong++;
    }
    const times = read.logged ? await serverTimes.settle([...roundTrips.keys()]) : [...roundTrips.values()].sort((a, b) => a - b);
    return { times, wrong };
  } finally {
    serverTimes.stop();
  }
}

async function benchOneDatabase(database: string, options: GrowthOptions): Promise<{ rows: string[][]; verdicts: string[]; ok: boolean }> {
  const dataDir = makeTempDir('parley-bench-growth-');
  const store = await openStore(database, dataDir);
  let server: ServerProcess | undefined;
  const rows: string[][] = [];
  const figures = new Map<string, Array<{ p50: number; p99: number }>>();
  let wrong = 0;
  try {
    server = await startParleyProcess(dataDir, store.serverEnv);
    const [alice, bob] = (await registerUsers(server.url, 'grow', 2, 2)) as [BenchUser, BenchUser];
    const conversation = await api<{ id: string }>(server.url, 'POST', '/conversations', { peerId: bob.id }, alice.token);
    await server.stop();
    server = undefined;
    let written = 0;
    let firstId = 0;
    for (const size of options.sizes) {
      const started = performance.now();
      const ids = await store.append(conversation.id, bob.id, written, size);
      if (written === 0) firstId = ids.firstId;
      written = size;
      say(`  ${store.label}: ${thousands(size)} messages stored and indexed (${fixed((performance.now() - started) / 1000)} s for this step)\n`);
      server = await startParleyProcess(dataDir, store.serverEnv, `growth-${store.label}`);
      const login = await api<{ accessToken: string }>(server.url, 'POST', '/auth/login', { username: alice.username, password: PASSWORD });
      const socket = io(server.url, { transports: ['websocket'], reconnection: false, auth: { token: login.accessToken } });
      await new Promise<void>((resolve, reject) => {
        socket.once('connect', () => resolve());
        socket.once('connect_error', reject);
      });
      try {
        for (const read of reads(server.url, login.accessToken, socket, { id: conversation.id, firstId, lastId: ids.lastId })) {
          const { times, wrong: wrongAnswers } = await timeRead(server, read, options, `growth-${size}-${rows.length}-`);
          wrong += wrongAnswers;
          const p50 = percentile(times, 50);
          const p99 = percentile(times, 99);
          figures.set(read.label, [...(figures.get(read.label) ?? []), { p50, p99 }]);
          rows.push([store.label, thousands(size), read.label, fixed(p50, 2), fixed(p99, 2), wrongAnswers === 0 ? '' : `${wrongAnswers} wrong`]);
        }
      } finally {
        socket.close();
      }
      await server.stop();
      server = undefined;
    }
    const verdicts: string[] = [];
    let ok = wrong === 0;
    for (const [label, list] of figures) {
      const first = list[0] as { p50: number; p99: number };
      const last = list.at(-1) as { p50: number; p99: number };
      const growth = last.p50 / first.p50;
      const met = last.p99 < P99_TARGET_MS && growth < GROWTH_TARGET;
      verdicts.push(
        `  ${store.label}, ${label}: p99 ${fixed(last.p99, 2)} ms at ${thousands(written)} (target < ${P99_TARGET_MS}), p50 ${fixed(growth, 2)}x and p99 ${fixed(last.p99 / first.p99, 2)}x ` +
          `the ${thousands(options.sizes[0] as number)} figures (target < ${GROWTH_TARGET}x): ${met ? 'met' : 'NOT met'}\n`,
      );
      ok &&= Number.isFinite(growth);
    }
    return { rows, verdicts, ok };
  } finally {
    if (server) await server.stop();
    await store.dispose();
    removeTempDir(dataDir);
  }
}

export async function benchGrowth(options: GrowthOptions): Promise<boolean> {
  if ((options.sizes[0] ?? 0) < Math.max(...RARE_AT)) throw new Error(`the smallest growth size must hold the rare messages: at least ${Math.max(...RARE_AT)}`);
  const rows: string[][] = [];
  const verdicts: string[] = [];
  let ok = true;
  for (const database of options.databases) {
    try {
      const result = await benchOneDatabase(database, options);
      rows.push(...result.rows);
      verdicts.push(...result.verdicts);
      ok &&= result.ok;
    } catch (error) {
      // Reported, and the other databases still run; the scenario fails.
      say(`  ${database}: ${String(error).slice(0, 300)}\n`);
      ok = false;
    }
  }
  printTable(['database', 'messages', 'read', 'p50 ms', 'p99 ms', 'answers'], rows);
  for (const line of verdicts) say(line);
  say(`  ${options.warmup} warm-up requests per read not counted, ${options.requests} timed, one at a time; HTTP times are the server's responseTime, sync the ack round trip\n`);
  return ok;
}
