import type { CompiledQuery } from 'kysely';

/**
 * Runs a list of statements in one round trip on MySQL/MariaDB, for the message writer's
 * transaction: six statements each waiting for the one before cost six system calls out and six
 * wake-ups back per batch, which dominated the send path while batches stay small.
 *
 * It has a pool of its own, opened with `multipleStatements`: the main pool keeps it off, so no
 * other query can ever carry a second statement. The statements are Kysely-compiled (values as
 * parameters, which mysql2 escapes into the text), never strings put together from input.
 */
export interface MultiStatementRunner {
  /**
   * Sends the statements joined as one query and returns each one's result, in order. The caller
   * writes its own `START TRANSACTION` … `COMMIT`: when a statement fails, the server runs none
   * after it, so the runner rolls back whatever that left open before the connection goes back to
   * the pool (or destroys the connection when that fails too) and rethrows the statement's error.
   */
  run(statements: readonly CompiledQuery[]): Promise<unknown[]>;
  close(): Promise<void>;
}

export interface MultiStatementOptions {
  /** mysql2's pool options of the main pool (URL, charset, timeouts); the runner adds its own size and `multipleStatements`. */
  poolOptions: Record<string, unknown>;
  connections: number;
  /** The per-query timeout of the moment (none while migrating). */
  timeoutMs(): number | undefined;
  /** Told of each round trip as one query (metrics), with all its statements' text. */
  onQuery?: (sqlText: string, milliseconds: number, failed: boolean) => void;
}

type Connection = import('mysql2').PoolConnection;

export function createMultiStatementRunner(options: MultiStatementOptions): MultiStatementRunner {
  // mysql2 is loaded on first use, as for the main pool: an embedded server never loads it.
  let pool: Promise<import('mysql2').Pool> | undefined;
  const open = () => {
    pool ??= import('mysql2').then((mysql) => mysql.createPool({ ...options.poolOptions, connectionLimit: options.connections, queueLimit: 0, multipleStatements: true }));
    return pool;
  };

  function query(connection: Connection, sqlText: string, values: readonly unknown[]): Promise<unknown> {
    const timeout = options.timeoutMs();
    return new Promise((resolve, reject) => {
      connection.query({ sql: sqlText, values: [...values], ...(timeout ? { timeout } : {}) }, (error, result) => (error ? reject(error) : resolve(result)));
    });
  }

  return {
    async run(statements) {
      const connection = await open().then((opened) => new Promise<Connection>((resolve, reject) => opened.getConnection((error, got) => (error ? reject(error) : resolve(got)))));
      const sqlText = statements.map((statement) => statement.sql).join(';\n');
      const started = performance.now();
      try {
        const results = (await query(
          connection,
          sqlText,
          statements.flatMap((statement) => statement.parameters),
        )) as unknown[];
        options.onQuery?.(sqlText, performance.now() - started, false);
        connection.release();
        return results;
      } catch (error) {
        options.onQuery?.(sqlText, performance.now() - started, true);
        // A timed-out query may still be running there, and a failed one may have left the
        // transaction open: roll back, and hand back only a connection known to be clean.
        const timedOut = (error as { code?: string }).code === 'PROTOCOL_SEQUENCE_TIMEOUT';
        const clean =
          !timedOut &&
          (await query(connection, 'ROLLBACK', []).then(
            () => true,
            () => false,
          ));
        if (clean) connection.release();
        else connection.destroy();
        throw error;
      }
    },
    async close() {
      if (pool) await (await pool).end();
    },
  };
}
