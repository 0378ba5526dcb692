import { spawn } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');

export interface ScriptRun {
  code: number | null;
  stdout: string;
  stderr: string;
}

/**
 * Runs a built file (`dist/src/scripts/backup.js`, `dist/src/main.js`) as a real process with only
 * the given variables and PATH, from `cwd` so no stray `.env` is read. Resolves when it exits.
 */
export function runBuilt(relativeFile: string, args: string[], vars: Record<string, string>, cwd: string, timeoutMs = 30_000): Promise<ScriptRun> {
  const child = spawn(process.execPath, [path.join(REPO_ROOT, 'dist', relativeFile), ...args], {
    cwd,
    env: { PATH: process.env.PATH ?? '', ...vars },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`${relativeFile} did not exit within ${timeoutMs} ms: ${stderr}`));
    }, timeoutMs);
    child.once('error', reject);
    child.once('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}
