// Unread counts as history grows (issue 18): GET /conversations for a user whose conversations hold
// 10,000, then 100,000, then 1,000,000 messages they have not read. The messages are written straight
// into the database of a stopped Parley (SQLite file, or a MariaDB database of its own when
// BENCH_DATABASE_URL is set) and the list is timed by Fastify's own `responseTime` per size; the
// growth ratio (largest against smallest) is the figure to watch: target under 3x.
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

export interface UnreadOptions {
  /** Total unread messages after each step, ascending (each step adds the difference). */
  sizes: number[];
  /** Conversations the unread messages are spread over (one private chat per peer). */
  conversations: number;
  requests: number;
  warmup: number;
  /** mysql://user@host:port (any path is ignored): the bench creates and drops a database of its own there. */
  databaseUrl?: string;
}

interface Store {
  label: string;
  /** DATABASE_URL for the server, or nothing for SQLite in the data dir. */
  serverEnv: Record<string, string>;
  /** Appends `count` messages from the peers, round-robin over the conversations, and moves each conversation's last message. */
  append(conversations: Array<{ id: string; peerId: string }>, from: number, count: number): Promise<void>;
  dispose(): Promise<void>;
}

const content = (i: number) => `unread message ${i}: the quick brown fox jumps over the lazy dog`;

function sqliteStore(dataDir: string): Store {
  return {
    label: 'SQLite',
    serverEnv: {},
    async append(conversations, from, count) {
      const db = new SqliteDatabase(path.join(dataDir, 'parley.db'));
      try {
        db.pragma('journal_mode = WAL');
        db.pragma('synchronous = NORMAL');
        const insert = db.prepare(
          'insert into messages (conversation_id, sender_id, type, content, client_msg_id, reply_to_id, attachments, created_at, edited_at, recalled_at) values (?, ?, ?, ?, ?, null, null, ?, null, null)',
        );
        const touch = db.prepare('update conversations set last_message_id = ?, updated_at = ? where id = ?');
        const now = Date.now();
        db.transaction(() => {
          const last = new Map<string, number>();
          for (let i = from; i < from + count; i++) {
            const chat = conversations[i % conversations.length] as { id: string; peerId: string };
            last.set(chat.id, Number(insert.run(chat.id, chat.peerId, 'text', content(i), `unread-${i}`, now).lastInsertRowid));
          }
          for (const [id, messageId] of last) touch.run(messageId, now, id);
        })();
      } finally {
        db.close();
      }
    },
    async dispose() {},
  };
}

async function mariadbStore(url: string): Promise<Store> {
  const mysql = await import('mysql2/promise');
  const server = new URL(url);
  const name = `parley_bench_unread_${process.pid}`;
  server.pathname = '/';
  const admin = await mysql.createConnection({ uri: server.toString(), multipleStatements: false });
  await admin.query(`create database \`${name}\` character set utf8mb4`);
  server.pathname = `/${name}`;
  const databaseUrl = server.toString();
  return {
    label: 'MariaDB',
    serverEnv: { DATABASE_URL: databaseUrl },
    async append(conversations, from, count) {
      const db = await mysql.createConnection({ uri: databaseUrl });
      try {
        const now = Date.now();
        const batch = 2000;
        for (let start = from; start < from + count; start += batch) {
          const rows: unknown[][] = [];
          for (let i = start; i < Math.min(start + batch, from + count); i++) {
            const chat = conversations[i % conversations.length] as { id: string; peerId: string };
            rows.push([chat.id, chat.peerId, 'text', content(i), `unread-${i}`, now]);
          }
          await db.query('insert into messages (conversation_id, sender_id, type, content, client_msg_id, created_at) values ?', [rows]);
        }
        await db.query('update conversations c set last_message_id = (select max(m.id) from messages m where m.conversation_id = c.id), updated_at = ? where c.id in (?)', [
          now,
          conversations.map((chat) => chat.id),
        ]);
      } finally {
        await db.end();
      }
    },
    async dispose() {
      await admin.query(`drop database if exists \`${name}\``);
      await admin.end();
    },
  };
}

