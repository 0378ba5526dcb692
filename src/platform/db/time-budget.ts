import { type Compilable, CompiledQuery, type Kysely, sql } from 'kysely';
import { AppError } from '../../shared/errors.js';
import { dialectOf } from './dialect.js';
import type { Database } from './schema.js';

/** MariaDB ER_STATEMENT_TIMEOUT (1969), MySQL ER_QUERY_TIMEOUT (3024), PostgreSQL query_canceled (57014). */
function isStatementTimeout(error: unknown): boolean {
  const { code, errno } = error as { code?: string; errno?: number };
  return code === 'ER_STATEMENT_TIMEOUT' || code === 'ER_QUERY_TIMEOUT' || errno === 1969 || errno === 3024 || code === '57014';
}

export function queryTimeout(budgetMs: number): AppError {
  return new AppError('QUERY_TIMEOUT', `the query took longer than its ${budgetMs} ms budget; narrow it or retry later`, undefined, 1);
}

/**
 * Runs a read with a time budget enforced by the database server itself, so a costly search is
 * stopped there (not merely abandoned by the client while it keeps a connection busy):
 * MariaDB `SET STATEMENT max_statement_time=s FOR SELECT ...`, MySQL's `MAX_EXECUTION_TIME(ms)`
 * hint, PostgreSQL `SET LOCAL statement_timeout` in a transaction. Past it: QUERY_TIMEOUT (503).
 * SQLite has no such switch in better-sqlite3: its long reads go to reader threads with their own budget.
 */
export function createTimedReader(db: Kysely<Database>) {
  const dialect = dialectOf(db);
  let flavour: Promise<'mariadb' | 'mysql'> | undefined;
  const mysqlFlavour = () => {
    flavour ??= sql<{ v: string }>`select version() as v`
      .execute(db)
      .then((result) => (/mariadb/i.test(String(result.rows[0]?.v)) ? 'mariadb' : 'mysql'))
      .catch((error: unknown) => {
        // Not remembered: the next search asks again once the database answers.
        flavour = undefined;
        throw error;
      });
    return flavour;
  };

  return async function read<Row>(query: Compilable<Row>, budgetMs: number, reportedBudgetMs = budgetMs): Promise<Row[]> {
    if (budgetMs <= 0) throw queryTimeout(reportedBudgetMs);
    const compiled = query.compile();
    const ms = Math.max(1, Math.ceil(budgetMs));
    try {
      if (dialect === 'postgres') {
        return await db.transaction().execute(async (trx) => {
          // SET takes no bound parameters; `ms` is an integer made here.
          await sql.raw(`set local statement_timeout = ${ms}`).execute(trx);
          return (await trx.executeQuery(compiled)).rows;
        });
      }
      if (dialect === 'mysql') {
        const text =
          (await mysqlFlavour()) === 'mariadb'
            ? `set statement max_statement_time=${(ms / 1000).toFixed(3)} for ${compiled.sql}`
            : compiled.sql.replace(/^select /i, `select /*+ MAX_EXECUTION_TIME(${ms}) */ `);
        return (await db.executeQuery<Row>(CompiledQuery.raw(text, [...compiled.parameters]))).rows;
      }
      return (await db.executeQuery(compiled)).rows;
    } catch (error) {
      if (isStatementTimeout(error)) throw queryTimeout(reportedBudgetMs);
      throw error;
    }
  };
}
