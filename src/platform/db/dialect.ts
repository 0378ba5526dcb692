import { type ColumnDefinitionBuilder, type CreateTableBuilder, type Kysely, MysqlAdapter, type RawBuilder, sql } from 'kysely';

export type DialectName = 'sqlite' | 'mysql';

/** Which SQL dialect a Kysely instance speaks; migrations and the few dialect-specific queries branch on it. */
export function dialectOf(db: Kysely<unknown>): DialectName {
  return db.getExecutor().adapter instanceof MysqlAdapter ? 'mysql' : 'sqlite';
}

/**
 * MySQL tables are InnoDB in utf8mb4 with the binary collation: emoji and CJK round-trip byte for
 * byte, and equality is exact (the *_ci collations treat many different emoji as equal).
 */
export function withTableOptions<T extends string, C extends string>(db: Kysely<unknown>, builder: CreateTableBuilder<T, C>): CreateTableBuilder<T, C> {
  return dialectOf(db) === 'mysql' ? builder.modifyEnd(sql`ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin`) : builder;
}

/** An auto-increment primary key: INTEGER on SQLite (required for rowid aliasing), BIGINT on MySQL. */
export function autoIncrementId(db: Kysely<unknown>) {
  return {
    type: dialectOf(db) === 'mysql' ? ('bigint' as const) : ('integer' as const),
    build: (col: ColumnDefinitionBuilder) => col.primaryKey().autoIncrement(),
  };
}

/**
 * `column LIKE 'prefix%'` with the user's text matched literally. `!` is the escape character
 * because a backslash literal is read differently by MySQL and SQLite.
 */
export function startsWith(column: string, prefix: string): RawBuilder<boolean> {
  const escaped = prefix.replace(/[!%_]/g, (ch) => `!${ch}`);
  return sql<boolean>`${sql.ref(column)} like ${`${escaped}%`} escape '!'`;
}