/** Times `GET /conversations` as the reader, server side, after a warm-up. */
async function timeList(server: ServerProcess, reader: BenchUser, options: UnreadOptions, tag: string): Promise<{ times: number[]; unread: number }> {
  const serverTimes = serverResponseTimes(server, tag);
  let unread = 0;
  try {
    for (let i = 0; i < options.warmup + options.requests; i++) {
      const page = await api<{ items: Array<{ unreadCount: number }> }>(server.url, 'GET', `/conversations?limit=${options.conversations}`, undefined, reader.token, {
        'x-request-id': `${tag}${i}`,
      });
      unread = page.items.reduce((sum, item) => sum + item.unreadCount, 0);
    }
    const ids = Array.from({ length: options.requests }, (_, i) => `${tag}${i + options.warmup}`);
    return { times: await serverTimes.settle(ids), unread };
  } finally {
    serverTimes.stop();
  }
}

export async function benchUnread(options: UnreadOptions): Promise<boolean> {
  const dataDir = makeTempDir('parley-bench-unread-');
  const store = options.databaseUrl ? await mariadbStore(options.databaseUrl) : sqliteStore(dataDir);
  let server: ServerProcess | undefined;
  try {
    server = await startParleyProcess(dataDir, store.serverEnv);
    const [reader, ...peers] = await registerUsers(server.url, 'unread', 1 + options.conversations, 4);
    if (!reader) throw new Error('registration failed');
    const conversations: Array<{ id: string; peerId: string }> = [];
    for (const peer of peers) conversations.push({ id: (await api<{ id: string }>(server.url, 'POST', '/conversations', { peerId: peer.id }, reader.token)).id, peerId: peer.id });
    await server.stop();
    server = undefined;

    const rows: string[][] = [];
    const medians: number[] = [];
    const p99s: number[] = [];
    let wrong = 0;
    let written = 0;
    for (const size of options.sizes) {
      const started = performance.now();
      await store.append(conversations, written, size - written);
      written = size;
      say(`  ${store.label}: ${thousands(size)} unread messages in ${conversations.length} conversations (${fixed((performance.now() - started) / 1000)} s to write)\n`);
      server = await startParleyProcess(dataDir, store.serverEnv, 'unread');
      const { times, unread } = await timeList(server, reader, options, `unread-${size}-`);
      await server.stop();
      server = undefined;
      // Every conversation holds far more than the cap: each shows 100 ("99+").
      const expected = conversations.length * Math.min(100, Math.floor(size / conversations.length));
      if (unread !== expected) wrong++;
      medians.push(percentile(times, 50));
      p99s.push(percentile(times, 99));
      rows.push([
        `${thousands(size)} unread`,
        thousands(times.length),
        fixed(percentile(times, 50), 2),
        fixed(percentile(times, 90), 2),
        fixed(percentile(times, 99), 2),
        String(unread),
      ]);
    }
    printTable([`GET /conversations (${store.label}, ${conversations.length} chats)`, 'requests', 'p50 ms', 'p90 ms', 'p99 ms', 'sum of unreadCount'], rows);
    const ratio = (figures: number[]) => (figures.at(-1) ?? NaN) / (figures[0] ?? NaN);
    const growth = ratio(medians);
    say(
      `  growth ${thousands(options.sizes.at(-1) ?? 0)} vs ${thousands(options.sizes[0] ?? 0)}: p50 ${fixed(growth, 2)}x, p99 ${fixed(ratio(p99s), 2)}x ` +
        `(target under 3x: ${growth < 3 ? 'met' : 'NOT met'}); server responseTime from the Fastify log, ${options.warmup} warm-up requests not counted, sequential\n`,
    );
    if (wrong > 0) say(`  warning: ${wrong} sizes answered an unexpected sum of unread counts\n`);
    return wrong === 0;
  } finally {
    if (server) await server.stop();
    await store.dispose();
    removeTempDir(dataDir);
  }
}
