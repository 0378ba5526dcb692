import { type Kysely, sql } from 'kysely';
import { afterEach, describe, expect, it } from 'vitest';
import type { Message } from '../src/client/index.js';
import type { Database } from '../src/platform/db/schema.js';
import { backfillSearchIndex, searchFtsMatch, searchIndexKindOf } from '../src/platform/db/search-index.js';
import { createGroup, expectFailure, openPrivate, type Page, people, sendText } from './support/messaging.js';
import { storageLabel } from './support/server.js';
import { useTestServer } from './support/suite.js';
import { openUpgradeDatabase } from './support/upgrade.js';

type Requester = { request: <T>(m: string, p: string) => Promise<T> };

// The index as stored: the token table (MySQL/MariaDB, PostgreSQL) or the FTS5 table (SQLite, migration 0021).
async function indexedTokens(db: Kysely<Database>, messageId: number): Promise<string[]> {
  if (searchIndexKindOf(db) === 'tokens') {
    return (await db.selectFrom('message_search_tokens').select('token').where('message_id', '=', messageId).execute()).map((r) => r.token).sort();
  }
  const row = await db.selectFrom('message_search_fts').select('tokens').where('rowid', '=', messageId).executeTakeFirst();
  return row ? row.tokens.split(' ').sort() : [];
}
async function indexedMessageCount(db: Kysely<Database>): Promise<number> {
  if (searchIndexKindOf(db) === 'tokens') {
    return Number(
      (
        await db
          .selectFrom('message_search_tokens')
          .select((eb) => eb.fn.count<number>('message_id').distinct().as('n'))
          .executeTakeFirstOrThrow()
      ).n,
    );
  }
  return Number(
    (
      await db
        .selectFrom('message_search_fts')
        .select((eb) => eb.fn.countAll<number>().as('n'))
        .executeTakeFirstOrThrow()
    ).n,
  );
}
async function contentsWithToken(db: Kysely<Database>, token: string): Promise<string[]> {
  const rows =
    searchIndexKindOf(db) === 'tokens'
      ? await db.selectFrom('message_search_tokens as t').innerJoin('messages as m', 'm.id', 't.message_id').select('m.content').where('t.token', '=', token).execute()
      : await db
          .selectFrom('message_search_fts as f')
          .innerJoin('messages as m', 'm.id', 'f.rowid')
          .select('m.content')
          .where(sql<boolean>`f.message_search_fts match ${searchFtsMatch([token])}`)
          .execute();
  return rows.map((r) => r.content);
}
const enc = encodeURIComponent;

function search(client: Requester, q: string, options: { conversationId?: string; cursor?: string; limit?: number } = {}): Promise<Page<Message>> {
  const extra = Object.entries(options)
    .filter(([, value]) => value !== undefined)
    .map(([key, value]) => `&${key}=${enc(String(value))}`)
    .join('');
  return client.request<Page<Message>>('GET', `/messages/search?q=${enc(q)}${extra}`);
}
const ids = (page: Page<Message>) => page.items.map((m) => m.id);

