import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { CONFIG_VARIABLES, ConfigError, loadConfig } from '../src/config.js';
import { REPO_ROOT, runBuilt } from './support/scripts.js';

const dirs: string[] = [];
afterEach(() => {
  while (dirs.length > 0) rmSync(dirs.pop() ?? '', { recursive: true, force: true });
});

function emptyDir(): string {
  const dir = mkdtempSync(path.join(tmpdir(), 'parley-config-'));
  dirs.push(dir);
  return dir;
}

function configErrorOf(load: () => unknown): ConfigError {
  try {
    load();
  } catch (error) {
    if (error instanceof ConfigError) return error;
    throw error;
  }
  throw new Error('expected a ConfigError');
}

/** `KEY → value` of every `# KEY=value` line of .env.example. */
function documentedDefaults(): Map<string, string> {
  const text = readFileSync(path.join(REPO_ROOT, '.env.example'), 'utf8');
  return new Map([...text.matchAll(/^#? ?([A-Z][A-Z0-9_]*)=(.*)$/gm)].map((match) => [match[1] ?? '', match[2] ?? '']));
}

describe('.env.example', () => {
  it('lists every configuration variable and no unknown one', () => {
    const documented = documentedDefaults();
    for (const variable of CONFIG_VARIABLES) expect([...documented.keys()], `${variable} missing from .env.example`).toContain(variable);
    for (const variable of documented.keys()) expect(CONFIG_VARIABLES, `${variable} in .env.example is not read by Parley`).toContain(variable);
  });

  it('shows the defaults Parley really uses', () => {
    const cwd = emptyDir();
    const documented = Object.fromEntries([...documentedDefaults()].filter(([, value]) => value !== ''));
    expect(loadConfig({ env: documented, cwd })).toEqual(loadConfig({ env: {}, cwd }));
  });
});

describe('loadConfig', () => {
  it('names PORT when it is not a number', () => {
    const error = configErrorOf(() => loadConfig({ env: { PORT: 'abc' }, cwd: emptyDir() }));
    expect(error.variable).toBe('PORT');
    expect(error.message).toMatch(/^PORT: /);
  });

  it('refuses half a VAPID key pair, a malformed key and a VAPID_SUBJECT that is not mailto: or https:', () => {
    const cwd = emptyDir();
    const publicKey = `B${'A'.repeat(86)}`;
    expect(configErrorOf(() => loadConfig({ env: { VAPID_PUBLIC_KEY: publicKey }, cwd })).variable).toBe('VAPID_PRIVATE_KEY');
    expect(configErrorOf(() => loadConfig({ env: { VAPID_PRIVATE_KEY: 'A'.repeat(43) }, cwd })).variable).toBe('VAPID_PUBLIC_KEY');
    expect(configErrorOf(() => loadConfig({ env: { VAPID_PUBLIC_KEY: 'short', VAPID_PRIVATE_KEY: 'A'.repeat(43) }, cwd })).variable).toBe('VAPID_PUBLIC_KEY');
    expect(configErrorOf(() => loadConfig({ env: { VAPID_SUBJECT: 'http://example.com' }, cwd })).variable).toBe('VAPID_SUBJECT');
    expect(loadConfig({ env: { VAPID_PUBLIC_KEY: publicKey, VAPID_PRIVATE_KEY: 'A'.repeat(43) }, cwd }).push.vapidKeys).toEqual({ publicKey, privateKey: 'A'.repeat(43) });
  });

  it('names DATABASE_URL when its scheme is unknown', () => {
    expect(configErrorOf(() => loadConfig({ env: { DATABASE_URL: 'foo://x' }, cwd: emptyDir() })).variable).toBe('DATABASE_URL');
  });

  it('reads the dialect from the DATABASE_URL scheme: mysql/mariadb, postgres/postgresql, sqlite', () => {
    const kindOf = (DATABASE_URL: string) => loadConfig({ env: { DATABASE_URL }, cwd: emptyDir() }).database.kind;
    expect(kindOf('mysql://root@127.0.0.1:3306/parley')).toBe('mysql');
    expect(kindOf('mariadb://root@127.0.0.1:3306/parley')).toBe('mysql');
    expect(kindOf('postgres://parley:secret@127.0.0.1:5432/parley')).toBe('postgres');
    expect(kindOf('postgresql://parley@db.internal/parley')).toBe('postgres');
    expect(kindOf('sqlite:///var/lib/parley/parley.db')).toBe('sqlite');
    expect(configErrorOf(() => loadConfig({ env: { DATABASE_URL: 'postgres://127.0.0.1:5432' }, cwd: emptyDir() })).variable).toBe('DATABASE_URL');
  });

  it('names ADMIN_USERNAMES when a name could not be a username, and keeps the names lower-cased once each', () => {
    expect(configErrorOf(() => loadConfig({ env: { ADMIN_USERNAMES: 'alice, not a name' }, cwd: emptyDir() })).variable).toBe('ADMIN_USERNAMES');
    expect(loadConfig({ env: { ADMIN_USERNAMES: ' Alice ,bob,ALICE' }, cwd: emptyDir() }).adminUsernames).toEqual(['alice', 'bob']);
  });

  it('names TLS_KEY_FILE when only the certificate is given', () => {
    expect(configErrorOf(() => loadConfig({ env: { TLS_CERT_FILE: '/etc/parley/cert.pem' }, cwd: emptyDir() })).variable).toBe('TLS_KEY_FILE');
  });

  it('refuses the test-only password hash profile outside NODE_ENV=test, naming PASSWORD_HASH_PROFILE', () => {
    for (const NODE_ENV of ['production', 'development']) {
      const error = configErrorOf(() => loadConfig({ env: { NODE_ENV, PASSWORD_HASH_PROFILE: 'test-fast' }, cwd: emptyDir() }));
      expect(error.variable).toBe('PASSWORD_HASH_PROFILE');
    }
    expect(loadConfig({ env: { NODE_ENV: 'test', PASSWORD_HASH_PROFILE: 'test-fast' }, cwd: emptyDir() }).passwordHashProfile).toBe('test-fast');
    expect(loadConfig({ env: {}, cwd: emptyDir() }).passwordHashProfile).toBe('owasp');
  });

  it('defaults to port 3000 and SQLite inside DATA_DIR', () => {
    const dataDir = emptyDir();
    const config = loadConfig({ env: { DATA_DIR: dataDir }, cwd: emptyDir() });
    expect(config.port).toBe(3000);
    expect(config.host).toBe('0.0.0.0');
    expect(config.database).toEqual({ kind: 'sqlite', file: path.join(dataDir, 'parley.db') });
    expect(config.log.dir).toBe(path.join(dataDir, 'logs'));
    expect(config.redisUrl).toBeUndefined();
    expect(loadConfig({ env: {}, cwd: emptyDir() }).database).toEqual({ kind: 'sqlite', file: path.resolve('data', 'parley.db') });
  });

  it('reads .env from its directory, and the real environment wins over it', () => {
    const cwd = emptyDir();
    writeFileSync(path.join(cwd, '.env'), 'PORT=4000\nHOST=127.0.0.1\n# a comment\nLOG_LEVEL=debug\n');
    const config = loadConfig({ env: { PORT: '5000' }, cwd });
    expect(config.port).toBe(5000);
    expect(config.host).toBe('127.0.0.1');
    expect(config.log.level).toBe('debug');
  });
});

describe('the built server with a bad configuration', () => {
  for (const [variable, value] of [
    ['PORT', 'abc'],
    ['DATABASE_URL', 'foo://x'],
  ] as const) {
    it(`exits 1 with one line on stderr naming ${variable}=${value}`, async () => {
      const dataDir = emptyDir();
      const result = await runBuilt('src/main.js', [], { DATA_DIR: dataDir, [variable]: value }, dataDir);
      expect(result.code).toBe(1);
      const lines = result.stderr.split('\n').filter((line) => line !== '');
      expect(lines).toHaveLength(1);
      expect(result.stderr.endsWith('\n')).toBe(true);
      expect(lines[0]).toContain(variable);
    });
  }
});

describe('Redis Cluster and the socket adapter', () => {
  it('reads REDIS_CLUSTER_NODES as a redis+cluster:// URL and SOCKET_ADAPTER, classic by default', () => {
    const cwd = emptyDir();
    const plain = loadConfig({ env: {}, cwd, overrides: { REDIS_URL: 'redis://127.0.0.1:6379' } });
    expect([plain.redisUrl, plain.socketAdapter]).toEqual(['redis://127.0.0.1:6379', 'classic']);
    const cluster = loadConfig({ env: {}, cwd, overrides: { REDIS_CLUSTER_NODES: '10.0.0.1:7000,10.0.0.2:7001', SOCKET_ADAPTER: 'sharded' } });
    expect([cluster.redisUrl, cluster.socketAdapter]).toEqual(['redis+cluster://10.0.0.1:7000,10.0.0.2:7001', 'sharded']);
    expect(loadConfig({ env: {}, cwd, overrides: { REDIS_URL: 'redis+cluster://a:1,b:2' } }).redisUrl).toBe('redis+cluster://a:1,b:2');
  });

  it('refuses both spellings at once, a node without a port and an unknown adapter', () => {
    const cwd = emptyDir();
    expect(configErrorOf(() => loadConfig({ env: {}, cwd, overrides: { REDIS_URL: 'redis://h:1', REDIS_CLUSTER_NODES: 'h:7000' } })).message).toContain('REDIS_CLUSTER_NODES');
    expect(configErrorOf(() => loadConfig({ env: {}, cwd, overrides: { REDIS_CLUSTER_NODES: 'h:7000,h2' } })).message).toContain('REDIS_CLUSTER_NODES');
    expect(configErrorOf(() => loadConfig({ env: {}, cwd, overrides: { SOCKET_ADAPTER: 'streams' } })).message).toContain('SOCKET_ADAPTER');
  });
});
