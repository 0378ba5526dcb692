import { mkdirSync } from 'node:fs';
import path from 'node:path';
import SqliteDatabase from 'better-sqlite3';
import { Kysely, type LogEvent, Migrator, MysqlDialect, PostgresDialect, SqliteDialect, sql } from 'kysely';
import type { DatabaseConfig } from '../../config.js';
import { startBackgroundCheckpoints } from './checkpointer.js';
import type { DialectName } from './dialect.js';
import { POOL_QUEUE_FULL } from './errors.js';
import { migrationProvider } from './migrations/index.js';
import { createMultiStatementRunner, type MultiStatementRunner } from './mysql-multi-statement.js';
import type { Database } from './schema.js';
import { createSqliteReaders, type SqliteReaders } from './sqlite-readers.js';

export interface DatabaseHandle {
  db: Kysely<Database>;
  dialect: DialectName;
  /** The SQLite connection, for online backups; undefined on MySQL and PostgreSQL. */
  sqlite?: SqliteDatabase.Database;
  /** Reader threads with their own connections for long reads (search); SQLite files only, when configured. */
  readers?: SqliteReaders;
  /** MySQL/MariaDB only: statements sent together in one round trip (the message writer's transaction). */
  multiStatement?: MultiStatementRunner;
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
 * Longest a MySQL or PostgreSQL query may go unanswered (a silently dropped network, a hung server) before it fails
 * with PROTOCOL_SEQUENCE_TIMEOUT (answered 503 UNAVAILABLE). Parley's queries take milliseconds.
 */
const QUERY_TIMEOUT_MS = 15_000;

/**
 * Lanes of the production message writer (messaging.pooled-writer.ts), each with one batch in flight.
 * One: the fan-out bench (2026-12-08, alternating runs) passed 900-1,200 msg/s with one lane against
 * 650-800 with four, on MariaDB and PostgreSQL alike. With fewer lanes each batch holds more
 * messages, so the database commits (and syncs its log) fewer times per message, on the same cores.
 */
export const MESSAGE_WRITER_LANES = 1;

/** Connections for statements sent together: one per lane of the message writer, which runs one batch per lane at a time. */
const MULTI_STATEMENT_CONNECTIONS = MESSAGE_WRITER_LANES;

type MysqlPool = import('kysely').MysqlPool;
type MysqlPoolConnection = import('kysely').MysqlPoolConnection;

/** mysql2's message for a query refused because `queueLimit` queries already wait for a connection (lib/base/pool.js). */
const MYSQL_QUEUE_FULL_MESSAGE = 'Queue limit reached.';

/** Kysely's pool with a per-query timeout (mysql2's `timeout` option) on every callback query. */
function withQueryTimeout(pool: import('mysql2').Pool, timeoutMs: () => number | undefined): MysqlPool {
  const raw = pool as unknown as MysqlPool;
  return {
    getConnection(callback) {
      raw.getConnection((error, connection) => {
        // mysql2 refuses a query past `queueLimit` waiting ones with a plain Error (no code): tagged
        // here so an overloaded server answers UNAVAILABLE (retry shortly), not INTERNAL.
        if (error && !(error as { code?: unknown }).code && (error as Error).message === MYSQL_QUEUE_FULL_MESSAGE) Object.assign(error, { code: POOL_QUEUE_FULL });
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

type PostgresPool = import('kysely').PostgresPool;
type PostgresPoolClient = import('kysely').PostgresPoolClient;

/** pg's OID for int8 (BIGINT, COUNT(*)): pg returns it as a string by default. */
const PG_INT8_OID = 20;

/**
 * pg errors without a SQLSTATE are the connection's, not the query's: a dropped or refused
 * connection, a connect or query timeout. They get a code the HTTP and socket layers answer with
 * UNAVAILABLE, as mysql2's PROTOCOL_* codes are.
 */
function asConnectionError(error: unknown): unknown {
  if (error instanceof Error && !(error as { code?: unknown }).code) Object.assign(error, { code: 'PG_CONNECTION_ERROR' });
  return error;
}

/**
 * A pg pool seen through Kysely's PostgresPool interface, with the same per-query timeout as the
 * MySQL one: pg's `query_timeout` fails the query but leaves it running on its connection, so that
 * connection is destroyed on release rather than reused.
 */
function postgresPool(pool: import('pg').Pool, timeoutMs: () => number | undefined, onCheckedOutError?: (message: string) => void): PostgresPool {
  return {
    async connect(): Promise<PostgresPoolClient> {
      const client = await pool.connect().catch((error: unknown) => {
        throw asConnectionError(error);
      });
      let broken = false;
      // pg listens for a client's 'error' only while it idles in the pool. A connection that drops
      // while checked out but between queries (inside a transaction, say) would otherwise emit an
      // unhandled 'error' and end the process; here it only marks the client broken, and the next
      // query on it fails with a connection error (answered UNAVAILABLE).
      const onError = (error: Error) => {
        broken = true;
        onCheckedOutError?.(error.message);
      };
      client.on('error', onError);
      return {
        query: (async (text: string, values: unknown[]) => {
          const timeout = timeoutMs();
          // pg reads `query_timeout` from a query's config too (its types only list it for the client).
          const config: import('pg').QueryConfig = timeout ? ({ text, values, query_timeout: timeout } as import('pg').QueryConfig) : { text, values };
          try {
            return await client.query(config);
          } catch (error) {
            if (!(error as { code?: unknown }).code) broken = true;
            throw asConnectionError(error);
          }
        }) as unknown as PostgresPoolClient['query'],
        release: () => {
          client.off('error', onError);
          client.release(broken);
        },
      };
    },
    end: () => pool.end(),
  };
}

export interface OpenDatabaseOptions {
  /** Told when SQLite's background checkpoint thread fails (it then falls back). */
  onBackgroundError?: (message: string) => void;
  /** Told when an idle PostgreSQL connection drops (the pool replaces it on the next query). */
  onConnectionLost?: (message: string) => void;
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
  let multiStatement: MultiStatementRunner | undefined;
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
  } else if (config.kind === 'postgres') {
    const pool = async () => {
      // pg is imported only when PostgreSQL is configured, like mysql2.
      const pg = (await import('pg')).default;
      const raw = new pg.Pool({
        connectionString: config.url.replace(/^postgresql:/, 'postgres:'),
        max: config.poolSize,
        // Parley's timestamps and ids are BIGINT well inside 2^53: numbers, as on the other dialects.
        types: {
          getTypeParser: ((oid: number, format?: 'text' | 'binary') => (oid === PG_INT8_OID ? Number : pg.types.getTypeParser(oid, format))) as typeof pg.types.getTypeParser,
        },
        // Fail fast when the database is down, as on MySQL: connecting gives up after 5 s.
        connectionTimeoutMillis: 5000,
        keepAlive: true,
        client_encoding: 'UTF8',
      });
      // An idle connection that drops (the server restarts, the network cuts) is reported here;
      // without a listener the pool's 'error' event would end the process. The next query reconnects.
      raw.on('error', (error) => options.onConnectionLost?.(error.message));
      return postgresPool(raw, () => queryTimeoutMs, options.onConnectionLost);
    };
    db = new Kysely<Database>({ dialect: new PostgresDialect({ pool }), log });
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
    multiStatement = createMultiStatementRunner({ poolOptions, connections: MULTI_STATEMENT_CONNECTIONS, timeoutMs: () => queryTimeoutMs, onQuery });
  }

  return {
    db,
    dialect: config.kind,
    sqlite,
    readers,
    multiStatement,
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
      await multiStatement?.close();
      await checkpoints?.stop();
      // Kysely's destroy closes the pool or the SQLite handle (which checkpoints the WAL).
      await db.destroy();
    },
  };
}
