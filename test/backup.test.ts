import { randomUUID } from 'node:crypto';
import { statSync } from 'node:fs';
import path from 'node:path';
import SqliteDatabase from 'better-sqlite3';
import { afterEach, describe, expect, it } from 'vitest';
import { apiClient, expectError, newUser, type TestUser } from './support/http.js';
import { runBuilt } from './support/scripts.js';
import { createTestEnvironment, startServer, storageLabel, TEST_DATABASE_KIND, TEST_DATABASE_URL, type TestEnvironment, testEnvVars } from './support/server.js';

const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  while (cleanups.length > 0) await cleanups.pop()?.();
});

async function environment(): Promise<TestEnvironment> {
  const env = await createTestEnvironment();
  cleanups.push(() => env.dispose());
  return env;
}

function runScript(env: TestEnvironment, name: 'backup' | 'restore' | 'migrate', args: string[] = [], overrides: Record<string, string> = {}) {
  return runBuilt(`src/scripts/${name}.js`, args, testEnvVars(env, overrides), env.dataDir);
}

describe(`database scripts as processes (${storageLabel})`, () => {
  it('db:migrate applies the migrations on a fresh database, then finds nothing new', async () => {
    const env = await environment();
    const first = await runScript(env, 'migrate');
    expect(first.stderr).toBe('');
    expect(first.code).toBe(0);
    expect(first.stdout).toContain('applied 0001_users');
    const second = await runScript(env, 'migrate');
    expect(second.code).toBe(0);
    expect(second.stdout).not.toContain('0001_users');
    expect(second.stdout).toContain('up to date');
  });

  if (!TEST_DATABASE_URL) {
    it('checkpoints the WAL from a background thread while the server runs: messages reach the database file', async () => {
      const env = await environment();
      const server = await startServer(env);
      cleanups.push(() => server.close());
      const api = apiClient(server.url);
      const [alice, bob] = [await newUser(api), await newUser(api)];
      const conversation = await api('POST', '/conversations', { token: alice.accessToken, body: { peerId: bob.id } });
      const route = `/conversations/${encodeURIComponent(conversation.body.id)}/messages`;
      const databaseFile = path.join(env.dataDir, 'parley.db');
      for (let round = 0; round < 4; round++) {
        const before = statSync(databaseFile).size;
        const sent = await Promise.all(
          // 50 messages of 8 KB, from both sides: within the send limit of 200 per user per 10 s.
          Array.from({ length: 50 }, (_, i) =>
            api('POST', route, { token: (i % 2 ? alice : bob).accessToken, body: { type: 'text', content: `${round}.${i} ${'x'.repeat(8000)}`, clientMsgId: randomUUID() } }),
          ),
        );
        expect(sent.map((res) => res.status)).toEqual(sent.map(() => 201));
        // The server's own connection never checkpoints (wal_autocheckpoint = 0), and 400 KB stays
        // under SQLite's own 1,000-page threshold anyway: only the background thread moves these
        // pages into the database file.
        await expect.poll(() => statSync(databaseFile).size - before, { timeout: 10_000, interval: 100 }).toBeGreaterThan(350_000);
      }
      // Whether the WAL then starts over depends on timing (SQLite restarts it only when a write
      // begins with every frame already copied), so its size is not asserted here.
    });

    it('db:backup copies a running server consistently while users keep registering', async () => {
      const env = await environment();
      const server = await startServer(env);
      cleanups.push(() => server.close());
      const api = apiClient(server.url);
      const before: TestUser[] = [];
      for (let i = 0; i < 8; i++) before.push(await newUser(api));

      const destination = path.join(env.dataDir, 'copies', 'during-writes.db');
      const backup = runScript(env, 'backup', [destination]);
      let running = true;
      void backup.finally(() => (running = false));
      let startedDuring = 0;
      const writers = Array.from({ length: 4 }, async () => {
        while (running) {
          startedDuring++;
          await newUser(api);
        }
      });
      const result = await backup;
      await Promise.all(writers);

      expect(result.stderr).toBe('');
      expect(result.code).toBe(0);
      expect(result.stdout.trim()).toBe(destination);
      expect(startedDuring).toBeGreaterThan(0);

      const copy = new SqliteDatabase(destination, { fileMustExist: true });
      try {
        expect(copy.pragma('integrity_check', { simple: true })).toBe('ok');
        const names = new Set(
          copy
            .prepare<[], { username: string }>('select username from users')
            .all()
            .map((row) => row.username),
        );
        for (const user of before) expect(names).toContain(user.username);
      } finally {
        copy.close();
      }
    });

    it('db:restore refuses while the server runs, then brings back the backed-up state', async () => {
      const env = await environment();
      const server = await startServer(env);
      const api = apiClient(server.url);
      const kept = await newUser(api);
      const destination = path.join(env.dataDir, 'kept.db');
      expect((await runScript(env, 'backup', [destination])).code).toBe(0);
      const lost = await newUser(api);

      const port = String(new URL(server.url).port);
      const refused = await runScript(env, 'restore', [destination], { PORT: port });
      expect(refused.code).toBe(1);
      expect(refused.stderr).toMatch(/stop the Parley server/);
      await server.close();

      const restored = await runScript(env, 'restore', [destination], { PORT: port });
      expect(restored.stderr).toBe('');
      expect(restored.code).toBe(0);
      expect(restored.stdout).toContain(`restored ${destination}`);

      const again = await startServer(env);
      cleanups.push(() => again.close());
      const api2 = apiClient(again.url);
      expect((await api2('POST', '/auth/login', { body: { username: kept.username, password: kept.password } })).status).toBe(200);
      expectError(await api2('POST', '/auth/login', { body: { username: lost.username, password: lost.password } }), 401, 'UNAUTHORIZED');
    });
  } else if (TEST_DATABASE_KIND === 'postgres') {
    it('db:backup on PostgreSQL exits 1 and prints the pg_dump command to use, without the password', async () => {
      const env = await environment();
      const result = await runScript(env, 'backup');
      expect(result.code).toBe(1);
      const database = new URL(env.databaseUrl ?? '').pathname.slice(1);
      expect(result.stderr).toContain('pg_dump --format=custom -h 127.0.0.1');
      expect(result.stderr).toContain(`-d ${database} -f parley-`);
      const password = new URL(env.databaseUrl ?? '').password;
      if (password) expect(result.stderr).not.toContain(password);
    });

    it('db:restore on PostgreSQL exits 1 and prints the pg_restore command to use', async () => {
      const env = await environment();
      const result = await runScript(env, 'restore', ['whatever.dump']);
      expect(result.code).toBe(1);
      expect(result.stderr).toContain('pg_restore --clean --if-exists --no-owner --single-transaction');
    });
  } else {
    it('db:backup on MySQL exits 1 and prints the mysqldump command to use', async () => {
      const env = await environment();
      const result = await runScript(env, 'backup');
      expect(result.code).toBe(1);
      expect(result.stderr).toContain('mysqldump --single-transaction --default-character-set=utf8mb4');
      const password = new URL(env.databaseUrl ?? '').password;
      if (password) expect(result.stderr).not.toContain(password);
    });

    it('db:restore on MySQL exits 1 and prints the mysql command to use', async () => {
      const env = await environment();
      const result = await runScript(env, 'restore', ['whatever.sql']);
      expect(result.code).toBe(1);
      expect(result.stderr).toContain('mysql --default-character-set=utf8mb4');
    });
  }
});
