import { connect } from 'node:net';

/** `YYYYMMDD-HHMMSS` in UTC, for file names that sort by time. */
export function fileStamp(date = new Date()): string {
  return date.toISOString().replace(/[-:]/g, '').replace('T', '-').slice(0, 15);
}

/** The mysql/mysqldump connection flags for a DATABASE_URL; `-p` prompts, so no password is printed. */
export function mysqlClientArgs(url: string): { flags: string; database: string } {
  const parsed = new URL(url.replace(/^mariadb:/, 'mysql:'));
  const user = decodeURIComponent(parsed.username) || 'root';
  const flags = `-h ${parsed.hostname} -P ${parsed.port || '3306'} -u ${user}${parsed.password ? ' -p' : ''}`;
  return { flags, database: decodeURIComponent(parsed.pathname.slice(1)) };
}

/** The pg_dump/pg_restore connection flags for a DATABASE_URL; `-W` prompts, so no password is printed. */
export function postgresClientArgs(url: string): { flags: string; database: string } {
  const parsed = new URL(url.replace(/^postgresql:/, 'postgres:'));
  const user = decodeURIComponent(parsed.username) || 'postgres';
  const flags = `-h ${parsed.hostname} -p ${parsed.port || '5432'} -U ${user}${parsed.password ? ' -W' : ''}`;
  return { flags, database: decodeURIComponent(parsed.pathname.slice(1)) };
}

/**
 * Whether something accepts TCP connections on the server's address. It is a heuristic: it sees a
 * server on this machine listening on the configured PORT, not one started with another PORT, on
 * another machine, or with PORT=0.
 */
export function somethingListens(host: string, port: number, timeoutMs = 1000): Promise<boolean> {
  const target = host === '0.0.0.0' || host === '::' ? '127.0.0.1' : host;
  return new Promise((resolve) => {
    const socket = connect({ host: target, port });
    const done = (listening: boolean) => {
      socket.destroy();
      resolve(listening);
    };
    socket.setTimeout(timeoutMs, () => done(false));
    socket.once('connect', () => done(true));
    socket.once('error', () => done(false));
  });
}
