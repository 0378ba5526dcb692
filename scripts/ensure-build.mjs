// Builds dist/ with tsc when it is missing or older than any source file, so `npm start` works
// straight after `npm install` and after a `git pull`.
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, statSync, utimesSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const marker = path.join(root, 'dist', '.tsbuildinfo');

/** @param {string} dir */
function newestMtime(dir) {
  let newest = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const full = path.join(dir, entry.name);
    newest = Math.max(newest, entry.isDirectory() ? newestMtime(full) : statSync(full).mtimeMs);
  }
  return newest;
}

export function ensureBuild() {
  const sources = ['src', 'bench'].map((dir) => path.join(root, dir)).filter(existsSync);
  const newestSource = Math.max(...sources.map(newestMtime), statSync(path.join(root, 'package.json')).mtimeMs);
  if (existsSync(marker) && statSync(marker).mtimeMs >= newestSource) return;
  process.stderr.write('parley: building (tsc)...\n');
  execFileSync(process.execPath, [path.join(root, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', path.join(root, 'tsconfig.build.json')], {
    stdio: 'inherit',
  });
  // tsc leaves the info file untouched when nothing changed; touch it so the next start skips the check.
  const now = new Date();
  utimesSync(marker, now, now);
}

const webMarker = path.join(root, 'dist', 'web', 'index.html');

/** Builds the web client (vite → dist/web) when it is missing or older than its sources or the SDK it bundles. */
export function ensureWebBuild() {
  const sources = ['web', 'src/client', 'src/contract'].map((dir) => path.join(root, dir)).filter(existsSync);
  if (sources.length === 0) return;
  const newestSource = Math.max(...sources.map(newestMtime), statSync(path.join(root, 'package.json')).mtimeMs);
  if (existsSync(webMarker) && statSync(webMarker).mtimeMs >= newestSource) return;
  const vite = path.join(root, 'node_modules', 'vite', 'bin', 'vite.js');
  if (!existsSync(vite)) {
    // An install without dev dependencies: the API still runs, only the page at / is missing.
    process.stderr.write('parley: vite is not installed, so the web client is not built (run `npm install` to get it)\n');
    return;
  }
  process.stderr.write('parley: building the web client (vite)...\n');
  execFileSync(process.execPath, [vite, 'build', '--config', path.join(root, 'web', 'vite.config.ts'), '--logLevel', 'warn'], {
    stdio: 'inherit',
    cwd: root,
  });
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  ensureBuild();
  ensureWebBuild();
}
