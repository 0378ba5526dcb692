import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { type Level, type Logger, pino, type StreamEntry } from 'pino';
import pinoRoll from 'pino-roll';
import type { Config } from '../config.js';

export type { Logger } from 'pino';

/**
 * Field paths that may carry secrets. Parley never logs bodies, but these paths are censored in
 * case an object holding one is logged by mistake.
 */
const REDACTED_PATHS = [
  'password',
  'newPassword',
  'currentPassword',
  'token',
  'accessToken',
  'refreshToken',
  'secret',
  'authorization',
  '*.password',
  '*.newPassword',
  '*.currentPassword',
  '*.token',
  '*.accessToken',
  '*.refreshToken',
  '*.secret',
  '*.authorization',
  'req.headers.authorization',
  'req.headers.cookie',
  'headers.authorization',
];

/** Query parameters whose values never reach a log line (signed URLs, tokens in links). */
const SECRET_QUERY_PARAMS = /([?&](?:token|access_token|signature|sig|key)=)[^&]*/gi;

export function scrubUrl(url: string): string {
  return url.replace(SECRET_QUERY_PARAMS, '$1[REDACTED]');
}

export interface LoggerHandle {
  logger: Logger;
  /** Flushes and closes the log files. */
  close(): Promise<void>;
}

type LogConfig = Config['log'];

/**
 * JSON lines to stdout and to `LOG_DIR/parley.N.log`, rotated by size (pino-roll keeps `limit.count`
 * files besides the current one), with errors also in `LOG_DIR/error.N.log`.
 */
export async function createLogger(config: LogConfig): Promise<LoggerHandle> {
  if (config.level === 'silent') {
    return { logger: pino({ level: 'silent' }), close: async () => {} };
  }
  mkdirSync(config.dir, { recursive: true });
  const rollOptions = { size: config.fileSize, limit: { count: Math.max(0, config.fileCount - 1) }, mkdir: true };
  const allFile = await pinoRoll({ file: path.join(config.dir, 'parley'), extension: '.log', ...rollOptions });
  const errorFile = await pinoRoll({ file: path.join(config.dir, 'error'), extension: '.log', ...rollOptions });
  // A request whose client hung up no longer holds its connection, so it can still be running (and
  // logging) after the HTTP server has closed; writing to an ended SonicBoom throws and would crash
  // the process mid-shutdown, so lines that arrive after close() are dropped instead.
  let closed = false;
  const unlessClosed = (stream: typeof allFile) => ({
    write: (line: string) => {
      if (!closed) stream.write(line);
    },
  });
  const streams: StreamEntry[] = [
    { level: config.level as Level, stream: unlessClosed(allFile) },
    { level: 'error', stream: unlessClosed(errorFile) },
  ];
  if (config.toStdout) streams.push({ level: config.level as Level, stream: process.stdout });

  const logger = pino(
    {
      level: config.level,
      timestamp: pino.stdTimeFunctions.isoTime,
      redact: { paths: REDACTED_PATHS, censor: '[REDACTED]' },
      base: { pid: process.pid },
      serializers: {
        req: (req: { method?: string; url?: string; ip?: string; id?: string }) => ({
          method: req.method,
          url: req.url === undefined ? undefined : scrubUrl(req.url),
          remoteAddress: req.ip,
        }),
        err: pino.stdSerializers.err,
      },
    },
    pino.multistream(streams),
  );

  return {
    logger,
    close: async () => {
      closed = true;
      await Promise.all(
        [allFile, errorFile].map(
          (stream) =>
            new Promise<void>((resolve) => {
              // SonicBoom writes what it buffered before 'close'; the timer guards a stuck disk.
              const timer = setTimeout(resolve, 2000);
              stream.once('close', () => {
                clearTimeout(timer);
                resolve();
              });
              stream.end();
            }),
        ),
      );
    },
  };
}
