import { mkdirSync } from 'node:fs';
import path from 'node:path';
import SqliteDatabase from 'better-sqlite3';
import { Kysely, type LogEvent, Migrator, MysqlDialect, SqliteDialect, sql } from 'kysely';
import type { DatabaseConfig } from '../../config.js';
import type { DialectName } from './dialect.js';
import { startBackgroundCheckpoints } from './checkpointer.js';
import { migrationProvider } from './migrations/index.js';
import { createSqliteReaders, type SqliteReaders } from './sqlite-readers.js';
import type { Database } from './schema.js';

export interface DatabaseHandle {
  db: Kysely<Database>;
  dialect: DialectName;
  /** The SQLite connection, for online backups; undefined on MySQL. */
  sqlite?: SqliteDatabase.Database;
  /** Reader threads with their own connections for long reads (search); SQLite files only, when configured. */
  readers?: SqliteReaders;
  /** Applies pending migrations; returns the names applied. */
  migrate(): Promise<string[]>;
  /** Throws when the database cannot answer. */
  ping(): Promise<void>;
  close(): Promise<void>;
}

export function openSqlite(file: string): SqliteDatabase.Database {
  mkdirSync(path.dirname(file), { recursive: true });
  const sqlite = new SqliteDatabase(file);
  // WAL lets readers run beside the writer; NORMAL is durable across process crashes in WAL mode.
  sqlite.pragma('journal_mode = WAL');
  sqlite.pragma('synchronous = NORMAL');
  sqlite.pragma('busy_timeout = 5000');
  sqlite.pragma('foreign_keys = ON');
  return sqlite;
}

/**
 * Kysely's SQLite driver prepares every statement anew on each query; preparing costs more than
 * running most of Parley's queries. Statements are reused here instead (Kysely never streams, so
 * no statement is in use by two queries at once), bounded so ad-hoc SQL cannot grow it forever.
 */
function withStatementCache(sqlite: SqliteDatabase.Database, limit = 500) {
  const statements = new Map<string, SqliteDatabase.Statement>();
  return {
    close: () => sqlite.close(),
    prepare(sqlText: string) {
      let statement = statements.get(sqlText);
      if (!statement) {
        statement = sqlite.prepare(sqlText);
        if (statements.size >= limit) statements.delete(statements.keys().next().value as string);
        statements.set(sqlText, statement);
      }
      return statement;
    },
  };
}

/**
 * Longest a MySQL query may go unanswered (a silently dropped network, a hung server) before it fails
 * with PROTOCOL_SEQUENCE_TIMEOUT (answered 503 UNAVAILABLE). Parley's queries take milliseconds.
 */
const QUERY_TIMEOUT_MS = 15_000;

type MysqlPool = import('kysely').MysqlPool;
type MysqlPoolConnection = import('kysely').MysqlPoolConnection;

/** Kysely's pool with a per-query timeout (mysql2's `timeout` option) on every callback query. */
function withQueryTimeout(pool: import('mysql2').Pool, timeoutMs: () => number | undefined): MysqlPool {
  const raw = pool as unknown as MysqlPool;
  return {
    getConnection(callback) {
      raw.getConnection((error, connection) => {
        if (error || !connection) return callback(error, connection);
        // mysql2 fails a timed-out query but keeps waiting for its answer on the connection, so any
        // later query there would queue behind it forever: such a connection is destroyed, not reused.
        let abandoned = false;
        const timed: MysqlPoolConnection = {
          query: ((sql: string, parameters: unknown[], done?: (error: unknown, result: unknown) => void) => {
            const timeout = timeoutMs();
            const query = (connection.query as unknown as (options: object, values: unknown[], done?: unknown) => unknown).bind(connection);
            if (!done) return query(timeout ? { sql, timeout } : { sql }, parameters);
            return query(timeout ? { sql, timeout } : { sql }, parameters, (queryError: unknown, result: unknown) => {
              if ((queryError as { code?: string } | null)?.code === 'PROTOCOL_SEQUENCE_TIMEOUT') abandoned = true;
              done(queryError, result);
            });
          }) as MysqlPoolConnection['query'],
          release: () => (abandoned ? (connection as unknown as { destroy(): void }).destroy() : connection.release()),
        };
        callback(null, timed);
      });
    },
    end: (callback) => raw.end(callback),
  };
}

export interface OpenDatabaseOptions {
  /** Told when SQLite's background checkpoint thread fails (it then falls back). */
  onBackgroundError?: (message: string) => void;
  /** SQLite: reader threads for long reads and their per-query budget (`threads: 0`, or an in-memory database: none). */
  readers?: { threads: number; timeoutMs: number; onError?: (message: string) => void };
  /** Told of every query through Kysely with its duration (metrics); unset, Kysely logs nothing. */
  onQuery?: (sqlText: string, milliseconds: number, failed: boolean) => void;
}

export function openDatabase(config: DatabaseConfig, options: OpenDatabaseOptions = {}): DatabaseHandle {
  let queryTimeoutMs: number | undefined;
  let sqlite: SqliteDatabase.Database | undefined;
  let checkpoints: { stop(): Promise<void> } | undefined;
  let readers: SqliteReaders | undefined;
  let db: Kysely<Database>;
  const { onQuery } = options;
  const log = onQuery ? (event: LogEvent) => onQuery(event.query.sql, event.queryDurationMillis, event.level === 'error') : undefined;
  if (config.kind === 'sqlite') {
    sqlite = openSqlite(config.file);
    if (!sqlite.memory) checkpoints = startBackgroundCheckpoints(sqlite, options.onBackgroundError ?? (() => {}));
    if (!sqlite.memory && options.readers && options.readers.threads > 0) {
      readers = createSqliteReaders({ file: config.file, ...options.readers });
    }
    db = new Kysely<Database>({ dialect: new SqliteDialect({ database: withStatementCache(sqlite) }), log });
  } else {
    const poolOptions = {
      uri: config.url.replace(/^mariadb:/, 'mysql:'),
      connectionLimit: config.poolSize,
      charset: 'UTF8MB4_BIN',
      timezone: 'Z',
      supportBigNumbers: true,
      bigNumberStrings: false,
      // A database that is down fails fast rather than piling requests up: connecting gives up
      // after 5 s, at most 50 queries per connection wait for one, and (once migrated) a query
      // that gets no answer is abandoned after QUERY_TIMEOUT_MS, its connection dropped.
      connectTimeout: 5000,
      queueLimit: config.poolSize * 50,
      enableKeepAlive: true,
    };
    // mysql2 is imported only when MySQL is configured: an embedded SQLite server need not load it.
    const pool = async () => withQueryTimeout((await import('mysql2')).createPool(poolOptions), () => queryTimeoutMs);
    db = new Kysely<Database>({ dialect: new MysqlDialect({ pool }), log });
  }

  return {
    db,
    dialect: config.kind,
    sqlite,
    readers,
    async migrate() {
      const migrator = new Migrator({ db, provider: migrationProvider });
      const { error, results } = await migrator.migrateToLatest();
      if (error) throw error;
      // Migrations may legitimately run long; everything after them is a short OLTP query.
      queryTimeoutMs = QUERY_TIMEOUT_MS;
      return (results ?? []).filter((r) => r.status === 'Success').map((r) => r.migrationName);
    },
    async ping() {
      await sql`select 1`.execute(db);
    },
    async close() {
      await readers?.close();
      await checkpoints?.stop();
      // Kysely's destroy closes the pool or the SQLite handle (which checkpoints the WAL).
      await db.destroy();
    },
  };
}
