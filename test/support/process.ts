import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
export const MAIN_JS = path.join(ROOT, 'dist', 'src', 'main.js');

export interface ServerProcess {
  child: ChildProcess;
  url: string;
  stdout: () => string;
  stderr: () => string;
  /** Resolves with the exit code once the process has ended. */
  exited: Promise<number | null>;
}

/** Starts the built server (dist/src/main.js) as a real process and waits until it listens. */
export async function spawnServer(vars: Record<string, string>): Promise<ServerProcess> {
  const child = spawn(process.execPath, [MAIN_JS], {
    // A DATA_DIR the server is to create itself does not exist yet: it cannot be the working directory.
    cwd: vars.DATA_DIR && existsSync(vars.DATA_DIR) ? vars.DATA_DIR : ROOT,
    env: { PATH: process.env.PATH ?? '', ...vars, LOG_TO_STDOUT: 'true' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  let err = '';
  child.stdout?.on('data', (chunk: Buffer) => (out += chunk.toString()));
  child.stderr?.on('data', (chunk: Buffer) => (err += chunk.toString()));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const url = await new Promise<string>((resolve, reject) => {
    // Generous: on a fresh MariaDB or PostgreSQL database the migrations' DDL alone takes
    // seconds, and a CI machine runs several suites at once.
    const timer = setTimeout(() => reject(new Error(`server did not start: ${err}${out}`)), 45_000);
    const check = () => {
      const match = /"url":"(http[^"]+)"[^\n]*Parley is listening/.exec(out);
      if (match?.[1]) {
        clearTimeout(timer);
        resolve(match[1]);
      }
    };
    child.stdout?.on('data', check);
    exited.then((code) => {
      clearTimeout(timer);
      reject(new Error(`server exited with ${code}: ${err}`));
    });
  });
  return { child, url, stdout: () => out, stderr: () => err, exited };
}
