import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { openPrivate, sendText } from './support/messaging.js';
import { connectedUser } from './support/realtime.js';
import { storageLabel } from './support/server.js';
import { useTestServer } from './support/suite.js';

const TOKEN = 'prometheus-scrapes-with-this-token';
/** Debian's package (scripts/system-packages.mjs installs it). Its service is not used: this test runs its own. */
const PROMETHEUS = '/usr/bin/prometheus';

/** A port free right now (Prometheus cannot report the port it bound for `:0`). */
function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

interface Prometheus {
  url: string;
  output: () => string;
  stop(): Promise<void>;
}

/** Debian's prometheus, scraping `target` every second with the bearer token, its storage in a temp dir. */
async function startPrometheus(target: URL): Promise<Prometheus> {
  const dir = mkdtempSync(path.join(tmpdir(), 'parley-prometheus-'));
  const config = path.join(dir, 'prometheus.yml');
  writeFileSync(
    config,
    [
      'global:',
      '  scrape_interval: 1s',
      '  evaluation_interval: 1s',
      'scrape_configs:',
      '  - job_name: parley',
      '    scrape_interval: 1s',
      '    scrape_timeout: 900ms',
      '    authorization:',
      '      type: Bearer',
      `      credentials: ${TOKEN}`,
      '    static_configs:',
      `      - targets: ['${target.host}']`,
      '',
    ].join('\n'),
  );
  const port = await freePort();
  let output = '';
  const child: ChildProcess = spawn(
    PROMETHEUS,
    [`--config.file=${config}`, `--storage.tsdb.path=${path.join(dir, 'data')}`, `--web.listen-address=127.0.0.1:${port}`, '--log.level=warn'],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  child.stdout?.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr?.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const url = `http://127.0.0.1:${port}`;
  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) {
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.kill('SIGTERM');
      await exited;
    }
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    await until(
      async () => (await fetch(`${url}/-/ready`)).ok,
      () => `prometheus did not become ready: ${output}`,
    );
  } catch (error) {
    await stop();
    throw error;
  }
  return { url, output: () => output, stop };
}

/** Polls `check` until it is true, failing with `explain()` after 45 s. Fetch errors count as "not yet". */
async function until(check: () => Promise<boolean>, explain: () => string): Promise<void> {
  const deadline = Date.now() + 45_000;
  for (;;) {
    if (await check().catch(() => false)) return;
    if (Date.now() > deadline) throw new Error(explain());
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

/** The value of an instant query's first series, or undefined when it has none. */
async function query(prometheus: Prometheus, promql: string): Promise<number | undefined> {
  const response = await fetch(`${prometheus.url}/api/v1/query?query=${encodeURIComponent(promql)}`);
  const body = (await response.json()) as { status: string; data?: { result: Array<{ value: [number, string] }> } };
  expect(body.status).toBe('success');
  const first = body.data?.result[0];
  return first ? Number(first.value[1]) : undefined;
}

describe(`a real Prometheus scrapes Parley (${storageLabel})`, () => {
  const suite = useTestServer({ METRICS_TOKEN: TOKEN });
  let prometheus: Prometheus | undefined;
  afterAll(async () => {
    await prometheus?.stop();
  });

  it('returns a message rate above zero after traffic', { timeout: 120_000 }, async () => {
    prometheus = await startPrometheus(new URL(suite.server.url));
    const running = prometheus;
    // Scraped with the token before the traffic, so the counters' increase spans it.
    await until(
      async () => (await query(running, 'up{job="parley"}')) === 1,
      () => `the parley target never came up: ${running.output()}`,
    );
    const alice = await connectedUser(suite.server.url);
    const bob = await connectedUser(suite.server.url);
    const conversationId = await openPrivate(alice.client, bob.id);
    for (let i = 0; i < 5; i++) await sendText(alice.client, conversationId, `message ${i}`);
    let rate: number | undefined;
    await until(
      async () => {
        rate = await query(running, 'sum(rate(parley_messages_total{job="parley"}[1m]))');
        return rate !== undefined && rate > 0;
      },
      () => `no message rate from Prometheus (last: ${rate}): ${running.output()}`,
    );
    expect(await query(running, 'sum(increase(parley_messages_total[1m]))')).toBeGreaterThan(0);
    expect(await query(running, 'parley_sockets_connected')).toBe(2);
    alice.client.disconnect();
    bob.client.disconnect();
  });
});
