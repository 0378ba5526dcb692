// What the search index costs a send on SQLite (scenario "search-write"): the group-commit writer
// of src/modules/messaging/messaging.sqlite-writer.ts on a file already holding history, turns of 40
// messages (one transaction each), CPU per message on the event loop for
// - "no index": the same writer storing messages that are never indexed (type `system`),
// - "FTS5": the writer as it is (migration 0021: one FTS5 row per message),
// - "token table": the index of migration 0020, one row per token into a token-first B-tree, as the
//   writer wrote it before (replayed here on a copy of that table, same turns, same messages).
// The variants take turns round after round on the same file and the median round is printed,
// with each variant's cost against "no index" measured in the same run. The messages are varied
// sentences (a few thousand English-like words, Zipf-skewed, and runs of common Chinese
// characters): the index's cost depends on how spread its tokens are, the same sentence repeated
// would only ever append.
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import type { NewMessage } from '../src/modules/messaging/messaging.rows.js';
import { createSqliteMessageWriter } from '../src/modules/messaging/messaging.sqlite-writer.js';
import { openDatabase } from '../src/platform/db/database.js';
import { searchFtsRow, searchTokenRows } from '../src/platform/db/search-index.js';
import { fixed, makeTempDir, printTable, removeTempDir, say, thousands } from './lib.js';

export interface SearchWriteOptions {
  /** Messages stored (and indexed both ways) before measuring. */
  history: number;
  /** Messages per variant per round. */
  messages: number;
  rounds: number;
}

const PER_TURN = 40;
const CONVERSATIONS = 100;

function sentences(seed: number) {
  let state = seed;
  const random = () => {
    state = (state * 1103515245 + 12345) & 0x7fffffff;
    return state / 0x7fffffff;
  };
  const words = Array.from({ length: 8000 }, () => Array.from({ length: 3 + Math.floor(random() * 7) }, () => String.fromCharCode(97 + Math.floor(random() * 26))).join(''));
  return () => {
    if (random() < 0.4) return Array.from({ length: 4 + Math.floor(random() * 20) }, () => String.fromCharCode(0x4e00 + Math.floor(random() ** 2 * 3000))).join('');
    return Array.from({ length: 3 + Math.floor(random() * 12) }, () => words[Math.floor(random() ** 3 * words.length)]).join(' ');
  };
}

