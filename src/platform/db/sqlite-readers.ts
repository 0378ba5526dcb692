import { createRequire } from 'node:module';
import { Worker } from 'node:worker_threads';
import { AppError } from '../../shared/errors.js';

/** A statement compiled by Kysely: its SQL text and bound values, as the in-loop driver would run them. */
export interface CompiledRead {
  readonly sql: string;
  readonly parameters: readonly unknown[];
}

export interface SqliteReaderStats {
  /** Reader threads alive now. */
  threads: number;
  /** Of those, the ones whose connection is open (a replacement takes a few milliseconds to start). */
  ready: number;
  /** Queries running in a reader thread at this moment. */
  running: number;
  /** Queries waiting for a free reader. */
  queued: number;
  /** Queries answered by a reader thread since start. */
  completed: number;
  /** Queries that ran out of their time budget (their reader thread was replaced when it held one). */
  timedOut: number;
}

export interface SqliteReaders {
  /** Runs a read-only statement in a reader thread; fails with QUERY_TIMEOUT past the time budget. */
  all<Row>(query: CompiledRead): Promise<Row[]>;
  stats(): SqliteReaderStats;
  close(): Promise<void>;
}

export interface SqliteReadersOptions {
  file: string;
  threads: number;
  /** Budget of one query, from the moment it is asked (queueing counts: a crowd of searches fails fast, it does not pile up). */
  timeoutMs: number;
  /** Told when a reader thread fails on its own (it is replaced). */
  onError?: (message: string) => void;
}

/**
 * The reader thread's code, run with `eval` so that one file serves both the TypeScript sources
 * (under Vitest, where a `.ts` worker file would need a loader) and the compiled `dist/`. It opens
 * its own read-only connection: in WAL mode readers never wait for the writer nor block it.
 * Statements are cached by SQL text, as the main connection's driver does.
 */
const READER_SOURCE = `
const { parentPort, workerData } = require('node:worker_threads');
const Database = require(workerData.driver);
const db = new Database(workerData.file, { readonly: true, fileMustExist: true });
db.pragma('busy_timeout = 5000');
parentPort.postMessage({ ready: true });
const statements = new Map();
parentPort.on('message', ({ id, sql, parameters }) => {
  try {
    let statement = statements.get(sql);
    if (!statement) {
      statement = db.prepare(sql);
      if (statements.size >= 100) statements.delete(statements.keys().next().value);
      statements.set(sql, statement);
    }
    parentPort.postMessage({ id, rows: statement.all(...parameters) });
  } catch (error) {
    parentPort.postMessage({ id, error: { message: String(error && error.message), code: error && error.code } });
  }
});
`;

interface Job {
  id: number;
  query: CompiledRead;
  resolve(rows: unknown[]): void;
  reject(error: unknown): void;
  timer: NodeJS.Timeout;
  reader?: Reader;
}

interface Reader {
  worker: Worker;
  job?: Job;
  /** Its connection opened; a thread that dies before that is not replaced (it would fail again, forever). */
  ready: boolean;
}

/**
 * A small pool of reader threads for the embedded database's long reads (message search), so a
 * scan over a large history never runs on the event loop every request and socket share.
 *
 * better-sqlite3 has no way to interrupt a running statement (no sqlite3_interrupt nor progress
 * handler, WiseLibs/better-sqlite3#568): a query past its budget is answered QUERY_TIMEOUT at once
 * and its thread is terminated and replaced. Termination takes effect when the statement returns
 * to JavaScript, so that thread may keep one core busy until then; its replacement serves the queue.
 */
export function createSqliteReaders(options: SqliteReadersOptions): SqliteReaders {
  const driver = createRequire(import.meta.url).resolve('better-sqlite3');
  const readers = new Set<Reader>();
  const queue: Job[] = [];
  let nextId = 1;
  let completed = 0;
  let timedOut = 0;
  let closed = false;

  function spawn(): void {
    const reader: Reader = { worker: new Worker(READER_SOURCE, { eval: true, workerData: { driver, file: options.file } }), ready: false };
    readers.add(reader);
    reader.worker.on('message', (message: { ready?: true; id: number; rows?: unknown[]; error?: { message: string; code?: string } }) => {
      if (message.ready) {
        reader.ready = true;
        return;
      }
      const job = reader.job;
      if (!job || job.id !== message.id) return;
      reader.job = undefined;
      clearTimeout(job.timer);
      if (message.error) job.reject(Object.assign(new Error(message.error.message), { code: message.error.code }));
      else {
        completed++;
        job.resolve(message.rows ?? []);
      }
      dispatch();
    });
    reader.worker.on('error', (error) => options.onError?.(`sqlite reader thread failed: ${error.message}`));
    reader.worker.on('exit', () => {
      if (!readers.delete(reader)) return;
      // An unexpected exit (the read-only open failed, out of memory): its job fails, a new thread takes over.
      if (reader.job) {
        clearTimeout(reader.job.timer);
        reader.job.reject(new AppError('UNAVAILABLE', 'the database reader stopped; retry'));
        reader.job = undefined;
      }
      if (!closed && reader.ready) spawn();
      dispatch();
    });
  }

  function dispatch(): void {
    for (const reader of readers) {
      if (queue.length === 0) return;
      if (reader.job) continue;
      const job = queue.shift() as Job;
      job.reader = reader;
      reader.job = job;
      reader.worker.postMessage({ id: job.id, sql: job.query.sql, parameters: job.query.parameters });
    }
  }

  function expire(job: Job): void {
    timedOut++;
    const reader = job.reader;
    if (reader && reader.job === job) {
      // The thread cannot be told to stop its statement: it is dropped and a fresh one serves the queue.
      readers.delete(reader);
      reader.job = undefined;
      void reader.worker.terminate();
      if (!closed) spawn();
    } else {
      const index = queue.indexOf(job);
      if (index >= 0) queue.splice(index, 1);
    }
    job.reject(new AppError('QUERY_TIMEOUT', `the query took longer than its ${options.timeoutMs} ms budget; narrow it or retry later`, undefined, 1));
    dispatch();
  }

  for (let i = 0; i < options.threads; i++) spawn();

  return {
    all<Row>(query: CompiledRead): Promise<Row[]> {
      if (closed) return Promise.reject(new AppError('UNAVAILABLE', 'the database is closing'));
      return new Promise<Row[]>((resolve, reject) => {
        const job: Job = { id: nextId++, query, resolve: resolve as (rows: unknown[]) => void, reject, timer: undefined as unknown as NodeJS.Timeout };
        job.timer = setTimeout(() => expire(job), options.timeoutMs);
        queue.push(job);
        dispatch();
      });
    },
    stats() {
      let running = 0;
      let ready = 0;
      for (const reader of readers) {
        if (reader.job) running++;
        if (reader.ready) ready++;
      }
      return { threads: readers.size, ready, running, queued: queue.length, completed, timedOut };
    },
    async close() {
      closed = true;
      for (const job of queue.splice(0)) {
        clearTimeout(job.timer);
        job.reject(new AppError('UNAVAILABLE', 'the database is closing'));
      }
      const stopping = [...readers];
      readers.clear();
      for (const reader of stopping) {
        if (reader.job) {
          clearTimeout(reader.job.timer);
          reader.job.reject(new AppError('UNAVAILABLE', 'the database is closing'));
        }
      }
      await Promise.all(stopping.map((reader) => reader.worker.terminate()));
    },
  };
}
