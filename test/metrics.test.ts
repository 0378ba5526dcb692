import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../src/config.js';
import { type FakeLlm, startFakeLlm } from './support/fake-llm.js';
import { uploadFile } from './support/files.js';
import { expectError, newUser } from './support/http.js';
import { openPrivate, postMessage, sendText } from './support/messaging.js';
import { sampleNames, sampleValue } from './support/metrics.js';
import { connectedUser } from './support/realtime.js';
import { storageLabel } from './support/server.js';
import { useTestServer } from './support/suite.js';

const TOKEN = 'metrics-token-0123456789abcdef';

async function scrape(url: string, token: string | undefined = TOKEN): Promise<string> {
  const response = await fetch(`${url}/metrics`, { headers: token ? { authorization: `Bearer ${token}` } : {} });
  expect(response.status).toBe(200);
  expect(response.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/);
  return response.text();
}

describe(`metrics are off by default (${storageLabel})`, () => {
  const { api } = useTestServer();

  it('answers /metrics 404 like any unknown route, with or without a token', async () => {
    expect(expectError(await api('GET', '/metrics'), 404, 'NOT_FOUND').message).toBe('no route for GET /metrics');
    expectError(await api('GET', '/metrics', { headers: { authorization: `Bearer ${TOKEN}` } }), 404, 'NOT_FOUND');
  });
});

describe(`metrics on the main port behind METRICS_TOKEN (${storageLabel})`, () => {
  let fake: FakeLlm | undefined;
  const suite = useTestServer(async () => {
    fake = await startFakeLlm();
    return { METRICS_TOKEN: TOKEN, AI_PROVIDERS: JSON.stringify([{ name: 'local', baseUrl: fake.openaiBaseUrl, apiKey: 'local-key', models: ['m1'] }]) };
  });
  const { api } = suite;
  afterAll(async () => {
    await fake?.close();
  });

  it('refuses a scrape without the token or with a wrong one (401), and serves the text format with it', async () => {
    const refused: Array<Record<string, string>> = [
      {},
      { authorization: 'Bearer wrong' },
      { authorization: `Bearer ${TOKEN.slice(0, -1)}x` },
      { authorization: TOKEN },
      { authorization: `Basic ${TOKEN}` },
    ];
    for (const headers of refused) {
      const res = await api('GET', '/metrics', { headers });
      expectError(res, 401, 'UNAUTHORIZED');
      expect(res.headers.get('www-authenticate')).toMatch(/^Bearer/);
    }
    const text = await scrape(suite.server.url);
    expect(text).toContain('# TYPE parley_messages_total counter');
    // collectDefaultMetrics: event-loop lag and GC.
    expect(text).toContain('# TYPE nodejs_eventloop_lag_seconds gauge');
    expect(text).toContain('# TYPE nodejs_gc_duration_seconds histogram');
    expect(sampleValue(text, 'parley_database_up', { dialect: suite.server.app.config.database.kind })).toBe(1);
    expect(sampleValue(text, 'parley_cache_up', { backend: suite.server.app.config.redisUrl ? 'redis' : 'memory' })).toBe(1);
  });

  it('moves with traffic: sockets, socket events, messages, delivery latency, HTTP routes, queries, upload bytes, AI tokens', async () => {
    const url = suite.server.url;
    const before = await scrape(url);
    const value = (text: string, name: string, labels: Record<string, string> = {}) => sampleValue(text, name, labels) ?? 0;

    const alice = await connectedUser(url);
    const bob = await connectedUser(url);
    const conversationId = await openPrivate(alice.client, bob.id);
    for (let i = 0; i < 3; i++) await sendText(alice.client, conversationId, `hello ${i}`);
    await postMessage(bob.client, conversationId, { type: 'text', content: 'over REST' });
    await uploadFile(alice.client, 'notes.bin', Buffer.alloc(5000, 'n'));
    fake?.enqueue({ kind: 'reply', chunks: ['fine', ' thanks'], usage: { input: 11, output: 4 } });
    const carol = await newUser(api);
    const chat = await api('POST', '/ai/conversations', { token: carol.accessToken, body: {} });
    expect(chat.status).toBe(201);
    expect((await api('POST', `/ai/conversations/${chat.body.id}/messages`, { token: carol.accessToken, body: { content: 'how are you?' } })).status).toBe(201);

    const after = await scrape(url);
    expect(value(after, 'parley_sockets_connected')).toBe(2);
    expect(value(after, 'parley_socket_events_total', { event: 'chat' }) - value(before, 'parley_socket_events_total', { event: 'chat' })).toBe(3);
    expect(value(after, 'parley_messages_total', { kind: 'private' }) - value(before, 'parley_messages_total', { kind: 'private' })).toBe(4);
    expect(value(after, 'parley_message_delivery_seconds_count') - value(before, 'parley_message_delivery_seconds_count')).toBe(4);
    expect(value(after, 'parley_upload_bytes_total') - value(before, 'parley_upload_bytes_total')).toBe(5000);
    expect(value(after, 'parley_ai_tokens_total', { provider: 'local', direction: 'input' })).toBe(11);
    expect(value(after, 'parley_ai_tokens_total', { provider: 'local', direction: 'output' })).toBe(4);
    expect(value(after, 'parley_db_query_duration_seconds_count', { operation: 'select' })).toBeGreaterThan(
      value(before, 'parley_db_query_duration_seconds_count', { operation: 'select' }),
    );
    // HTTP latency is labelled by route pattern: ids never become label values.
    const route = { method: 'POST', route: '/api/v1/conversations/:id/messages', status_class: '2xx' };
    expect(value(after, 'parley_http_request_duration_seconds_count', route)).toBe(1);
    for (const id of [alice.id, bob.id, carol.id, chat.body.id]) expect(after).not.toContain(id);

    alice.client.disconnect();
    bob.client.disconnect();
  });

  it('has every metric the Grafana dashboard in docs/ queries', async () => {
    const dashboard = JSON.parse(readFileSync(new URL('../docs/grafana-dashboard.json', import.meta.url), 'utf8')) as {
      panels: Array<{ title: string; targets: Array<{ expr: string }> }>;
    };
    const exposed = sampleNames(await scrape(suite.server.url));
    const queried = new Set<string>();
    for (const panel of dashboard.panels) {
      expect(panel.targets.length, panel.title).toBeGreaterThan(0);
      for (const { expr } of panel.targets) for (const [name] of expr.matchAll(/\b(?:parley|nodejs|process)_[a-z0-9_]+/g)) queried.add(name);
    }
    expect(queried.size).toBeGreaterThan(10);
    expect([...queried].filter((name) => !exposed.has(name))).toEqual([]);
  });
});