// The same expectations on every set-up (SQLite, MariaDB, PostgreSQL): identical results by construction.
describe(`indexed message search (${storageLabel})`, () => {
  const suite = useTestServer();
  const crowd = people(() => suite.server.url);
  afterEach(() => crowd.closeAll());
  const db = () => suite.server.app.database.db;
  const tokensOf = (messageId: string) => indexedTokens(db(), Number(messageId));

  async function pair() {
    const alice = await crowd.user();
    const bob = await crowd.user();
    const conversationId = await openPrivate(alice.client, bob.id);
    return { alice, bob, conversationId };
  }

  it('finds English words, words inside longer words (substring semantics), and is case-insensitive', async () => {
    const { alice, bob, conversationId } = await pair();
    const walrus = await sendText(alice.client, conversationId, 'The Walrus said: time has come');
    const inside = await sendText(bob.client, conversationId, 'superwalrusly unrelated');
    await sendText(bob.client, conversationId, 'nothing here');
    expect(ids(await search(bob.client, 'walrus'))).toEqual([inside.id, walrus.id]);
    expect(ids(await search(bob.client, 'WALRUS said'))).toEqual([walrus.id]);
    expect(ids(await search(bob.client, 'alru'))).toEqual([inside.id, walrus.id]);
    // Every token present, but not the text itself: no false positive.
    expect(ids(await search(bob.client, 'said walrus'))).toEqual([]);
    expect(ids(await search(bob.client, 'zebra'))).toEqual([]);
    // Pieces under three letters have no token: the scan answers, with the same semantics.
    expect(ids(await search(bob.client, 'us'))).toEqual([inside.id, walrus.id]);
    expect(await tokensOf(walrus.id)).toEqual(expect.arrayContaining(['wal', 'alr', 'lru', 'rus', 'the', 'sai', 'aid', 'tim', 'ime', 'has', 'com', 'ome']));
  });

  it('finds a two-character Chinese word inside a sentence, one Chinese character, and mixed text', async () => {
    const { alice, bob, conversationId } = await pair();
    const beijing = await sendText(alice.client, conversationId, '我们明天去北京开会');
    const mixed = await sendText(bob.client, conversationId, '下周在Shanghai开会，带上iPhone');
    const tokyo = await sendText(bob.client, conversationId, '东京的天气很好');
    expect(ids(await search(bob.client, '北京'))).toEqual([beijing.id]);
    expect(ids(await search(bob.client, '开会'))).toEqual([mixed.id, beijing.id]);
    expect(ids(await search(bob.client, '京'))).toEqual([tokyo.id, beijing.id]);
    expect(ids(await search(bob.client, '明天去北京'))).toEqual([beijing.id]);
    expect(ids(await search(bob.client, '在shanghai开'))).toEqual([mixed.id]);
    expect(ids(await search(bob.client, 'IPHONE'))).toEqual([mixed.id]);
    expect(ids(await search(bob.client, '京开'))).toEqual([beijing.id]);
    expect(ids(await search(bob.client, '上海'))).toEqual([]);
    expect(await tokensOf(beijing.id)).toEqual(['会', '去', '京', '北', '天', '开', '我', '明', '们', '北京', '去北', '天去', '开会', '我们', '明天', '们明', '京开'].sort());
  });

  it('follows edits (old word gone, new word found) and recalls (gone, index rows removed)', async () => {
    const { alice, bob, conversationId } = await pair();
    const message = await sendText(alice.client, conversationId, 'meet at the lighthouse 灯塔');
    expect(ids(await search(bob.client, 'lighthouse'))).toEqual([message.id]);
    await alice.client.request('PATCH', `/messages/${message.id}`, { content: 'meet at the harbour 港口' });
    expect(ids(await search(bob.client, 'lighthouse'))).toEqual([]);
    expect(ids(await search(bob.client, '灯塔'))).toEqual([]);
    expect(ids(await search(bob.client, 'harbour'))).toEqual([message.id]);
    expect(ids(await search(bob.client, '港口'))).toEqual([message.id]);
    expect(await tokensOf(message.id)).not.toContain('lig');
    await alice.client.request('DELETE', `/messages/${message.id}`);
    expect(ids(await search(bob.client, 'harbour'))).toEqual([]);
    expect(await tokensOf(message.id)).toEqual([]);
  });

  it('pages newest first with a cursor, across the index batches', async () => {
    const { alice, bob, conversationId } = await pair();
    const sent: Message[] = [];
    for (let i = 0; i < 7; i++) sent.push(await sendText(i % 2 ? bob.client : alice.client, conversationId, `pelican number ${i}`));
    // Tokens of "pelican" but not the word: candidates the text check drops, between the hits.
    await sendText(alice.client, conversationId, 'pel ica can pelic lican');
    const newestFirst = sent.map((m) => m.id).reverse();
    const first = await search(bob.client, 'pelican', { limit: 3 });
    expect(ids(first)).toEqual(newestFirst.slice(0, 3));
    const second = await search(bob.client, 'pelican', { limit: 3, cursor: first.nextCursor as string });
    expect(ids(second)).toEqual(newestFirst.slice(3, 6));
    const third = await search(bob.client, 'pelican', { limit: 3, cursor: second.nextCursor as string });
    expect(ids(third)).toEqual(newestFirst.slice(6));
    expect(third.nextCursor).toBeNull();
  });

  it("never returns other people's conversations, and filters by conversationId", async () => {
    const { alice, bob, conversationId } = await pair();
    const carol = await crowd.user();
    const dave = await crowd.user();
    const theirs = await openPrivate(carol.client, dave.id);
    const group = await createGroup(alice.client, [{ id: carol.id, client: carol.client }]);
    const mine = await sendText(alice.client, conversationId, 'secret narwhal plan 秘密');
    const foreign = await sendText(carol.client, theirs, 'secret narwhal plan 秘密');
    const inGroup = await sendText(carol.client, group.conversationId, 'narwhal 秘密 in the group');
    expect(ids(await search(bob.client, 'narwhal'))).toEqual([mine.id]);
    expect(ids(await search(bob.client, '秘密'))).toEqual([mine.id]);
    expect(ids(await search(dave.client, 'narwhal'))).toEqual([foreign.id]);
    expect(ids(await search(alice.client, 'narwhal'))).toEqual([inGroup.id, mine.id]);
    expect(ids(await search(alice.client, '秘密', { conversationId: group.conversationId }))).toEqual([inGroup.id]);
    await expectFailure(search(bob.client, 'narwhal', { conversationId: theirs }), 'NOT_FOUND', 404);
  });

  it("searches across many conversations (past the 16 the SQLite index filters by itself) and only the caller's", async () => {
    const { alice, bob, conversationId } = await pair();
    const carol = await crowd.user();
    const sent: Message[] = [await sendText(bob.client, conversationId, 'an okapi in private 霍加狓')];
    for (let i = 0; i < 18; i++) {
      const group = await createGroup(alice.client, [], `zoo ${i}`);
      sent.push(await sendText(alice.client, group.conversationId, `okapi number ${i} 霍加狓`));
    }
    const foreign = await createGroup(carol.client, []);
    await sendText(carol.client, foreign.conversationId, 'okapi not for alice 霍加狓');
    const newestFirst = sent.map((m) => m.id).reverse();
    expect(ids(await search(alice.client, 'okapi', { limit: 50 }))).toEqual(newestFirst);
    expect(ids(await search(alice.client, '霍加狓', { limit: 50 }))).toEqual(newestFirst);
    expect(ids(await search(alice.client, 'okapi', { conversationId }))).toEqual([sent[0]?.id]);
    const first = await search(alice.client, 'okapi number', { limit: 10 });
    expect(ids(first)).toEqual(newestFirst.slice(0, 10));
    expect(ids(await search(alice.client, 'okapi number', { limit: 10, cursor: first.nextCursor as string }))).toEqual(newestFirst.slice(10, 18));
    expect(ids(await search(bob.client, 'okapi'))).toEqual([sent[0]?.id]);
  });

  it("drops a dissolved group's messages from the index", async () => {
    const { alice, bob } = await pair();
    const group = await createGroup(alice.client, [{ id: bob.id, client: bob.client }]);
    const message = await sendText(bob.client, group.conversationId, 'the tapir council 貘');
    expect(await tokensOf(message.id)).toContain('tap');
    await alice.client.request('DELETE', `/groups/${group.id}`);
    expect(await tokensOf(message.id)).toEqual([]);
    expect(ids(await search(bob.client, 'tapir'))).toEqual([]);
  });

  it('indexes messages written before the index existed (the migration backfill)', async () => {
    const { alice, bob, conversationId } = await pair();
    const now = Date.now();
    // Written straight into the table, as an upgraded database holds its history: no index rows yet.
    await db()
      .insertInto('messages')
      .values({
        conversation_id: conversationId,
        sender_id: alice.id,
        type: 'text',
        content: '旧的消息 about an okapi',
        client_msg_id: 'old-1',
        reply_to_id: null,
        attachments: null,
        created_at: now,
      })
      .execute();
    const [old] = await db().selectFrom('messages').select('id').where('client_msg_id', '=', 'old-1').execute();
    const oldId = String(old?.id);
    expect(ids(await search(bob.client, 'okapi'))).toEqual([]);
    await backfillSearchIndex(db(), { afterId: Number(oldId) - 1, batch: 1 });
    expect(ids(await search(bob.client, 'okapi'))).toEqual([oldId]);
    expect(ids(await search(bob.client, '消息'))).toEqual([oldId]);
  });
});

