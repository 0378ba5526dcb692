import { performance } from 'node:perf_hooks';
import type SqliteDatabase from 'better-sqlite3';
import { type Compilable, type Kysely, type Selectable, sql } from 'kysely';
import { UNREAD_COUNT_CAP } from '../../contract/conversations.js';
import { dialectOf } from '../../platform/db/dialect.js';
import { isUniqueViolation } from '../../platform/db/errors.js';
import type { MultiStatementRunner } from '../../platform/db/mysql-multi-statement.js';
import type { ConversationsTable, Database } from '../../platform/db/schema.js';
import { indexMessages, searchFtsMatch, searchIndexKindOf, unindexMessage } from '../../platform/db/search-index.js';
import type { SqliteReaders } from '../../platform/db/sqlite-readers.js';
import { createTimedReader, queryTimeout } from '../../platform/db/time-budget.js';
import type { TimeIdPosition } from '../../shared/pagination.js';
import { containsQuery, queryTokens, UNSEARCHED_TYPES } from '../../shared/search-tokens.js';
import { createPooledMessageWriter } from './messaging.pooled-writer.js';
import type { InsertedMessageRow, MessageRow, NewMessage } from './messaging.rows.js';
import { createSqliteMessageWriter } from './messaging.sqlite-writer.js';

export type ConversationRow = Selectable<ConversationsTable>;

export type { InsertedMessageRow, MessageRow, NewMessage } from './messaging.rows.js';

/** Tokens whose rarity is measured before a search (the rest only narrow the candidates). */
const MAX_PROBED_TOKENS = 8;
/** Tokens a candidate must have besides the driving one; the text check does the rest. */
const MAX_REQUIRED_TOKENS = 4;
/** Index entries a rarity probe reads at most: past it a token counts as common. */
const RARITY_PROBE = 5000;
/** Tokens an FTS5 search (SQLite) requires at once; the text check does the rest. */
const MAX_FTS_TOKENS = 16;
/**
 * Up to this many conversations, an FTS5 search also requires the conversations' words (one OR);
 * past it the join to `messages` filters them. Measured on 200,000 messages in 1,000 conversations:
 * a common word in one conversation takes 0.5 ms with the words and 110 ms without (FTS5 walks the
 * word's postings in every conversation); in 500 conversations the words make it 85-130 ms (an OR
 * of 500 posting lists) against 1 ms without. At 20 both are within 1-2 ms.
 */
const MAX_FTS_CONVERSATIONS = 16;

/**
 * `sqlite`: the embedded database's connection, for the group-committed message writer.
 * `readers`: its reader threads, where a search runs off the event loop.
 * `searchTimeoutMs`: the budget of one search (SEARCH_TIMEOUT_MS), all its statements together.
 */
