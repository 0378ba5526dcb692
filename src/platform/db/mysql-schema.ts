import {
  type CompiledQuery,
  type DatabaseConnection,
  type Dialect,
  type Driver,
  Kysely,
  MysqlAdapter,
  MysqlIntrospector,
  MysqlQueryCompiler,
  PostgresAdapter,
  PostgresIntrospector,
  PostgresQueryCompiler,
  type QueryResult,
  sql,
} from 'kysely';
import { migrations } from './migrations/index.js';

/** Kysely's Migrator bookkeeping tables (kysely/dist/esm/migration/migrator.js); not part of Parley's own schema. */
export const MIGRATION_TABLE = 'kysely_migration';
export const MIGRATION_LOCK_TABLE = 'kysely_migration_lock';

/**
 * A driver that executes nothing: each connection keeps the SQL it was asked to run. Migrations are
 * plain DDL, so nothing they do depends on a query's answer.
 */
class RecordingDriver implements Driver {
  readonly statements: string[] = [];

  async init(): Promise<void> {}

  async acquireConnection(): Promise<DatabaseConnection> {
    const statements = this.statements;
    return {
      async executeQuery<R>(query: CompiledQuery): Promise<QueryResult<R>> {
        // A migration's reads (0020's backfill of existing messages) find nothing in a fresh schema: not part of it.
        if (/^select /i.test(query.sql)) return { rows: [] };
        // A parameter would be lost in a text file: DDL must compile to literals only.
        if (query.parameters.length > 0) {
          throw new Error(`cannot record a statement with parameters: ${query.sql}`);
        }
        statements.push(query.sql);
        return { rows: [] };
      },
      streamQuery(): never {
        throw new Error('the schema recorder does not stream');
      },
    };
  }

  async beginTransaction(): Promise<void> {}
  async commitTransaction(): Promise<void> {}
  async rollbackTransaction(): Promise<void> {}
  async releaseConnection(): Promise<void> {}
  async destroy(): Promise<void> {}
}

/**
 * Lays `create table x (a ..., b ..., ...) options` out one column per line. Only commas at the
 * first parenthesis level split, and never inside a quoted default.
 */
export function formatStatement(statement: string): string {
  if (!/^create table /i.test(statement)) return statement;
  const open = statement.indexOf('(');
  let depth = 0;
  let quote: string | undefined;
  let current = '';
  const parts: string[] = [];
  for (let i = open + 1; i < statement.length; i++) {
    const ch = statement.charAt(i);
    if (quote) {
      current += ch;
      // MySQL and PostgreSQL escape a quote inside a literal by doubling it.
      if (ch === quote && statement.charAt(i + 1) === quote) current += statement.charAt(++i);
      else if (ch === quote) quote = undefined;
      continue;
    }
    if (ch === "'" || ch === '`' || ch === '"') quote = ch;
    else if (ch === '(') depth++;
    else if (ch === ')' && depth === 0) {
      parts.push(current.trim());
      const rest = statement.slice(i + 1).trim();
      return `${statement.slice(0, open).trimEnd()} (\n${parts.map((part) => `  ${part}`).join(',\n')}\n)${rest ? ` ${rest}` : ''}`;
    } else if (ch === ')') depth--;
    else if (ch === ',' && depth === 0) {
      parts.push(current.trim());
      current = '';
      continue;
    }
    current += ch;
  }
  return statement;
}

/**
 * Statements that give a hand-made schema the same migration bookkeeping the Migrator writes, so a
 * server started on it finds every migration applied instead of failing on `create table users`.
 * The table definitions mirror Kysely's Migrator.
 */