describe(`indexed message search past its time budget (${storageLabel})`, () => {
  const suite = useTestServer({ SEARCH_TIMEOUT_MS: '200' });
  const crowd = people(() => suite.server.url);
  afterEach(() => crowd.closeAll());

  it('answers 503 QUERY_TIMEOUT with Retry-After when a search outlives SEARCH_TIMEOUT_MS, and the next search works', async () => {
    const alice = await crowd.user();
    const bob = await crowd.user();
    const conversationId = await openPrivate(alice.client, bob.id);
    const db = suite.server.app.database.db;
    // A scan the budget cannot cover: one-letter pieces (no token), retried at every position of long rows.
    const row = (i: number) => ({
      conversation_id: conversationId,
      sender_id: alice.id,
      type: 'text',
      content: 'a '.repeat(2000),
      client_msg_id: `slow-${i}`,
      reply_to_id: null,
      attachments: null,
      created_at: Date.now(),
    });
    for (let i = 0; i < 3000; i += 250) {
      await db
        .insertInto('messages')
        .values(Array.from({ length: 250 }, (_, k) => row(i + k)))
        .execute();
    }
    const res = await suite.api('GET', `/messages/search?q=${enc(`${'a '.repeat(99)}b`)}`, { token: bob.client.accessToken });
    expect(res.status).toBe(503);
    expect(res.body.error.code).toBe('QUERY_TIMEOUT');
    expect(res.headers.get('retry-after')).toBe('1');
    const found = await sendText(alice.client, conversationId, 'a quokka smiles');
    // The SQLite reader thread that held the scan is replaced; a search may wait for its successor.
    await expect.poll(async () => ids(await search(bob.client, 'quokka')), { timeout: 10_000, interval: 100 }).toEqual([found.id]);
  });
});

