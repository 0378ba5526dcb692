import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { type Connection, createConnection, type RowDataPacket } from 'mysql2/promise';
import pg from 'pg';
import { describe, expect, it } from 'vitest';
import { openDatabase } from '../src/platform/db/database.js';
import { mysqlSchemaSql, postgresSchemaSql } from '../src/platform/db/mysql-schema.js';
import { REPO_ROOT } from './support/scripts.js';
import { createScratchDatabase, TEST_DATABASE_KIND, TEST_DATABASE_URL } from './support/server.js';

const CREATE_SQL = path.join(REPO_ROOT, 'sql', 'create.sql');
const CREATE_POSTGRES_SQL = path.join(REPO_ROOT, 'sql', 'create.postgres.sql');

/** `table → column names` as sql/create.sql declares them (one column per line, see formatStatement). */
function tablesInCreateSql(text: string): Map<string, string[]> {
  const tables = new Map<string, string[]>();
  for (const match of text.matchAll(/^create table (?:if not exists )?`([^`]+)` \(\n([\s\S]*?)\n\)/gm)) {
    const columns = [...(match[2] ?? '').matchAll(/^ {2}`([^`]+)`/gm)].map((column) => column[1] ?? '');
    tables.set(match[1] ?? '', columns);
  }
  // Columns later migrations add to an existing table come last, in migration order.
  for (const match of text.matchAll(/^alter table `([^`]+)` add column `([^`]+)`/gm)) tables.get(match[1] ?? '')?.push(match[2] ?? '');
  return tables;
}

function serverOf(url: string) {
  const parsed = new URL(url);
  return {
    host: parsed.hostname,
    port: Number(parsed.port || 3306),
    user: decodeURIComponent(parsed.username),
    password: decodeURIComponent(parsed.password),
  };
}

function withDatabase(url: string, database: string): string {
  const parsed = new URL(url);
  parsed.pathname = `/${database}`;
  return parsed.toString();
}

/** The shape of one schema as information_schema describes it, without its name, sorted for comparison. */
async function describeSchema(conn: Connection, schema: string) {
  const query = async (text: string) => {
    const [rows] = await conn.query<RowDataPacket[]>(text, [schema]);
    return rows.map((row) => ({ ...row }));
  };
  const notKysely = `table_name not like 'kysely\\_migration%'`;
  return {
    tables: await query(`select table_name, engine, table_collation from information_schema.tables where table_schema = ? and ${notKysely} order by table_name`),
    columns: await query(
      `select table_name, column_name, ordinal_position, column_type, is_nullable, column_default, extra, collation_name
       from information_schema.columns where table_schema = ? and ${notKysely} order by table_name, ordinal_position`,
    ),
    indexes: await query(
      `select table_name, index_name, seq_in_index, column_name, non_unique
       from information_schema.statistics where table_schema = ? and ${notKysely} order by table_name, index_name, seq_in_index`,
    ),
    foreignKeys: await query(
      `select k.table_name, k.column_name, k.referenced_table_name, k.referenced_column_name, r.delete_rule
       from information_schema.key_column_usage k
       join information_schema.referential_constraints r
         on r.constraint_schema = k.constraint_schema and r.constraint_name = k.constraint_name
       where k.table_schema = ? and k.referenced_table_name is not null
       order by k.table_name, k.column_name`,
    ),
  };
}