export async function benchSearchWrite(options: SearchWriteOptions): Promise<boolean> {
  const dir = makeTempDir('parley-bench-search-write-');
  const handle = openDatabase({ kind: 'sqlite', file: path.join(dir, 'parley.db') });
  try {
    await handle.migrate();
    const sqlite = handle.sqlite;
    if (!sqlite) throw new Error('expected SQLite');
    const now = Date.now();
    const addConversation = sqlite.prepare('insert into conversations (id, type, created_at, updated_at) values (?, ?, ?, ?)');
    for (let c = 0; c < CONVERSATIONS; c++) addConversation.run(`g:bench-${c}`, 'group', now, now);
    // The token table of migration 0020 with its lookup index, beside the FTS5 table the server uses now.
    sqlite.exec(`create table legacy_search_tokens (message_id integer not null, token varchar(12) not null, conversation_id varchar(80) not null,
      primary key (message_id, token)) without rowid`);
    const next = sentences(42);
    let sequence = 0;
    const message = (type: string): NewMessage => {
      sequence++;
      return {
        conversation_id: `g:bench-${sequence % CONVERSATIONS}`,
        sender_id: `user-${sequence % 50}`,
        type,
        content: next(),
        client_msg_id: `bench-${sequence}`,
        reply_to_id: null,
        attachments: null,
        created_at: now + sequence,
      };
    };

    // History, indexed both ways.
    const started = performance.now();
    const insert = sqlite.prepare('insert into messages (conversation_id, sender_id, type, content, client_msg_id, created_at) values (?, ?, ?, ?, ?, ?)');
    const fts = sqlite.prepare('insert into message_search_fts (rowid, tokens, conversation) values (?, ?, ?)');
    const legacy = sqlite.prepare('insert into legacy_search_tokens (message_id, token, conversation_id) values (?, ?, ?)');
    let tokens = 0;
    sqlite.transaction(() => {
      for (let i = 0; i < options.history; i++) {
        const m = message('text');
        const id = Number(insert.run(m.conversation_id, m.sender_id, m.type, m.content, m.client_msg_id, m.created_at).lastInsertRowid);
        const row = searchFtsRow({ ...m, id });
        if (row) fts.run(row.rowid, row.tokens, row.conversation);
        for (const token of searchTokenRows({ ...m, id })) {
          legacy.run(token.message_id, token.token, token.conversation_id);
          tokens++;
        }
      }
    })();
    sqlite.exec('create index legacy_search_tokens_lookup on legacy_search_tokens (token, message_id, conversation_id)');
    sqlite.pragma('wal_checkpoint(TRUNCATE)');
    say(
      `  history: ${thousands(options.history)} messages, ${fixed(tokens / options.history)} tokens each, stored and indexed in ${fixed((performance.now() - started) / 1000)} s\n`,
    );

    const writer = createSqliteMessageWriter(sqlite);
    const moveLast = sqlite.prepare('update conversations set last_message_id = ?, updated_at = ? where id = ?');
    // The writer of migration 0020's day: message, conversation, and one row per token, in one transaction per turn.
    const legacyTurn = sqlite.transaction((batch: NewMessage[]) => {
      for (const m of batch) {
        const id = Number(insert.run(m.conversation_id, m.sender_id, m.type, m.content, m.client_msg_id, m.created_at).lastInsertRowid);
        for (const token of searchTokenRows({ ...m, id })) legacy.run(token.message_id, token.token, token.conversation_id);
        moveLast.run(id, m.created_at, m.conversation_id);
      }
    });
    const variants: Record<string, (batch: NewMessage[]) => Promise<unknown>> = {
      'no index': (batch) => Promise.all(batch.map((m) => writer.insert(m))),
      FTS5: (batch) => Promise.all(batch.map((m) => writer.insert(m))),
      'token table': async (batch) => legacyTurn(batch),
    };
    const perMessage = new Map<string, number[]>();
    for (let round = 0; round < options.rounds; round++) {
      for (const [name, run] of Object.entries(variants)) {
        const type = name === 'no index' ? 'system' : 'text';
        const turns = Array.from({ length: Math.ceil(options.messages / PER_TURN) }, () => Array.from({ length: PER_TURN }, () => message(type)));
        const cpu = process.cpuUsage();
        for (const batch of turns) await run(batch);
        const used = process.cpuUsage(cpu);
        perMessage.set(name, [...(perMessage.get(name) ?? []), (used.user + used.system) / (turns.length * PER_TURN)]);
      }
    }
    const median = (list: number[]) => [...list].sort((a, b) => a - b)[Math.floor(list.length / 2)] as number;
    const base = median(perMessage.get('no index') ?? []);
    const fts5 = median(perMessage.get('FTS5') ?? []);
    const rows = [...perMessage].map(([name, list]) => {
      const us = median(list);
      return [name, fixed(us), name === 'no index' ? '-' : fixed(us - base), `${fixed(us / base, 1)}x`, name === 'token table' ? `${fixed((us - base) / (fts5 - base), 1)}x` : '-'];
    });
    printTable(['writer', 'CPU us/message', 'index us/message', 'vs no index', 'index cost vs FTS5'], rows);
    say(`  median of ${options.rounds} rounds of ${thousands(options.messages)} messages per variant, turns of ${PER_TURN} (one transaction each)\n`);
    return rows.length === 3;
  } finally {
    await handle.close();
    removeTempDir(dir);
  }
}