describe(`migration 0020 on an upgraded database (${storageLabel})`, () => {
  it('indexes the history already stored, in batches, when the migration runs', async () => {
    const upgrade = await openUpgradeDatabase();
    const { db, migrator } = upgrade;
    try {
      // The schema as it was before the index, with history in it.
      const before = await migrator.migrateTo('0015_admin');
      expect(before.error).toBeUndefined();
      const now = Date.now();
      await db
        .insertInto('conversations')
        .values({ id: 'p:old', type: 'private', group_id: null, user_low: null, user_high: null, last_message_id: null, created_at: now, updated_at: now })
        .execute();
      const contents = Array.from({ length: 2500 }, (_, i) => (i === 7 ? '去年我们在北京见过 okapi' : i === 2400 ? 'call me maybe' : `old line ${i}`));
      for (let i = 0; i < contents.length; i += 500) {
        await db
          .insertInto('messages')
          .values(
            contents.slice(i, i + 500).map((content, k) => ({
              conversation_id: 'p:old',
              sender_id: 'someone',
              type: i + k === 2400 ? 'call' : 'text',
              content,
              client_msg_id: `old-${i + k}`,
              reply_to_id: null,
              attachments: null,
              created_at: now,
            })),
          )
          .execute();
      }
      const after = await migrator.migrateToLatest();
      expect(after.error).toBeUndefined();
      expect(after.results?.map((r) => r.migrationName)).toEqual(expect.arrayContaining(['0020_search_index', '0021_sqlite_search_fts']));
      // Every text message (past the first batch of 2,000 too), not the call record.
      expect(await indexedMessageCount(db)).toBe(2499);
      expect(await contentsWithToken(db, '北京')).toEqual(['去年我们在北京见过 okapi']);
    } finally {
      await upgrade.close();
    }
  });
});
