import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { io, type Socket } from 'socket.io-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Ack, Message, UserStatusEvent } from '../src/client/index.js';
import { apiClient, newUser, type TestUser } from './support/http.js';
import { ROOT, type ServerProcess, spawnServer } from './support/process.js';
import { createTestEnvironment, TEST_DATABASE_URL, TEST_REDIS_URL, type TestEnvironment, testEnvVars } from './support/server.js';
import { eventually, freePort } from './support/services.js';

/**
 * Real nginx (Debian's package) built from docs/deploy/nginx.conf in front of two Parley processes
 * on MariaDB and Redis: chat and presence between clients that land on different processes, which
 * nginx's own access log (with each request's upstream) proves.
 */
const NGINX = '/usr/sbin/nginx';
const CLUSTER_DATABASE_URL = TEST_DATABASE_URL ?? 'mysql://root@127.0.0.1:3306/parley_test';
const CLUSTER_REDIS_URL = TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';

/** The documented site config with this test's upstreams and port; nothing else changed. */
function siteConfig(upstreams: string[], port: number): string {
  const template = readFileSync(path.join(ROOT, 'docs', 'deploy', 'nginx.conf'), 'utf8');
  const servers = template.match(/^\s*server 127\.0\.0\.1:\d+[^\n]*\n/gm) ?? [];
  expect(servers.length).toBeGreaterThanOrEqual(2);
  let site = template.replace(servers.slice(1).join(''), '');
  site = site.replace(servers[0] as string, upstreams.map((address) => (servers[0] as string).replace(/127\.0\.0\.1:\d+/, address)).join(''));
  expect(site).toMatch(/^\s*listen 80;$/m);
  return site.replace(/^(\s*)listen 80;$/m, `$1listen 127.0.0.1:${port};`);
}

/** The main nginx.conf a package would ship, reduced to a scratch directory. */
function mainConfig(dir: string): string {
  return [
    ...(process.getuid?.() === 0 ? ['user root;'] : []),
    'daemon off;',
    'worker_processes 1;',
    `pid ${dir}/nginx.pid;`,
    `error_log ${dir}/error.log warn;`,
    'events { worker_connections 1024; }',
    'http {',
    "  log_format upstreams '$request_uri $status $upstream_addr';",
    `  access_log ${dir}/access.log upstreams;`,
    ...['client_body', 'proxy', 'fastcgi', 'uwsgi', 'scgi'].map((kind) => `  ${kind}_temp_path ${dir}/${kind}_temp;`),
    `  include ${dir}/parley.conf;`,
    '}',
  ].join('\n');
}

function connectThrough(url: string, token: string, who: string): Promise<Socket> {
  // Only the websocket transport: no sticky sessions needed. `who` marks the handshake in nginx's log.
  const socket = io(url, { path: '/socket.io', transports: ['websocket'], auth: { token }, query: { who }, forceNew: true, reconnection: false });
  return new Promise((resolve, reject) => {
    socket.once('connect', () => resolve(socket));
    socket.once('connect_error', reject);
  });
}