export function createMessagingRepository(
  db: Kysely<Database>,
  options: { sqlite?: SqliteDatabase.Database; readers?: SqliteReaders; multiStatement?: MultiStatementRunner; searchTimeoutMs?: number } = {},
) {
  const { readers } = options;
  const dialect = dialectOf(db);
  // Both group-commit the messages of one turn; see each for how it keeps a conversation's order.
  if (dialect === 'sqlite' && !options.sqlite) throw new Error('the SQLite messaging repository needs the database connection (options.sqlite)');
  const writer = dialect === 'sqlite' ? createSqliteMessageWriter(options.sqlite as SqliteDatabase.Database) : createPooledMessageWriter(db, dialect, options.multiStatement);
  // The search index: FTS5 on SQLite, the token table elsewhere (src/platform/db/search-index.ts).
  const fts = searchIndexKindOf(db) === 'fts';
  const searchTimeoutMs = options.searchTimeoutMs ?? 2000;
  const timedRead = createTimedReader(db);

  /** A search statement, within what is left of the search's budget. */
  function read<Row>(query: Compilable<Row>, deadline: number): Promise<Row[]> {
    // In a reader thread (with its own budget) when there is one: the same compiled SQL.
    if (readers) {
      if (performance.now() >= deadline) return Promise.reject(queryTimeout(searchTimeoutMs));
      return readers.all<Row>(query.compile());
    }
    return timedRead(query, deadline - performance.now(), searchTimeoutMs);
  }

  /** The old substring scan, for queries with no token. */
  function scanQuery(conversationIds: readonly string[], text: string, beforeId: number | undefined, limit: number) {
    const escaped = text.replace(/[!%_]/g, (ch) => `!${ch}`);
    let query = db
      .selectFrom('messages')
      .selectAll()
      .where('conversation_id', 'in', conversationIds)
      .where('recalled_at', 'is', null)
      // Call and system messages hold structured data (JSON), not words anyone wrote: never a search hit.
      .where('type', 'not in', UNSEARCHED_TYPES)
      .where(sql<boolean>`lower(content) like ${`%${escaped.toLowerCase()}%`} escape '!'`);
    if (beforeId !== undefined) query = query.where('id', '<', beforeId);
    return query.orderBy('id', 'desc').limit(limit);
  }

  /**
   * Candidates: postings of `driving` in the conversations, newest first (the lookup index read
   * backwards), whose message also has each of `required`, joined to the message rows.
   */
  function indexQuery(conversationIds: readonly string[], driving: string, required: readonly string[], beforeId: number | undefined, batch: number) {
    let query = db
      .selectFrom('message_search_tokens as t')
      .innerJoin('messages as m', 'm.id', 't.message_id')
      .selectAll('m')
      .where('t.token', '=', driving)
      .where('t.conversation_id', 'in', conversationIds)
      .where('m.recalled_at', 'is', null)
      .where('m.type', 'not in', UNSEARCHED_TYPES);
    if (beforeId !== undefined) query = query.where('t.message_id', '<', beforeId);
    // Each candidate must hold every required token: one correlated count over its own index rows
    // (primary key: message, token; one row per distinct token), not one EXISTS per token. As
    // EXISTS, PostgreSQL planned each as a join and spent 38 ms choosing the join order of eight
    // tables for a 0.7 ms query (an English word of seven trigrams); the count plans in ~1.5 ms.
    const wanted = [...new Set(required)].filter((token) => token !== driving);
    if (wanted.length > 0) {
      query = query.where(
        (eb) =>
          eb
            .selectFrom('message_search_tokens as r')
            .select((inner) => inner.fn.countAll<number>().as('n'))
            .whereRef('r.message_id', '=', 't.message_id')
            .where('r.token', 'in', wanted),
        '=',
        wanted.length,
      );
    }
    return query.orderBy('t.message_id', 'desc').limit(batch);
  }

  /**
   * SQLite's candidates: FTS5 (migration 0021) intersects the tokens' posting lists itself and
   * walks them newest first (`order by rowid desc` runs backwards in the index), joined to the
   * message rows by id. No rarity probe: FTS5 skips through the longer lists by their own index.
   */
  function ftsQuery(conversationIds: readonly string[], tokens: readonly string[], beforeId: number | undefined, batch: number) {
    const match = searchFtsMatch(tokens.slice(0, MAX_FTS_TOKENS), conversationIds.length <= MAX_FTS_CONVERSATIONS ? conversationIds : []);
    let query = db
      .selectFrom('message_search_fts as f')
      .innerJoin('messages as m', 'm.id', 'f.rowid')
      .selectAll('m')
      .where(sql<boolean>`f.message_search_fts match ${match}`)
      .where('m.conversation_id', 'in', conversationIds)
      .where('m.recalled_at', 'is', null)
      .where('m.type', 'not in', UNSEARCHED_TYPES);
    if (beforeId !== undefined) query = query.where('f.rowid', '<', beforeId);
    return query.orderBy('f.rowid', 'desc').limit(batch);
  }

  /**
   * The query's tokens, rarest first, by their posting counts capped at RARITY_PROBE (each count reads at
   * most that many index entries): the rarest one drives the walk, so a rare word costs its few postings.
   */
  async function byRarity(tokens: string[], deadline: number): Promise<{ order: string[]; absent: boolean }> {
    if (tokens.length === 1) return { order: tokens, absent: false };
    const probed = tokens.slice(0, MAX_PROBED_TOKENS);
    // One statement for all of them (a UNION ALL of capped counts, each tagged by its position):
    // one round trip, where one statement per token cost a round trip each (on PostgreSQL a
    // transaction each, for the statement timeout) and made a longer word slower to search.
    const probe = (token: string, position: number) =>
      db
        .selectFrom(db.selectFrom('message_search_tokens').select('message_id').where('token', '=', token).limit(RARITY_PROBE).as('capped'))
        .select((eb) => [sql.lit(position).as('position'), eb.fn.countAll<number>().as('n')]);
    const query = probed.slice(1).reduce((union, token, i) => union.unionAll(probe(token, i + 1)), probe(probed[0] as string, 0));
    const rows = (await read(query, deadline)) as Array<{ position: number | string; n: number | string }>;
    const counts = rows.map((row) => ({ token: probed[Number(row.position)] as string, n: Number(row.n) }));
    counts.sort((a, b) => a.n - b.n);
    // A token no message holds: no message can hold the text (nothing to walk).
    return { order: [...counts.map((c) => c.token), ...tokens.slice(MAX_PROBED_TOKENS)], absent: counts[0]?.n === 0 };
  }

  return {
    findConversation(id: string): Promise<ConversationRow | undefined> {
      return db.selectFrom('conversations').selectAll().where('id', '=', id).executeTakeFirst();
    },

    /** Creates the private conversation row if it does not exist yet. */
    async ensurePrivateConversation(id: string, userLow: string, userHigh: string, now: number): Promise<void> {
      try {
        await db
          .insertInto('conversations')
          .values({ id, type: 'private', group_id: null, user_low: userLow, user_high: userHigh, last_message_id: null, created_at: now, updated_at: now })
          .execute();
      } catch (error) {
        if (!isUniqueViolation(error)) throw error;
      }
    },

    /**
     * Stores a message and moves the conversation's last message, in one transaction. Returns
     * undefined when `(sender, clientMsgId)` already exists: the caller returns the stored one.
     *
     * The order promise the service's delivery rests on: inserts into one conversation get
     * increasing ids in the order they were called, and resolve in that order. The SQLite writer
     * keeps it by committing in arrival order; the pooled one (MySQL, PostgreSQL) by storing a
     * conversation's batches one after another in its lane, and across processes by locking the
     * conversation rows before drawing ids (messaging.pooled-writer.ts).
     */
    insertMessage(message: NewMessage): Promise<InsertedMessageRow | undefined> {
      return writer.insert(message);
    },

    findByClientMsgId(senderId: string, clientMsgId: string): Promise<MessageRow | undefined> {
      return db.selectFrom('messages').selectAll().where('sender_id', '=', senderId).where('client_msg_id', '=', clientMsgId).executeTakeFirst();
    },

    findMessage(id: number): Promise<MessageRow | undefined> {
      return db.selectFrom('messages').selectAll().where('id', '=', id).executeTakeFirst();
    },

    findMessages(ids: readonly number[]): Promise<MessageRow[]> {
      if (ids.length === 0) return Promise.resolve([]);
      return db.selectFrom('messages').selectAll().where('id', 'in', ids).execute();
    },

    /** A page of history: before `before` newest first, or after `after` oldest first. */
    page(conversationId: string, cursor: { before?: number; after?: number }, limit: number): Promise<MessageRow[]> {
      let query = db.selectFrom('messages').selectAll().where('conversation_id', '=', conversationId);
      if (cursor.after !== undefined) return query.where('id', '>', cursor.after).orderBy('id', 'asc').limit(limit).execute();
      if (cursor.before !== undefined && dialectOf(db) === 'mysql') {
        // MariaDB plans this page as a ref lookup of the conversation read backwards from its newest
        // message, checking `id < before` row by row: in a conversation of 40,000 a page 30,000 back
        // read 30,050 rows, so a page cost what lies after it (bench/growth.ts). The hint makes it
        // a range on (conversation_id, id) that starts at `before`. Raw SQL: Kysely has no index hints.
        return sql<MessageRow>`select * from messages force index (messages_conversation_id)
          where conversation_id = ${conversationId} and id < ${cursor.before} order by id desc limit ${limit}`
          .execute(db)
          .then((result) => result.rows);
      }
      if (cursor.before !== undefined) query = query.where('id', '<', cursor.before);
      return query.orderBy('id', 'desc').limit(limit).execute();
    },

    /** Changes a message; a new content or a recall replaces or drops its search index rows in the same transaction. */
    async updateMessage(id: number, patch: { content?: string; attachments?: string | null; edited_at?: number; recalled_at?: number }): Promise<void> {
      if (patch.content === undefined && patch.recalled_at === undefined) {
        await db.updateTable('messages').set(patch).where('id', '=', id).execute();
        return;
      }
      await db.transaction().execute(async (trx) => {
        await trx.updateTable('messages').set(patch).where('id', '=', id).execute();
        await unindexMessage(trx, id);
        const row = await trx.selectFrom('messages').select(['id', 'conversation_id', 'type', 'content', 'recalled_at']).where('id', '=', id).executeTakeFirst();
        if (row) await indexMessages(trx, [{ ...row, id: Number(row.id) }]);
      });
    },

    async reactionsFor(messageIds: readonly number[]): Promise<Map<number, Array<{ emoji: string; user_id: string }>>> {
      const map = new Map<number, Array<{ emoji: string; user_id: string }>>();
      if (messageIds.length === 0) return map;
      const rows = await db.selectFrom('message_reactions').select(['message_id', 'emoji', 'user_id']).where('message_id', 'in', messageIds).orderBy('created_at').execute();
      for (const row of rows) {
        const id = Number(row.message_id);
        const list = map.get(id) ?? [];
        list.push({ emoji: row.emoji, user_id: row.user_id });
        map.set(id, list);
      }
      return map;
    },

    /** Adds a reaction; false when the user had already reacted with that emoji. */
    async addReaction(messageId: number, userId: string, emoji: string, now: number): Promise<boolean> {
      try {
        await db.insertInto('message_reactions').values({ message_id: messageId, user_id: userId, emoji, created_at: now }).execute();
        return true;
      } catch (error) {
        if (isUniqueViolation(error)) return false;
        throw error;
      }
    },

    async removeReaction(messageId: number, userId: string, emoji: string): Promise<boolean> {
      const result = await db.deleteFrom('message_reactions').where('message_id', '=', messageId).where('user_id', '=', userId).where('emoji', '=', emoji).executeTakeFirst();
      return Number(result.numDeletedRows) > 0;
    },

    /** Moves the user's read position forward (never back); true when it moved. */
    /**
     * Moves the read position forward, never back. No read-then-write: two devices reading the
     * same conversation for the first time at once would both insert (MySQL refused the second
     * with a duplicate key inside the transaction). A conditional update, else an insert, else
     * (someone inserted first) the conditional update again.
     */
    async markRead(conversationId: string, userId: string, messageId: number, now: number): Promise<boolean> {
      const advance = async () => {
        const result = await db
          .updateTable('conversation_reads')
          .set({ last_read_message_id: messageId, updated_at: now })
          .where('conversation_id', '=', conversationId)
          .where('user_id', '=', userId)
          .where('last_read_message_id', '<', messageId)
          .executeTakeFirst();
        return Number(result.numUpdatedRows) > 0;
      };
      if (await advance()) return true;
      try {
        await db.insertInto('conversation_reads').values({ conversation_id: conversationId, user_id: userId, last_read_message_id: messageId, updated_at: now }).execute();
        return true;
      } catch (error) {
        if (!isUniqueViolation(error)) throw error;
        return advance();
      }
    },

    async readPositions(userId: string, conversationIds: readonly string[]): Promise<Map<string, number>> {
      if (conversationIds.length === 0) return new Map();
      const rows = await db
        .selectFrom('conversation_reads')
        .select(['conversation_id', 'last_read_message_id'])
        .where('user_id', '=', userId)
        .where('conversation_id', 'in', conversationIds)
        .execute();
      return new Map(rows.map((row) => [row.conversation_id, Number(row.last_read_message_id)]));
    },

    /** In private conversations: the other user's read position in each (one read for a whole page). */
    async peerReadPositions(userId: string, privateConversationIds: readonly string[]): Promise<Map<string, { userId: string; messageId: number }>> {
      if (privateConversationIds.length === 0) return new Map();
      const rows = await db
        .selectFrom('conversation_reads')
        .select(['conversation_id', 'user_id', 'last_read_message_id'])
        .where('user_id', '!=', userId)
        .where('conversation_id', 'in', privateConversationIds)
        .execute();
      return new Map(rows.map((row) => [row.conversation_id, { userId: row.user_id, messageId: Number(row.last_read_message_id) }]));
    },

    /**
     * The read positions of `userIds` in a conversation, ordered by user id, after `afterUserId`.
     * The caller passes the audience (members the reader may see): at most a group's member limit.
     */
    readPositionsOf(conversationId: string, userIds: readonly string[], afterUserId: string | undefined, limit: number) {
      if (userIds.length === 0) return Promise.resolve([]);
      let query = db
        .selectFrom('conversation_reads')
        .select(['user_id', 'last_read_message_id', 'updated_at'])
        .where('conversation_id', '=', conversationId)
        .where('user_id', 'in', userIds);
      if (afterUserId !== undefined) query = query.where('user_id', '>', afterUserId);
      return query.orderBy('user_id', 'asc').limit(limit).execute();
    },

    /**
     * Messages from others after the read position, not recalled nor system, counted up to UNREAD_COUNT_CAP: the
     * count walks the `(conversation_id, id)` index from the read position and stops at the cap,
     * so the conversation list costs the same at a million unread as at a hundred. A
     * capped count rather than counters maintained on write: sends, recalls, joins and reads
     * need no extra statement, and a user sees "99+" past that anyway. What it still walks past
     * uncapped: the reader's own messages and recalled ones after the read position.
     */
    async unreadCount(conversationId: string, userId: string, afterId: number): Promise<number> {
      const capped = db
        .selectFrom('messages')
        .select('id')
        .where('conversation_id', '=', conversationId)
        .where('id', '>', afterId)
        .where('sender_id', '!=', userId)
        .where('recalled_at', 'is', null)
        // A group's own events (joins, role changes) are history, not news waiting for the reader.
        .where('type', '!=', 'system')
        // No ORDER BY: which 100 does not matter, and an `order by id limit` can tempt MariaDB's
        // planner into walking the primary key across every conversation instead of this index.
        .limit(UNREAD_COUNT_CAP)
        .as('capped');
      const row = await db
        .selectFrom(capped)
        .select((eb) => eb.fn.countAll<number>().as('n'))
        .executeTakeFirst();
      return Number(row?.n ?? 0);
    },

    /** The user's private conversations and those of the given groups, most recently active first. */
    /** The user's conversations, most recently active first, after `before` (the previous page's last). */
    listConversations(userId: string, groupIds: readonly string[], before: TimeIdPosition | undefined, limit: number): Promise<ConversationRow[]> {
      let query = db
        .selectFrom('conversations')
        .selectAll()
        .where((eb) => {
          const mine = [eb('user_low', '=', userId), eb('user_high', '=', userId)];
          if (groupIds.length > 0) mine.push(eb('group_id', 'in', groupIds));
          return eb.or(mine);
        });
      if (before) query = query.where((eb) => eb.or([eb('updated_at', '<', before.at), eb.and([eb('updated_at', '=', before.at), eb('id', '<', before.id)])]));
      return query.orderBy('updated_at', 'desc').orderBy('id', 'desc').limit(limit).execute();
    },

    privateConversationIds(userId: string): Promise<string[]> {
      return db
        .selectFrom('conversations')
        .select('id')
        .where((eb) => eb.or([eb('user_low', '=', userId), eb('user_high', '=', userId)]))
        .execute()
        .then((rows) => rows.map((row) => row.id));
    },

    /**
     * Messages containing `text` (a substring, case-insensitive) in the given conversations, newest
     * first. With tokens (src/shared/search-tokens.ts) it walks the search index from the newest
     * posting of one token, requiring the others (on SQLite FTS5 intersects them all, see ftsQuery),
     * and checks each candidate's text; a query with no token (only pieces under three letters:
     * `in`, `%`) scans the messages as before. Both run within the search time budget: in a reader
     * thread on SQLite, with a server-side statement timeout on MySQL/MariaDB and PostgreSQL
     * (QUERY_TIMEOUT past it).
     */
    async search(conversationIds: readonly string[], text: string, beforeId: number | undefined, limit: number): Promise<MessageRow[]> {
      if (conversationIds.length === 0) return [];
      const deadline = performance.now() + searchTimeoutMs;
      const tokens = queryTokens(text);
      if (tokens.length === 0) return read(scanQuery(conversationIds, text, beforeId, limit), deadline);
      let candidates: (before: number | undefined, batch: number) => Compilable<MessageRow>;
      if (fts) candidates = (before, batch) => ftsQuery(conversationIds, tokens, before, batch);
      else {
        const rarity = await byRarity(tokens, deadline);
        if (rarity.absent) return [];
        const [driving, ...others] = rarity.order;
        candidates = (before, batch) => indexQuery(conversationIds, driving as string, others.slice(0, MAX_REQUIRED_TOKENS), before, batch);
      }
      const found: MessageRow[] = [];
      // Candidates come in batches; a few may hold every token but not the text itself ("abc…bcd" for "abcd").
      const batch = Math.max(2 * limit, 100);
      let before = beforeId;
      for (;;) {
        const rows = await read(candidates(before, batch), deadline);
        for (const row of rows) {
          if (!containsQuery(row.content, text)) continue;
          found.push(row);
          if (found.length === limit) return found;
        }
        if (rows.length < batch) return found;
        before = Number((rows.at(-1) as MessageRow).id);
      }
    },
  };
}

export type MessagingRepository = ReturnType<typeof createMessagingRepository>;
