import path from 'node:path';
import SqliteDatabase from 'better-sqlite3';
import { afterEach, describe, expect, it, vi } from 'vitest';
import type { Message } from '../src/client/index.js';
import type { SqliteReaders } from '../src/platform/db/sqlite-readers.js';
import { openPrivate, type Page, people, sendText } from './support/messaging.js';
import type { TestEnvironment } from './support/server.js';
import { useTestServer } from './support/suite.js';

// About the embedded database's reader threads, so these servers run on SQLite in every pass
// (the MariaDB pass too: there searches use the connection pool, already off the event loop).
const onSqlite = (env: TestEnvironment) => ({ DATABASE_URL: `sqlite://${path.join(env.dataDir, 'search.db')}`, SQLITE_READER_THREADS: '1' });

/**
 * A deliberately slow search: `count` messages of 2,000 'a 's written straight into the database,
 * searched for 99 'a 's then a 'b'. Its pieces are one letter long, so no index token narrows it:
 * it is answered by the scan, and SQLite's LIKE retries the pattern at every position of every
 * row (about 1 ms a row here), so the scan's length is set by the row count, not by luck.
 */
function plantSlowRows(file: string, conversationId: string, senderId: string, count: number): void {
  const db = new SqliteDatabase(file);
  try {
    db.pragma('busy_timeout = 5000');
    db.prepare(
      `with recursive n(i) as (select 1 union all select i + 1 from n where i < ?)
       insert into messages (conversation_id, sender_id, type, content, client_msg_id, reply_to_id, attachments, created_at, edited_at, recalled_at)
       select ?, ?, 'text', replace(printf('%.*c', 2000, 'a'), 'a', 'a '), printf('slow-%d', i), null, null, ?, null, null from n`,
    ).run(count, conversationId, senderId, Date.now());
  } finally {
    db.close();
  }
}
const SLOW_QUERY = `${'a '.repeat(99)}b`;

function search(client: { request: <T>(m: string, p: string) => Promise<T> }, q: string): Promise<Page<Message>> {
  return client.request<Page<Message>>('GET', `/messages/search?q=${encodeURIComponent(q)}`);
}

describe('message search in a reader thread (sqlite)', () => {
  const suite = useTestServer(async (env) => ({ ...onSqlite(env), SEARCH_TIMEOUT_MS: '120000' }));
  const crowd = people(() => suite.server.url);
  afterEach(() => crowd.closeAll());
  const databaseFile = () => path.join(suite.env.dataDir, 'search.db');
  const readers = (): SqliteReaders => {
    const pool = suite.server.app.database.readers;
    if (!pool) throw new Error('the SQLite server has no reader threads');
    return pool;
  };

  it('answers the same results from the reader thread as the in-loop query would', async () => {
    const alice = await crowd.user();
    const bob = await crowd.user();
    const conversationId = await openPrivate(alice.client, bob.id);
    const planted = await sendText(alice.client, conversationId, '我们明天去北京开会, okapi');
    await sendText(bob.client, conversationId, 'nothing to see');
    const before = readers().stats().completed;
    const viaThread = await search(bob.client, '北京');
    expect(readers().stats().completed).toBe(before + 1);
    expect(viaThread.items).toEqual([planted]);
    expect((await search(alice.client, 'OKAPI')).items.map((m) => m.id)).toEqual([planted.id]);
  });

  it('keeps answering other requests while a long search scans: /healthz is served while the query is still running', async () => {
    const alice = await crowd.user();
    const bob = await crowd.user();
    const conversationId = await openPrivate(alice.client, bob.id);
    plantSlowRows(databaseFile(), conversationId, alice.id, 2000);
    const needle = await sendText(alice.client, conversationId, `x${SLOW_QUERY}y`);

    const searching = search(bob.client, SLOW_QUERY);
    await vi.waitFor(() => expect(readers().stats().running).toBe(1), { timeout: 10_000, interval: 5 });
    // Served by the event loop while the scan (seconds long) is still in the reader thread.
    for (let i = 0; i < 5; i++) expect((await suite.api('GET', '/healthz')).status).toBe(200);
    expect(readers().stats().running).toBe(1);
    expect((await searching).items.map((m) => m.id)).toEqual([needle.id]);
    expect(readers().stats().running).toBe(0);
  });
});

describe('message search past its time budget (sqlite)', () => {
  const suite = useTestServer(async (env) => ({ ...onSqlite(env), SEARCH_TIMEOUT_MS: '500' }));
  const crowd = people(() => suite.server.url);
  afterEach(() => crowd.closeAll());
  const databaseFile = () => path.join(suite.env.dataDir, 'search.db');

  it('answers 503 QUERY_TIMEOUT with Retry-After, replaces the reader thread, and the next search works', async () => {
    const alice = await crowd.user();
    const bob = await crowd.user();
    const conversationId = await openPrivate(alice.client, bob.id);
    plantSlowRows(databaseFile(), conversationId, alice.id, 2000);
    const pool = suite.server.app.database.readers as SqliteReaders;

    const res = await suite.api('GET', `/messages/search?q=${encodeURIComponent(SLOW_QUERY)}`, { token: bob.client.accessToken });
    expect(res.status).toBe(503);
    expect(res.body.error.code).toBe('QUERY_TIMEOUT');
    expect(res.headers.get('retry-after')).toBe('1');
    expect(pool.stats()).toMatchObject({ timedOut: 1, threads: 1 });
    expect((await suite.api('GET', '/healthz')).status).toBe(200);

    // Another pair's cheap search, once the fresh reader has opened its connection.
    await vi.waitFor(() => expect(pool.stats().ready).toBe(1), { timeout: 10_000, interval: 5 });
    const carol = await crowd.user();
    const dave = await crowd.user();
    const theirs = await openPrivate(carol.client, dave.id);
    const found = await sendText(carol.client, theirs, 'a quokka smiles');
    expect((await search(dave.client, 'quokka')).items).toEqual([found]);
  });
});
