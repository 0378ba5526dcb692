// The Debian packages whose programs some test suites drive. `npm test` runs this before Vitest and
// `.ci/run` runs it first, so both need the same packages and install them the same way:
// - all present: silent, exit 0;
// - missing, running as root with apt-get: installs them (quietly; apt's output shows on failure);
// - otherwise (not root, no apt-get, or PARLEY_SYSTEM_PACKAGES=check): one line on stderr naming
//   the exact command to run, exit 1, so a suite never fails late or is skipped for want of them.
// PARLEY_SYSTEM_PACKAGES=install tries apt-get even when not root (test/bare-machine.test.ts hands
// it a stand-in apt-get); PARLEY_EMOJI_FONT and PARLEY_CJK_FONT move the font files it looks for, for the same test.
// It runs before `npm ci` on a fresh CI machine, so it uses nothing but Node itself; that is also
// why the PATH lookup below is written out instead of taking the `which` package.
import { spawnSync } from 'node:child_process';
import { accessSync, constants, existsSync, statSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * `program` is looked up on PATH (and in the sbin folders), `file` by its path; a set `override`
 * variable names the program or file to use instead.
 * @type {Array<{ pkg: string, program?: string, file?: string, override?: string }>}
 */
export const REQUIREMENTS = [
  // The web client and browser call suites: test/support/browser.ts runs $CHROMIUM_PATH or /usr/bin/chromium.
  { pkg: 'chromium', program: 'chromium', override: 'CHROMIUM_PATH' },
  // test/nginx.test.ts: the documented load-balancer config in front of two processes.
  { pkg: 'nginx-light', program: 'nginx' },
  // test/calls-turn.test.ts: a real TURN server.
  { pkg: 'coturn', program: 'turnserver' },
  // Video poster frames (test/files-access.test.ts).
  { pkg: 'ffmpeg', program: 'ffmpeg' },
  // test/metrics-prometheus.test.ts: a real Prometheus scraping /metrics (the test starts its own;
  // the package's service, where an init system starts one, is not used).
  { pkg: 'prometheus', program: 'prometheus' },
  // test/tls.test.ts makes its self-signed certificate with the openssl CLI.
  { pkg: 'openssl', program: 'openssl' },
  // Without a colour emoji font the web client's screenshot (test/web.test.ts) shows boxes.
  { pkg: 'fonts-noto-color-emoji', file: '/usr/share/fonts/truetype/noto/NotoColorEmoji.ttf', override: 'PARLEY_EMOJI_FONT' },
  // Without a CJK font the Chinese screens render as boxes. WenQuanYi Micro Hei is a 1.6 MB package
  // (fonts-noto-cjk is 56 MB) and covers every Simplified Chinese string the client shows.
  { pkg: 'fonts-wqy-microhei', file: '/usr/share/fonts/truetype/wqy/wqy-microhei.ttc', override: 'PARLEY_CJK_FONT' },
];

// Debian puts nginx in /usr/sbin, which is not on a normal user's PATH; the suites run it from there.
const SBIN = ['/usr/local/sbin', '/usr/sbin', '/sbin'];

/** @param {string} file */
function isExecutable(file) {
  try {
    accessSync(file, constants.X_OK);
    return statSync(file).isFile();
  } catch {
    return false;
  }
}

/**
 * The full path of `program` on PATH or in the sbin folders, or null.
 * @param {string} program
 * @param {NodeJS.ProcessEnv} env
 */
export function findProgram(program, env = process.env) {
  const dirs = (env.PATH ?? '').split(path.delimiter).filter(Boolean);
  for (const dir of [...dirs, ...SBIN.filter((dir) => !dirs.includes(dir))]) {
    const candidate = path.join(dir, program);
    if (isExecutable(candidate)) return candidate;
  }
  return null;
}

/**
 * The Debian packages whose program or file is missing here.
 * @param {NodeJS.ProcessEnv} env
 */
export function missingPackages(env = process.env) {
  return REQUIREMENTS.filter(({ program, file, override }) => {
    const given = override ? env[override] : undefined;
    if (program) return given ? !isExecutable(given) : findProgram(program, env) === null;
    return !existsSync(given ?? /** @type {string} */ (file));
  }).map((requirement) => requirement.pkg);
}

/** @param {string[]} packages */
const aptArguments = (packages) => ['install', '-y', '--no-install-recommends', ...packages];

/**
 * Runs apt-get quietly (another apt may hold the lock for a while: wait up to 5 minutes for it).
 * @param {string} aptGet
 * @param {string[]} args
 * @param {NodeJS.ProcessEnv} env
 */
function apt(aptGet, args, env) {
  const result = spawnSync(aptGet, ['-o', 'DPkg::Lock::Timeout=300', ...args], {
    env: { ...env, DEBIAN_FRONTEND: 'noninteractive' },
    stdio: ['ignore', 'pipe', 'pipe'],
    encoding: 'utf8',
    maxBuffer: 64 * 1024 * 1024,
  });
  return { ok: result.status === 0, output: `${result.stdout ?? ''}${result.stderr ?? ''}${result.error ? String(result.error) : ''}` };
}

/**
 * Makes sure every package is there, installing them when it may; returns the exit code.
 * @param {{ env?: NodeJS.ProcessEnv, log?: (line: string) => void, isRoot?: boolean }} options
 */
export function ensureSystemPackages({ env = process.env, log = (line) => process.stderr.write(`${line}\n`), isRoot = process.getuid?.() === 0 } = {}) {
  const missing = missingPackages(env);
  if (missing.length === 0) return 0;
  const command = `${isRoot ? '' : 'sudo '}apt-get ${aptArguments(missing).join(' ')}`;
  const aptGet = findProgram('apt-get', env);
  const mode = env.PARLEY_SYSTEM_PACKAGES ?? 'auto';
  if (aptGet === null || mode === 'check' || (mode !== 'install' && !isRoot)) {
    log(`parley: the test suites need Debian packages that are missing here (${missing.join(', ')}): run \`${command}\`, then \`npm test\` again`);
    return 1;
  }
  log(`parley: installing the Debian packages the test suites drive: ${missing.join(' ')}`);
  let result = apt(aptGet, aptArguments(missing), env);
  // A fresh machine's package lists may be missing or stale: refresh them once and try again.
  if (!result.ok) result = apt(aptGet, ['update'], env).ok ? apt(aptGet, aptArguments(missing), env) : result;
  if (!result.ok) {
    log(result.output.trimEnd().split('\n').slice(-15).join('\n'));
    log(`parley: \`${command}\` failed (its last lines are above): fix that, then run \`npm test\` again`);
    return 1;
  }
  const still = missingPackages(env);
  if (still.length > 0) {
    log(`parley: installed ${missing.join(' ')} but still cannot find what ${still.join(', ')} should provide: check PATH and CHROMIUM_PATH`);
    return 1;
  }
  return 0;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) process.exitCode = ensureSystemPackages();
