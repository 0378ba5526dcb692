import { spawn } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { REPO_ROOT, type ScriptRun } from './support/scripts.js';

/**
 * scripts/system-packages.mjs, which `npm test` and `.ci/run` run first, on a simulated bare
 * machine: PATH is a scratch folder holding stand-ins for the programs that are "installed" (and,
 * for the install path, an apt-get stand-in that records its calls and "installs" by adding
 * stand-ins), and PARLEY_EMOJI_FONT and PARLEY_CJK_FONT point at scratch font files.
 */

const PROGRAMS = { chromium: 'chromium', 'nginx-light': 'nginx', coturn: 'turnserver', ffmpeg: 'ffmpeg', prometheus: 'prometheus', openssl: 'openssl' } as const;
type Package = keyof typeof PROGRAMS | 'fonts-noto-color-emoji' | 'fonts-wqy-microhei';

const dirs: string[] = [];
afterEach(() => {
  while (dirs.length > 0) rmSync(dirs.pop() ?? '', { recursive: true, force: true });
});

function executable(file: string, script: string): void {
  writeFileSync(file, `#!/bin/sh\n${script}\n`);
  chmodSync(file, 0o755);
}

/**
 * A machine with every required package except `without`. The script also looks in the sbin
 * folders (Debian's nginx is /usr/sbin/nginx), which PATH cannot hide: these tests never leave
 * nginx-light out, and its stand-in on PATH makes it present whether or not this machine has it.
 */
function machine(without: Exclude<Package, 'nginx-light'>[]) {
  const root = mkdtempSync(path.join(tmpdir(), 'parley-bare-'));
  dirs.push(root);
  const bin = path.join(root, 'bin');
  mkdirSync(bin);
  const font = path.join(root, 'NotoColorEmoji.ttf');
  for (const [pkg, program] of Object.entries(PROGRAMS)) if (!without.includes(pkg as (typeof without)[number])) executable(path.join(bin, program), 'exit 0');
  if (!without.includes('fonts-noto-color-emoji')) writeFileSync(font, '');
  const cjkFont = path.join(root, 'wqy-microhei.ttc');
  if (!without.includes('fonts-wqy-microhei')) writeFileSync(cjkFont, '');
  const aptLog = path.join(root, 'apt.log');
  return {
    bin,
    font,
    cjkFont,
    aptLog,
    /**
     * An apt-get that logs each call; `install` adds the stand-ins of the packages it is given,
     * unless it is told to fail (`failInstalls` times, or always) or to install nothing.
     */
    apt(behaviour: { failInstalls?: number; installs?: boolean } = {}) {
      const installs =
        (behaviour.installs ?? true)
          ? [
              ...Object.entries(PROGRAMS).map(([pkg, program]) => `    ${pkg}) printf '#!/bin/sh\\n' > "${bin}/${program}"; /bin/chmod 755 "${bin}/${program}" ;;`),
              `    fonts-noto-color-emoji) : > "${font}" ;;`,
              `    fonts-wqy-microhei) : > "${cjkFont}" ;;`,
            ].join('\n')
          : '';
      const counter = path.join(root, 'install-failures');
      writeFileSync(counter, '');
      executable(
        path.join(bin, 'apt-get'),
        [
          `echo "$DEBIAN_FRONTEND $*" >> "${aptLog}"`,
          'case "$*" in *" update"*) exit 0 ;; esac',
          `if [ "$(/usr/bin/wc -c < "${counter}")" -lt ${behaviour.failInstalls ?? 0} ]; then printf x >> "${counter}"; echo "E: Unable to locate package" >&2; exit 100; fi`,
          'for arg in "$@"; do',
          '  case "$arg" in',
          installs,
          '  esac',
          'done',
        ].join('\n'),
      );
    },
    aptCalls(): string[] {
      return existsSync(aptLog) ? readFileSync(aptLog, 'utf8').trim().split('\n') : [];
    },
  };
}