describe('nginx in front of two Parley processes (MariaDB + Redis)', () => {
  let env: TestEnvironment;
  let p1: ServerProcess;
  let p2: ServerProcess;
  let nginx: ChildProcess;
  let nginxDir: string;
  let front: string;
  let nginxErr = '';
  const sockets: Socket[] = [];

  beforeAll(async () => {
    env = await createTestEnvironment({ databaseUrl: CLUSTER_DATABASE_URL, redisUrl: CLUSTER_REDIS_URL });
    const JWT_SECRET = randomBytes(32).toString('hex');
    const vars = (n: number) => testEnvVars(env, { JWT_SECRET, TRUST_PROXY: 'true', LOG_DIR: path.join(env.dataDir, `logs-${n}`) });
    p1 = await spawnServer(vars(1));
    p2 = await spawnServer(vars(2));
    nginxDir = path.join(env.dataDir, 'nginx');
    mkdirSync(nginxDir, { recursive: true });
    const port = await freePort();
    writeFileSync(path.join(nginxDir, 'parley.conf'), siteConfig([new URL(p1.url).host, new URL(p2.url).host], port));
    writeFileSync(path.join(nginxDir, 'nginx.conf'), mainConfig(nginxDir));
    nginx = spawn(NGINX, ['-p', nginxDir, '-c', path.join(nginxDir, 'nginx.conf')], { stdio: ['ignore', 'ignore', 'pipe'] });
    nginx.stderr?.on('data', (chunk: Buffer) => (nginxErr += chunk.toString()));
    front = `http://127.0.0.1:${port}`;
    await eventually(async () => (await fetch(`${front}/healthz`)).status === 200, 100);
  });

  afterAll(async () => {
    for (const socket of sockets) socket.close();
    if (nginx && nginx.exitCode === null) {
      const exited = new Promise((resolve) => nginx.once('exit', resolve));
      nginx.kill('SIGQUIT');
      await exited;
    }
    for (const proc of [p1, p2]) {
      if (!proc || proc.child.exitCode !== null) continue;
      proc.child.kill('SIGTERM');
      await proc.exited;
    }
    await env?.dispose();
  });

  /** Upstream address of each request nginx logged whose URI contains `marker`. */
  function upstreamsOf(marker: string): string[] {
    const log = readFileSync(path.join(nginxDir, 'access.log'), 'utf8');
    return log
      .split('\n')
      .filter((line) => line.includes(marker))
      .map((line) => line.split(' ')[2] ?? '');
  }

  it('serves REST through nginx, spread over both processes', async () => {
    const api = apiClient(front);
    for (let i = 0; i < 6; i++) expect((await api('GET', `/readyz?probe=rest${i}`)).status).toBe(200);
    // nginx writes the access log line after the response has gone out: wait for all six.
    await eventually(async () => Array.from({ length: 6 }, (_, i) => upstreamsOf(`probe=rest${i}`).length === 1).every(Boolean));
    const used = new Set(Array.from({ length: 6 }, (_, i) => upstreamsOf(`probe=rest${i}`)[0]));
    expect(used).toEqual(new Set([new URL(p1.url).host, new URL(p2.url).host]));
  });

  it('runs chat and presence between clients on different processes', { timeout: 60_000 }, async () => {
    const api = apiClient(front);
    const alice: TestUser = await newUser(api);
    const bob: TestUser = await newUser(api);
    const request = await api('POST', '/friend-requests', { token: alice.accessToken, body: { toUserId: bob.id } });
    expect((await api('POST', `/friend-requests/${request.body.id}/accept`, { token: bob.accessToken })).status).toBe(200);
    const conversation = await api('POST', '/conversations', { token: alice.accessToken, body: { peerId: bob.id } });

    const aliceSocket = await connectThrough(front, alice.accessToken, 'alice');
    sockets.push(aliceSocket);
    const statuses: UserStatusEvent[] = [];
    aliceSocket.on('user_status', (event: UserStatusEvent) => statuses.push(event));
    // least_conn: alice's WebSocket keeps her process busier, so bob's goes to the other one.
    const bobSocket = await connectThrough(front, bob.accessToken, 'bob');
    await eventually(async () => statuses.some((e) => e.userId === bob.id && e.status === 'online'));

    const bobGot = new Promise<Message>((resolve) => bobSocket.once('chat', resolve));
    const sent = (await aliceSocket
      .timeout(5000)
      .emitWithAck('chat', { conversationId: conversation.body.id, type: 'text', content: 'through nginx 🌐', clientMsgId: 'n1' })) as Ack<Message>;
    expect(sent.ok).toBe(true);
    expect((await bobGot).content).toBe('through nginx 🌐');
    const aliceGot = new Promise<Message>((resolve) => aliceSocket.once('chat', resolve));
    const reply = (await bobSocket
      .timeout(5000)
      .emitWithAck('chat', { conversationId: conversation.body.id, type: 'text', content: 'and back', clientMsgId: 'n2' })) as Ack<Message>;
    expect(reply.ok).toBe(true);
    expect((await aliceGot).content).toBe('and back');
    const friends = await api('GET', '/friends', { token: alice.accessToken });
    expect(friends.body.items.find((f: { user: { id: string } }) => f.user.id === bob.id)?.presence.status).toBe('online');

    bobSocket.close();
    await eventually(async () => statuses.some((e) => e.userId === bob.id && e.status === 'offline'));
    aliceSocket.close();
    // nginx logs a WebSocket when it closes: the two handshakes went to different processes.
    await eventually(async () => upstreamsOf('who=alice').length === 1 && upstreamsOf('who=bob').length === 1);
    const [aliceUpstream] = upstreamsOf('who=alice');
    const [bobUpstream] = upstreamsOf('who=bob');
    expect(new Set([aliceUpstream, bobUpstream])).toEqual(new Set([new URL(p1.url).host, new URL(p2.url).host]));
  });

  it('passes the client address on: Parley (TRUST_PROXY=true) logs what nginx saw', async () => {
    const api = apiClient(front);
    const carol = await newUser(api);
    const logs = await api('GET', '/users/me/login-logs', { token: carol.accessToken });
    expect(logs.body.items[0].ip).toBe('127.0.0.1');
    // A client-sent X-Forwarded-For is kept as the first hop; nginx appends the address it saw.
    const spoofed = await api('POST', '/auth/login', { body: { username: carol.username, password: carol.password }, headers: { 'x-forwarded-for': '203.0.113.5' } });
    expect(spoofed.status).toBe(200);
    expect(nginxErr).not.toMatch(/\[emerg\]|\[alert\]/);
  });
});
