import { type ColumnDefinitionBuilder, type CreateTableBuilder, type Kysely, MysqlAdapter, PostgresAdapter, type RawBuilder, sql } from 'kysely';

export type DialectName = 'sqlite' | 'mysql' | 'postgres';

/** Which SQL dialect a Kysely instance speaks; migrations and the few dialect-specific queries branch on it. */
export function dialectOf<DB>(db: Kysely<DB>): DialectName {
  const adapter = db.getExecutor().adapter;
  if (adapter instanceof MysqlAdapter) return 'mysql';
  if (adapter instanceof PostgresAdapter) return 'postgres';
  return 'sqlite';
}

/**
 * MySQL tables are InnoDB in utf8mb4 with the binary collation: emoji and CJK round-trip byte for
 * byte, and equality is exact (the *_ci collations treat many different emoji as equal).
 * PostgreSQL needs nothing here: a UTF8 database compares text exactly with any deterministic collation.
 */
export function withTableOptions<T extends string, C extends string>(db: Kysely<unknown>, builder: CreateTableBuilder<T, C>): CreateTableBuilder<T, C> {
  return dialectOf(db) === 'mysql' ? builder.modifyEnd(sql`ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin`) : builder;
}

/**
 * An auto-increment primary key: INTEGER on SQLite (required for rowid aliasing), BIGINT on MySQL,
 * a BIGINT identity column on PostgreSQL (which has no AUTO_INCREMENT keyword).
 */
export function autoIncrementId(db: Kysely<unknown>) {
  const dialect = dialectOf(db);
  return {
    type: dialect === 'sqlite' ? ('integer' as const) : ('bigint' as const),
    build: (col: ColumnDefinitionBuilder) => (dialect === 'postgres' ? col.primaryKey().generatedByDefaultAsIdentity() : col.primaryKey().autoIncrement()),
  };
}

/** The type of a column that refers to an autoIncrementId: it must hold every id that column can. */
export function idReferenceType(db: Kysely<unknown>) {
  return dialectOf(db) === 'sqlite' ? ('integer' as const) : ('bigint' as const);
}

/**
 * `column LIKE 'prefix%'` with the user's text matched literally. `!` is the escape character
 * because a backslash literal is read differently by MySQL and SQLite (PostgreSQL takes either).
 * Every dialect compares case-sensitively here (SQLite's LIKE folds ASCII case, but the columns
 * searched this way hold lowercased text).
 */
export function startsWith(column: string, prefix: string): RawBuilder<boolean> {
  const escaped = prefix.replace(/[!%_]/g, (ch) => `!${ch}`);
  return sql<boolean>`${sql.ref(column)} like ${`${escaped}%`} escape '!'`;
}