describe(`metrics on a separate port (${storageLabel})`, () => {
  const suite = useTestServer({ METRICS_PORT: '0' });

  it('serves /metrics on METRICS_PORT, bound to 127.0.0.1 by default, and not on the main port', async () => {
    const metricsUrl = suite.server.app.metricsUrl as string;
    expect(metricsUrl).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect(metricsUrl).not.toBe(suite.server.url);
    const text = await scrape(metricsUrl, undefined);
    expect(text).toContain('# TYPE parley_sockets_connected gauge');
    expectError(await suite.api('GET', '/metrics'), 404, 'NOT_FOUND');
    const other = await fetch(`${metricsUrl}/api/v1/users/me`);
    expect(other.status).toBe(404);
  });
});

describe(`metrics on a separate port with a token (${storageLabel})`, () => {
  const suite = useTestServer({ METRICS_PORT: '0', METRICS_TOKEN: TOKEN });

  it('asks for the token on the metrics port too', async () => {
    const metricsUrl = suite.server.app.metricsUrl as string;
    expect((await fetch(`${metricsUrl}/metrics`)).status).toBe(401);
    expect((await fetch(`${metricsUrl}/metrics`, { headers: { authorization: 'Bearer nope' } })).status).toBe(401);
    expect(await scrape(metricsUrl)).toContain('parley_messages_total');
  });
});

describe('metrics configuration', () => {
  const load = (env: Record<string, string>) => {
    const cwd = mkdtempSync(path.join(tmpdir(), 'parley-metrics-config-'));
    try {
      return loadConfig({ env, cwd });
    } finally {
      rmSync(cwd, { recursive: true, force: true });
    }
  };
  const refusal = (env: Record<string, string>): ConfigError => {
    try {
      load(env);
    } catch (error) {
      if (error instanceof ConfigError) return error;
      throw error;
    }
    throw new Error('expected a ConfigError');
  };

  it('is off without METRICS_TOKEN and METRICS_PORT, and binds the metrics port to 127.0.0.1 by default', () => {
    expect(load({}).metrics).toBeUndefined();
    expect(load({ METRICS_TOKEN: TOKEN }).metrics).toEqual({ token: TOKEN, port: undefined, host: '127.0.0.1' });
    expect(load({ METRICS_PORT: '9464' }).metrics).toEqual({ token: undefined, port: 9464, host: '127.0.0.1' });
  });

  it('refuses a short token, a token with spaces and METRICS_PORT equal to PORT, without echoing the token', () => {
    const short = refusal({ METRICS_TOKEN: 'short' });
    expect(short.variable).toBe('METRICS_TOKEN');
    expect(short.message).not.toContain('short');
    expect(refusal({ METRICS_TOKEN: 'has a space in it somewhere' }).variable).toBe('METRICS_TOKEN');
    expect(refusal({ PORT: '3000', METRICS_PORT: '3000' }).variable).toBe('METRICS_PORT');
    expect(refusal({ METRICS_PORT: 'abc' }).variable).toBe('METRICS_PORT');
  });
});