async function recordBookkeeping(db: Kysely<unknown>, dialect: SchemaDialect, names: string[]): Promise<void> {
  await db.schema
    .createTable(MIGRATION_TABLE)
    .ifNotExists()
    .addColumn('name', 'varchar(255)', (col) => col.notNull().primaryKey())
    .addColumn('timestamp', 'varchar(255)', (col) => col.notNull())
    .execute();
  await db.schema
    .createTable(MIGRATION_LOCK_TABLE)
    .ifNotExists()
    .addColumn('id', 'varchar(255)', (col) => col.notNull().primaryKey())
    .addColumn('is_locked', 'integer', (col) => col.notNull().defaultTo(0))
    .execute();
  await sql`insert into ${sql.table(MIGRATION_LOCK_TABLE)} (${sql.ref('id')}, ${sql.ref('is_locked')}) values (${sql.lit('migration_lock')}, 0)`.execute(db);
  // The Migrator stores the run time as an ISO-8601 string; record when the operator applied the file.
  const now = dialect === 'mysql' ? sql`date_format(utc_timestamp(3), '%Y-%m-%dT%H:%i:%s.%fZ')` : sql`to_char(now() at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"')`;
  const rows = names.map((name) => sql`(${sql.lit(name)}, ${now})`);
  if (rows.length > 0) {
    await sql`insert into ${sql.table(MIGRATION_TABLE)} (${sql.ref('name')}, ${sql.ref('timestamp')}) values ${sql.join(rows)}`.execute(db);
  }
}

export type SchemaDialect = 'mysql' | 'postgres';

/** A Kysely dialect that compiles `dialect`'s SQL and hands it to `driver` instead of a server. */
function recordingDialect(dialect: SchemaDialect, driver: Driver): Dialect {
  if (dialect === 'postgres') {
    return {
      createAdapter: () => new PostgresAdapter(),
      createDriver: () => driver,
      createIntrospector: (kysely) => new PostgresIntrospector(kysely),
      createQueryCompiler: () => new PostgresQueryCompiler(),
    };
  }
  return {
    createAdapter: () => new MysqlAdapter(),
    createDriver: () => driver,
    createIntrospector: (kysely) => new MysqlIntrospector(kysely),
    createQueryCompiler: () => new MysqlQueryCompiler(),
  };
}

/** Every statement of the schema for `dialect`, in order: each migration's `up`, then the migration bookkeeping. */
export async function schemaStatements(dialect: SchemaDialect): Promise<string[]> {
  const driver = new RecordingDriver();
  const db = new Kysely<unknown>({ dialect: recordingDialect(dialect, driver) });
  // The Migrator runs migrations sorted by name; so does this.
  const names = Object.keys(migrations).sort();
  try {
    for (const name of names) await migrations[name]?.up(db);
    await recordBookkeeping(db, dialect, names);
  } finally {
    await db.destroy();
  }
  return driver.statements;
}

/** Every statement of the MySQL schema, in order. */
export function mysqlSchemaStatements(): Promise<string[]> {
  return schemaStatements('mysql');
}

/** The text of `sql/create.sql`. */
export async function mysqlSchemaSql(): Promise<string> {
  const statements = await mysqlSchemaStatements();
  const header = [
    '-- Parley schema for MySQL 5.7+ / MariaDB 10.3+, for operators who create tables by hand.',
    '-- Generated from src/platform/db/migrations by `npm run db:schema`: do not edit, regenerate.',
    '-- Apply to an empty utf8mb4 database: mysql --default-character-set=utf8mb4 parley < sql/create.sql',
    `-- The last statements fill Kysely's ${MIGRATION_TABLE} tables, so Parley sees these migrations as applied.`,
  ];
  return `${header.join('\n')}\n\n${statements.map((statement) => `${formatStatement(statement)};`).join('\n\n')}\n`;
}

/** The text of `sql/create.postgres.sql`. */
export async function postgresSchemaSql(): Promise<string> {
  const statements = await schemaStatements('postgres');
  const header = [
    '-- Parley schema for PostgreSQL 12+, for operators who create tables by hand.',
    '-- Generated from src/platform/db/migrations by `npm run db:schema`: do not edit, regenerate.',
    '-- Apply to an empty UTF8 database (see docs/configuration.md): psql -v ON_ERROR_STOP=1 -1 -d parley -f sql/create.postgres.sql',
    `-- The last statements fill Kysely's ${MIGRATION_TABLE} tables, so Parley sees these migrations as applied.`,
  ];
  return `${header.join('\n')}\n\n${statements.map((statement) => `${formatStatement(statement)};`).join('\n\n')}\n`;
}
