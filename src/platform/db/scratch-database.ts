/**
 * Whole databases made and dropped on a MySQL/MariaDB or PostgreSQL server: for the test suites and
 * the benchmarks (which run servers on databases of their own), never called by the server itself.
 */
import { createConnection } from 'mysql2/promise';
import pg from 'pg';

/** The dialect of a database URL as the config reads it: postgres:// and postgresql:// are PostgreSQL, anything else here MySQL/MariaDB. */
export function databaseKindOf(url: string | undefined): 'sqlite' | 'mysql' | 'postgres' {
  if (!url) return 'sqlite';
  return /^postgres(ql)?:/.test(url) ? 'postgres' : 'mysql';
}

/**
 * A scratch database on a MySQL/MariaDB or PostgreSQL server; `drop` removes it. PostgreSQL ones are
 * UTF8 with the C collation, as docs/configuration.md asks of operators: text sorts and compares by
 * code point, as utf8mb4_bin and SQLite do; C.UTF-8 character classes keep lower() Unicode-aware.
 */
export async function createScratchDatabase(serverUrl: string, name: string): Promise<{ url: string; drop(): Promise<void> }> {
  const base = new URL(serverUrl);
  if (databaseKindOf(serverUrl) === 'postgres') {
    // Connected to the maintenance database: the one in the URL may not exist yet.
    const admin = () => {
      const url = new URL(base);
      url.pathname = '/postgres';
      return new pg.Client({ connectionString: url.toString() });
    };
    const conn = admin();
    await conn.connect();
    try {
      await conn.query(`CREATE DATABASE "${name}" TEMPLATE template0 ENCODING 'UTF8' LC_COLLATE 'C' LC_CTYPE 'C.UTF-8'`);
    } finally {
      await conn.end();
    }
    base.pathname = `/${name}`;
    return {
      url: base.toString(),
      async drop() {
        const dropper = admin();
        await dropper.connect();
        try {
          // FORCE: a server process killed by a test may leave a connection behind.
          await dropper.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
        } finally {
          await dropper.end();
        }
      },
    };
  }
  const server = {
    host: base.hostname,
    port: Number(base.port || 3306),
    user: decodeURIComponent(base.username),
    password: decodeURIComponent(base.password),
  };
  const admin = await createConnection(server);
  await admin.query(`CREATE DATABASE \`${name}\` CHARACTER SET utf8mb4 COLLATE utf8mb4_bin`);
  await admin.end();
  base.pathname = `/${name}`;
  return {
    url: base.toString(),
    async drop() {
      const conn = await createConnection(server);
      await conn.query(`DROP DATABASE IF EXISTS \`${name}\``);
      await conn.end();
    },
  };
}