describe(`sql/create.sql (${TEST_DATABASE_KIND})`, () => {
  it('is exactly what the migrations compile to for MySQL', async () => {
    const expected = await mysqlSchemaSql();
    const actual = readFileSync(CREATE_SQL, 'utf8');
    expect(actual, 'sql/create.sql is out of date with the migrations: run `npm run db:schema`').toBe(expected);
  });

  if (TEST_DATABASE_URL && TEST_DATABASE_KIND === 'mysql') {
    const databaseUrl = TEST_DATABASE_URL;
    it('gives the same tables, columns, indexes and keys on MySQL as running the migrations', async () => {
      const tag = randomBytes(4).toString('hex');
      const byHand = `parley_schema_sql_${tag}`;
      const migrated = `parley_schema_mig_${tag}`;
      const admin = await createConnection(serverOf(databaseUrl));
      try {
        for (const name of [byHand, migrated]) {
          await admin.query(`CREATE DATABASE \`${name}\` CHARACTER SET utf8mb4 COLLATE utf8mb4_bin`);
        }
        const operator = await createConnection({ ...serverOf(databaseUrl), database: byHand, multipleStatements: true });
        await operator.query(readFileSync(CREATE_SQL, 'utf8'));
        await operator.end();

        const viaMigrations = openDatabase({ kind: 'mysql', url: withDatabase(databaseUrl, migrated), poolSize: 2 });
        expect(await viaMigrations.migrate()).not.toEqual([]);
        await viaMigrations.close();

        const [handMade, fromMigrations] = [await describeSchema(admin, byHand), await describeSchema(admin, migrated)];
        expect(handMade.tables.length).toBeGreaterThan(0);
        expect(handMade).toEqual(fromMigrations);

        // The bookkeeping rows make a server started on the hand-made schema run no migration.
        const onHandMade = openDatabase({ kind: 'mysql', url: withDatabase(databaseUrl, byHand), poolSize: 2 });
        try {
          expect(await onHandMade.migrate()).toEqual([]);
        } finally {
          await onHandMade.close();
        }
      } finally {
        for (const name of [byHand, migrated]) await admin.query(`DROP DATABASE IF EXISTS \`${name}\``);
        await admin.end();
      }
    });
  } else if (!TEST_DATABASE_URL) {
    it('declares tables and columns that the migrations also create on SQLite', async () => {
      const dir = mkdtempSync(path.join(tmpdir(), 'parley-schema-'));
      const database = openDatabase({ kind: 'sqlite', file: path.join(dir, 'parley.db') });
      try {
        await database.migrate();
        const sqlite = database.sqlite;
        if (!sqlite) throw new Error('expected a SQLite handle');
        const declared = tablesInCreateSql(readFileSync(CREATE_SQL, 'utf8'));
        expect(declared.size).toBeGreaterThan(0);
        // SQLite keeps its search index in FTS5 instead (migration 0021): same tokens, other storage.
        expect(declared.has('message_search_tokens')).toBe(true);
        declared.delete('message_search_tokens');
        const tables = (type: string) =>
          sqlite
            .prepare<[string], { name: string }>('select name from sqlite_master where type = ?')
            .all(type)
            .map((row) => row.name);
        expect(tables('table')).not.toContain('message_search_tokens');
        expect(tables('table')).toContain('message_search_fts');
        expect(tables('trigger')).toContain('messages_search_fts_delete');
        for (const [table, columns] of declared) {
          // table_xinfo: generated columns too (reports.open_target), which table_info leaves out.
          const actual = sqlite.prepare<[], { name: string }>(`select name from pragma_table_xinfo('${table}')`).all();
          expect(
            actual.map((column) => column.name),
            `columns of ${table}`,
          ).toEqual(columns);
        }
      } finally {
        await database.close();
        rmSync(dir, { recursive: true, force: true });
      }
    });
  }
});

/** The shape of the public schema of the database `client` is connected to, sorted for comparison. */
async function describePostgresSchema(client: pg.Client) {
  const query = async (text: string) => (await client.query(text)).rows;
  const notKysely = `not like 'kysely\\_migration%'`;
  return {
    columns: await query(
      `select table_name, column_name, ordinal_position, data_type, character_maximum_length, is_nullable, column_default, is_identity, identity_generation, collation_name
       from information_schema.columns where table_schema = 'public' and table_name ${notKysely} order by table_name, ordinal_position`,
    ),
    indexes: await query(`select tablename, indexname, indexdef from pg_indexes where schemaname = 'public' and tablename ${notKysely} order by tablename, indexname`),
    constraints: await query(
      `select conrelid::regclass::text as table_name, conname, contype, pg_get_constraintdef(oid) as definition
       from pg_constraint where connamespace = 'public'::regnamespace and conrelid::regclass::text ${notKysely} order by table_name, conname`,
    ),
  };
}

describe(`sql/create.postgres.sql (${TEST_DATABASE_KIND})`, () => {
  it('is exactly what the migrations compile to for PostgreSQL', async () => {
    const expected = await postgresSchemaSql();
    const actual = readFileSync(CREATE_POSTGRES_SQL, 'utf8');
    expect(actual, 'sql/create.postgres.sql is out of date with the migrations: run `npm run db:schema`').toBe(expected);
  });

  if (TEST_DATABASE_URL && TEST_DATABASE_KIND === 'postgres') {
    const serverUrl = TEST_DATABASE_URL;
    it('gives the same tables, columns, indexes and keys on PostgreSQL as running the migrations', async () => {
      const tag = randomBytes(4).toString('hex');
      const byHand = await createScratchDatabase(serverUrl, `parley_schema_sql_${tag}`);
      const migrated = await createScratchDatabase(serverUrl, `parley_schema_mig_${tag}`);
      try {
        // As an operator would: the whole file in one transaction.
        const operator = new pg.Client({ connectionString: byHand.url });
        await operator.connect();
        try {
          await operator.query(`begin; ${readFileSync(CREATE_POSTGRES_SQL, 'utf8')}; commit;`);
        } finally {
          await operator.end();
        }

        const viaMigrations = openDatabase({ kind: 'postgres', url: migrated.url, poolSize: 2 });
        expect(await viaMigrations.migrate()).not.toEqual([]);
        await viaMigrations.close();

        const shapes = [];
        for (const url of [byHand.url, migrated.url]) {
          const client = new pg.Client({ connectionString: url });
          await client.connect();
          try {
            shapes.push(await describePostgresSchema(client));
          } finally {
            await client.end();
          }
        }
        const [handMade, fromMigrations] = shapes;
        expect(handMade?.columns.length).toBeGreaterThan(0);
        expect(handMade).toEqual(fromMigrations);

        // The bookkeeping rows make a server started on the hand-made schema run no migration.
        const onHandMade = openDatabase({ kind: 'postgres', url: byHand.url, poolSize: 2 });
        try {
          expect(await onHandMade.migrate()).toEqual([]);
        } finally {
          await onHandMade.close();
        }
      } finally {
        await byHand.drop();
        await migrated.drop();
      }
    });
  }
});