function check(env: Record<string, string>): Promise<ScriptRun & { ms: number }> {
  const started = performance.now();
  const child = spawn(process.execPath, [path.join(REPO_ROOT, 'scripts', 'system-packages.mjs')], { env, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  return new Promise((resolve, reject) => {
    child.on('error', reject);
    child.on('exit', (code) => resolve({ code, stdout, stderr, ms: performance.now() - started }));
  });
}

const sudo = process.getuid?.() === 0 ? '' : 'sudo ';
const APT_INSTALL = 'apt-get install -y --no-install-recommends';

describe('npm test on a bare machine (scripts/system-packages.mjs)', () => {
  it('passes silently when every package is there', async () => {
    const m = machine([]);
    const run = await check({ PATH: m.bin, PARLEY_EMOJI_FONT: m.font });
    expect(run).toMatchObject({ code: 0, stdout: '', stderr: '' });
  });

  it('stops within seconds with one line naming the exact command when it may not install', async () => {
    const m = machine(['ffmpeg', 'fonts-noto-color-emoji']);
    m.apt();
    const run = await check({ PATH: m.bin, PARLEY_EMOJI_FONT: m.font, PARLEY_CJK_FONT: m.cjkFont, PARLEY_SYSTEM_PACKAGES: 'check' });
    expect(run.code).toBe(1);
    expect(run.ms).toBeLessThan(5000);
    expect(run.stdout).toBe('');
    expect(run.stderr.trimEnd().split('\n')).toHaveLength(1);
    expect(run.stderr).toContain(`\`${APT_INSTALL} ffmpeg fonts-noto-color-emoji\``);
    expect(m.aptCalls()).toEqual([]);
  });

  it('names the command too when there is no apt-get to run', async () => {
    const m = machine(['coturn', 'chromium']);
    const run = await check({ PATH: m.bin, PARLEY_EMOJI_FONT: m.font });
    expect(run.code).toBe(1);
    expect(run.stderr.trimEnd().split('\n')).toEqual([expect.stringContaining(`\`${sudo}${APT_INSTALL} chromium coturn\``)]);
  });

  it('finds Chromium where CHROMIUM_PATH says, as the browser suites do', async () => {
    const m = machine(['chromium']);
    const elsewhere = path.join(path.dirname(m.bin), 'chrome');
    executable(elsewhere, 'exit 0');
    expect((await check({ PATH: m.bin, PARLEY_EMOJI_FONT: m.font, PARLEY_CJK_FONT: m.cjkFont, CHROMIUM_PATH: elsewhere })).code).toBe(0);
    const missing = await check({ PATH: m.bin, PARLEY_EMOJI_FONT: m.font, PARLEY_CJK_FONT: m.cjkFont, CHROMIUM_PATH: `${elsewhere}-not-there` });
    expect(missing.stderr).toContain(`${APT_INSTALL} chromium\``);
  });

  it('installs what is missing with apt-get, non-interactively, and then passes', async () => {
    const m = machine(['ffmpeg', 'coturn', 'fonts-noto-color-emoji', 'fonts-wqy-microhei']);
    m.apt();
    const run = await check({ PATH: m.bin, PARLEY_EMOJI_FONT: m.font, PARLEY_CJK_FONT: m.cjkFont, PARLEY_SYSTEM_PACKAGES: 'install' });
    expect(run.stderr).toBe('parley: installing the Debian packages the test suites drive: coturn ffmpeg fonts-noto-color-emoji fonts-wqy-microhei\n');
    expect(run.code).toBe(0);
    expect(m.aptCalls()).toEqual([`noninteractive -o DPkg::Lock::Timeout=300 install -y --no-install-recommends coturn ffmpeg fonts-noto-color-emoji fonts-wqy-microhei`]);
    // The next run finds everything and says nothing.
    expect(await check({ PATH: m.bin, PARLEY_EMOJI_FONT: m.font, PARLEY_CJK_FONT: m.cjkFont, PARLEY_SYSTEM_PACKAGES: 'install' })).toMatchObject({ code: 0, stderr: '' });
    expect(m.aptCalls()).toHaveLength(1);
  });

  it('refreshes the package lists once when the first install fails', async () => {
    const m = machine(['openssl']);
    m.apt({ failInstalls: 1 });
    const run = await check({ PATH: m.bin, PARLEY_EMOJI_FONT: m.font, PARLEY_CJK_FONT: m.cjkFont, PARLEY_SYSTEM_PACKAGES: 'install' });
    expect(run.code).toBe(0);
    expect(m.aptCalls().map((call) => call.split(' ').at(-1))).toEqual(['openssl', 'update', 'openssl']);
  });

  it("fails with apt-get's last lines and one line naming the command when the install fails", async () => {
    const m = machine(['ffmpeg']);
    m.apt({ failInstalls: 99 });
    const run = await check({ PATH: m.bin, PARLEY_EMOJI_FONT: m.font, PARLEY_CJK_FONT: m.cjkFont, PARLEY_SYSTEM_PACKAGES: 'install' });
    expect(run.code).toBe(1);
    const lines = run.stderr.trimEnd().split('\n');
    expect(lines).toContain('E: Unable to locate package');
    expect(lines.at(-1)).toContain(`\`${sudo}${APT_INSTALL} ffmpeg\` failed`);
  });

  it('fails when an install leaves a program missing, instead of letting a suite find out later', async () => {
    const m = machine(['coturn']);
    m.apt({ installs: false });
    const run = await check({ PATH: m.bin, PARLEY_EMOJI_FONT: m.font, PARLEY_CJK_FONT: m.cjkFont, PARLEY_SYSTEM_PACKAGES: 'install' });
    expect(run.code).toBe(1);
    expect(run.stderr.trimEnd().split('\n').at(-1)).toContain('still cannot find what coturn should provide');
  });
});
