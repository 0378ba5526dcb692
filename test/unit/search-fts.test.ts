import SqliteDatabase from 'better-sqlite3';
import { afterAll, describe, expect, it } from 'vitest';
import { conversationToken, searchFtsMatch, searchFtsRow } from '../../src/platform/db/search-index.js';
import { messageTokens, queryTokens } from '../../src/shared/search-tokens.js';

// SQLite's index (migration 0021) stores the JS-made tokens joined by spaces and lets FTS5's
// `ascii` tokenizer read them back: each must come back as exactly one word, or a search would miss.
describe('SQLite FTS5 search rows', () => {
  const db = new SqliteDatabase(':memory:');
  db.exec("create virtual table message_search_fts using fts5(tokens, conversation, detail=none, columnsize=0, tokenize='ascii')");
  db.exec("create virtual table words using fts5vocab('message_search_fts', 'row')");
  afterAll(() => db.close());
  const texts = [
    'The Walrus said: time has come, superwalrusly!',
    '我们明天去北京开会 下周在Shanghai开会，带上iPhone',
    'Ça coûte 12,50 € — naïve café, Straße, İstanbul, ÀÉÎÕÜ',
    'e\u0301le\u0300ve (combining marks), ﬁnance, Ǆemal, ΣΊΣΥΦΟΣ, Москва',
    '東京タワー とうきょう 서울특별시 ｶﾀｶﾅ ＡＢＣ１２３',
    'مرحبا بالعالم שלום עולם नमस्ते दुनिया ภาษาไทย',
    'emoji 🎉🚀 party👍time, snake_case kebab-case a.b.c x'.repeat(2),
  ];

  it('reads every token of a message back as one word, and finds the message by each', () => {
    const insert = db.prepare('insert into message_search_fts (rowid, tokens, conversation) values (?, ?, ?)');
    texts.forEach((content, i) => {
      const row = searchFtsRow({ id: i + 1, conversation_id: `g:${i}`, type: 'text', content });
      if (!row) throw new Error('expected a row');
      insert.run(row.rowid, row.tokens, row.conversation);
    });
    const stored = new Set(
      db
        .prepare<[], { term: string }>('select term from words')
        .all()
        .map((r) => r.term),
    );
    const find = db.prepare<[string], { rowid: number }>('select rowid from message_search_fts where message_search_fts match ? order by rowid');
    texts.forEach((content, i) => {
      const tokens = messageTokens(content);
      expect(tokens.length).toBeGreaterThan(0);
      for (const token of tokens) {
        expect(stored.has(token), `token ${token}`).toBe(true);
        expect(
          find.all(searchFtsMatch([token])).map((r) => r.rowid),
          `token ${token}`,
        ).toContain(i + 1);
      }
      expect(stored.has(conversationToken(`g:${i}`))).toBe(true);
      // All of a message's tokens at once, within its conversation, and not within another.
      expect(find.all(searchFtsMatch(tokens, [`g:${i}`])).map((r) => r.rowid)).toEqual([i + 1]);
      expect(find.all(searchFtsMatch(tokens, [`g:${i + 100}`, `g:${i + 101}`]))).toEqual([]);
    });
    // Nothing but the tokens and the conversation words: no word split into pieces, none merged.
    const expected = new Set([...texts.flatMap((t) => messageTokens(t)), ...texts.map((_, i) => conversationToken(`g:${i}`))]);
    expect([...stored].sort()).toEqual([...expected].sort());
  });

  it('reads query syntax inside a token as text', () => {
    expect(searchFtsMatch(['a"b', 'AND'])).toBe('"a""b" AND "AND"');
    expect(() => db.prepare('select rowid from message_search_fts where message_search_fts match ?').all(searchFtsMatch(queryTokens('NOT and OR near')))).not.toThrow();
  });

  it('indexes no call, system or recalled message', () => {
    expect(searchFtsRow({ id: 1, conversation_id: 'p:x', type: 'call', content: '{"state":"ended"}' })).toBeUndefined();
    expect(searchFtsRow({ id: 1, conversation_id: 'p:x', type: 'system', content: 'someone joined' })).toBeUndefined();
    expect(searchFtsRow({ id: 1, conversation_id: 'p:x', type: 'text', content: 'gone', recalled_at: 5 })).toBeUndefined();
  });
});
