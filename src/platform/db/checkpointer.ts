import { createRequire } from 'node:module';
import { Worker } from 'node:worker_threads';
import type SqliteDatabase from 'better-sqlite3';

/** How often the background connection copies the WAL back into the database file. */
const CHECKPOINT_EVERY_MS = 250;

/** SQLite's own default: what the main connection goes back to if the thread is lost. */
const DEFAULT_AUTOCHECKPOINT_PAGES = 1000;

// Plain CommonJS evaluated in the worker, so it runs the same from TypeScript sources (tests) and
// from the build. The driver comes by absolute path: an eval worker resolves from no directory.
const WORKER_SOURCE = `
const { parentPort, workerData } = require('node:worker_threads');
const Database = require(workerData.driver);
const db = new Database(workerData.file);
db.pragma('busy_timeout = 5000');
db.pragma('synchronous = NORMAL');
const timer = setInterval(() => {
  try {
    db.pragma('wal_checkpoint(PASSIVE)');
  } catch (error) {
    parentPort.postMessage({ error: String(error && error.message) });
  }
}, workerData.everyMs);
parentPort.on('message', () => {
  clearInterval(timer);
  db.close();
  parentPort.close();
});
`;

/**
 * Moves SQLite's WAL checkpoints off the event loop. By default the connection that commits runs
 * a checkpoint whenever the WAL passes 1,000 pages: it copies those pages into the database file
 * and fsyncs, 10-25 ms during which no socket is served (the p99 of the fan-out bench). Here the
 * main connection never checkpoints; a worker thread with its own connection runs a PASSIVE
 * checkpoint every 250 ms, which never blocks the writer. Should the thread fail, the main
 * connection checkpoints by itself again.
 */
export function startBackgroundCheckpoints(sqlite: SqliteDatabase.Database, onError: (message: string) => void): { stop(): Promise<void> } {
  sqlite.pragma('wal_autocheckpoint = 0');
  const driver = createRequire(import.meta.url).resolve('better-sqlite3');
  const worker = new Worker(WORKER_SOURCE, { eval: true, workerData: { driver, file: sqlite.name, everyMs: CHECKPOINT_EVERY_MS } });
  let stopping = false;
  const exited = new Promise<void>((resolve) => worker.once('exit', () => resolve()));
  const fallBack = () => {
    if (stopping || !sqlite.open) return;
    sqlite.pragma(`wal_autocheckpoint = ${DEFAULT_AUTOCHECKPOINT_PAGES}`);
  };
  worker.on('message', (message: { error?: string }) => {
    if (message.error) onError(message.error);
  });
  worker.on('error', (error) => {
    onError(error.message);
    fallBack();
  });
  worker.on('exit', fallBack);
  // The thread must not keep a finished process alive (scripts, tests).
  worker.unref();
  return {
    async stop() {
      if (stopping) return;
      stopping = true;
      // Its connection closes first, so the main one is the last and removes the WAL on close.
      worker.postMessage('stop');
      const timer = setTimeout(() => void worker.terminate(), 5000);
      await exited;
      clearTimeout(timer);
    },
  };
}
