import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ParleyClient } from '../src/client/index.js';
import { type ServerProcess, spawnServer } from './support/process.js';
import { befriend, processPair, SHARED_DATABASE_URL, SHARED_DIALECT, waitForDisconnect } from './support/process-pair.js';
import { nextEvent, registerClient } from './support/realtime.js';
import { createTestEnvironment, type TestEnvironment, testEnvVars } from './support/server.js';
import { freePort } from './support/services.js';

const run = promisify(execFile);

/**
 * Two Parley processes on a three-node Redis Cluster this suite starts itself (no replicas, no
 * persistence), sharing the suite's MariaDB or PostgreSQL (MariaDB on the embedded pass).
 */
const DATABASE_URL = SHARED_DATABASE_URL;
const DIALECT = SHARED_DIALECT;

interface RedisCluster {
  ports: number[];
  stop(): Promise<void>;
}

async function redisCli(port: number, ...args: string[]): Promise<string> {
  const { stdout } = await run('redis-cli', ['-p', String(port), ...args]);
  return stdout;
}

function startNode(port: number, dir: string): Promise<ChildProcess> {
  const child = spawn(
    'redis-server',
    [
      '--port',
      String(port),
      '--bind',
      '127.0.0.1',
      '--cluster-enabled',
      'yes',
      '--cluster-config-file',
      path.join(dir, `nodes-${port}.conf`),
      '--dir',
      dir,
      '--save',
      '',
      '--appendonly',
      'no',
      '--daemonize',
      'no',
    ],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let out = '';
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`redis-server ${port} did not start: ${out}`)), 10_000);
    child.stdout?.on('data', (chunk: Buffer) => {
      out += chunk.toString();
      if (out.includes('Ready to accept connections')) {
        clearTimeout(timer);
        resolve(child);
      }
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`redis-server ${port} exited with ${code}: ${out}`));
    });
  });
}

async function startRedisCluster(): Promise<RedisCluster> {
  const dir = mkdtempSync(path.join(tmpdir(), 'parley-redis-cluster-'));
  const ports = [await freePort(), await freePort(), await freePort()];
  const children: ChildProcess[] = [];
  const stop = async () => {
    await Promise.all(
      children.map((child) => {
        if (child.exitCode !== null) return undefined;
        const exited = new Promise((resolve) => child.once('exit', resolve));
        child.kill('SIGKILL');
        return exited;
      }),
    );
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    for (const port of ports) children.push(await startNode(port, dir));
    await run('redis-cli', ['--cluster', 'create', ...ports.map((port) => `127.0.0.1:${port}`), '--cluster-replicas', '0', '--cluster-yes']);
    const deadline = Date.now() + 20_000;
    for (const port of ports) {
      while (!(await redisCli(port, 'cluster', 'info')).includes('cluster_state:ok')) {
        if (Date.now() > deadline) throw new Error(`redis cluster node ${port} never reached cluster_state:ok`);
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
    }
  } catch (error) {
    await stop();
    throw error;
  }
  return { ports, stop };
}

let cluster: RedisCluster;

beforeAll(async () => {
  cluster = await startRedisCluster();
}, 60_000);

afterAll(async () => {
  await cluster?.stop();
});

/** Every sharded channel the cluster's masters hold (each node lists those of its own slots). */
async function shardChannels(): Promise<string[]> {
  const lists = await Promise.all(cluster.ports.map((port) => redisCli(port, 'pubsub', 'shardchannels')));
  return lists.flatMap((list) => list.split('\n').filter(Boolean));
}

/** How many subscriptions the cluster holds to the shard channels whose name contains `fragment` (one per process). */
async function shardSubscribers(fragment: string): Promise<number> {
  const channels = (await shardChannels()).filter((channel) => channel.includes(fragment));
  let total = 0;
  for (const channel of channels) {
    for (const port of cluster.ports) {
      // `channel\ncount` from the node that owns the channel's slot; other nodes answer 0.
      const count = Number((await redisCli(port, 'pubsub', 'shardnumsub', channel)).split('\n')[1]);
      if (Number.isInteger(count)) total += count;
    }
  }
  return total;
}

describe.each(['sharded', 'classic'] as const)(`two processes on a three-node Redis Cluster and ${DIALECT}, %s socket adapter`, (SOCKET_ADAPTER) => {
  let env: TestEnvironment;
  let p1: ServerProcess;
  let p2: ServerProcess;
  const { clients, userOn } = processPair(() => ({ processes: [p1, p2], env }));

  beforeAll(async () => {
    // No redisUrl here: the cluster is this suite's own and goes away with it, keys and all.
    env = await createTestEnvironment({ databaseUrl: DATABASE_URL });
    const vars = {
      JWT_SECRET: randomBytes(32).toString('hex'),
      SOCKET_ADAPTER,
      SEND_RATE_LIMIT_MAX: '5',
      SEND_RATE_LIMIT_WINDOW: '60',
    };
    // Seed nodes in both spellings, one per process (a single seed finds the other masters).
    // The suite's own REDIS_URL (TEST_REDIS_URL) is not this cluster: the first process names it by REDIS_CLUSTER_NODES alone.
    const { REDIS_URL: _suiteRedis, ...firstVars } = testEnvVars(env, { ...vars, LOG_DIR: path.join(env.dataDir, 'logs-1') });
    p1 = await spawnServer({ ...firstVars, REDIS_CLUSTER_NODES: cluster.ports.map((port) => `127.0.0.1:${port}`).join(',') });
    p2 = await spawnServer(testEnvVars(env, { ...vars, REDIS_URL: `redis+cluster://127.0.0.1:${cluster.ports[1]}`, LOG_DIR: path.join(env.dataDir, 'logs-2') }));
  }, 120_000);

  it('runs both processes on the cluster, ready', async () => {
    for (const proc of [p1, p2]) {
      expect((await fetch(`${proc.url}/readyz`)).status).toBe(200);
      expect(proc.stdout()).toContain(`"database":"${DIALECT}","cache":"redis"`);
    }
  });

  it('delivers a private message across processes, both ways', async () => {
    const alice = await userOn(p1);
    const bob = await userOn(p2);
    const { id: conversationId } = await alice.client.request<{ id: string }>('POST', '/conversations', { peerId: bob.id });
    const bobGot = nextEvent(bob.client.socket!, 'chat');
    const sent = await alice.client.emit('chat', { conversationId, type: 'text', content: 'over the cluster', clientMsgId: 'c1' });
    expect(await bobGot).toEqual({ ...sent, notify: true });
    const aliceGot = nextEvent(alice.client.socket!, 'chat');
    const reply = await bob.client.emit('chat', { conversationId, type: 'text', content: '收到', clientMsgId: 'c2' });
    expect(await aliceGot).toEqual({ ...reply, notify: true });

    // The sharded adapter subscribes a channel per room (here each user's own room); classic uses none.
    const channels = await shardChannels();
    const ofUsers = channels.filter((channel) => channel.includes(`user:${alice.id}`) || channel.includes(`user:${bob.id}`));
    expect(ofUsers.length).toBe(SOCKET_ADAPTER === 'sharded' ? 2 : 0);
  });

  it('delivers a group message to members on both processes', async () => {
    const owner = await userOn(p1);
    const bob = await userOn(p2);
    const carol = await userOn(p1);
    await befriend(owner, bob);
    await befriend(owner, carol);
    const group = await owner.client.request<{ id: string; conversationId: string }>('POST', '/groups', { name: 'slots', memberIds: [bob.id, carol.id] });
    const isText = (m: { conversationId: string; type: string }) => m.conversationId === group.conversationId && m.type !== 'system';
    if (SOCKET_ADAPTER === 'sharded') {
      // The create was answered once p2 had subscribed the group's channel (on the node owning its slot).
      expect(await shardSubscribers(group.conversationId)).toBeGreaterThanOrEqual(2);
    }
    const got = [nextEvent(bob.client.socket!, 'chat', isText), nextEvent(carol.client.socket!, 'chat', isText)];
    const sent = await owner.client.emit('chat', { conversationId: group.conversationId, type: 'text', content: 'hello group', clientMsgId: 'g1' });
    expect(await Promise.all(got)).toEqual([sent, sent].map((message) => ({ ...message, notify: true })));
    const ownerGot = nextEvent(owner.client.socket!, 'chat', isText);
    const fromBob = await bob.client.emit('chat', { conversationId: group.conversationId, type: 'text', content: 'from p2', clientMsgId: 'g2' });
    expect(await ownerGot).toEqual({ ...fromBob, notify: true });
  });

  it('shows presence across processes', async () => {
    const alice = await userOn(p1);
    const bob = await registerClient(p2.url);
    clients.push(bob.client);
    await befriend(alice, bob);
    const online = nextEvent(alice.client.socket!, 'user_status', (event) => event.userId === bob.id);
    await bob.client.connect();
    expect(await online).toEqual({ userId: bob.id, status: 'online', lastSeenAt: null });
    const friends = await alice.client.request<{ items: Array<{ user: { id: string }; presence: { status: string } }> }>('GET', '/friends');
    expect(friends.items.find((item) => item.user.id === bob.id)?.presence.status).toBe('online');
    const offline = nextEvent(alice.client.socket!, 'user_status', (event) => event.userId === bob.id && event.status === 'offline');
    bob.client.disconnect();
    expect((await offline).status).toBe('offline');
  });

  it('counts one send limit for a user across both processes (the counter lives in the cluster)', async () => {
    const alice = await userOn(p1);
    const bob = await userOn(p2);
    const { id: conversationId } = await alice.client.request<{ id: string }>('POST', '/conversations', { peerId: bob.id });
    const second = new ParleyClient(p2.url);
    clients.push(second);
    await second.login({ username: alice.username, password: alice.password });
    await second.connect();
    // SEND_RATE_LIMIT_MAX is 5: three sends on p1 and two on p2 use it up, the sixth is refused on either.
    for (let i = 0; i < 3; i++) await alice.client.emit('chat', { conversationId, type: 'text', content: `p1 ${i}`, clientMsgId: `a${i}` });
    for (let i = 0; i < 2; i++) await second.emit('chat', { conversationId, type: 'text', content: `p2 ${i}`, clientMsgId: `b${i}` });
    await expect(alice.client.emit('chat', { conversationId, type: 'text', content: 'too many', clientMsgId: 'a9' })).rejects.toMatchObject({ code: 'RATE_LIMITED' });
    await expect(second.emit('chat', { conversationId, type: 'text', content: 'too many', clientMsgId: 'b9' })).rejects.toMatchObject({ code: 'RATE_LIMITED' });
  });

  it('disconnects a socket on one process when its session logs out on the other', async () => {
    const dave = await registerClient(p1.url);
    clients.push(dave.client);
    const phone = new ParleyClient(p2.url);
    clients.push(phone);
    await phone.login({ username: dave.username, password: dave.password });
    const phoneSocket = await phone.connect();
    const revoked = nextEvent(phoneSocket, 'session_revoked');
    const gone = waitForDisconnect(phoneSocket);
    await new ParleyClient(p1.url, { accessToken: phone.accessToken }).request('POST', '/auth/logout');
    expect(await gone).toBe('io server disconnect');
    expect((await revoked).reason).toEqual(expect.any(String));
    // The revocation is in the cluster: the token is refused on both processes.
    for (const proc of [p1, p2]) {
      await expect(new ParleyClient(proc.url, { accessToken: phone.accessToken }).request('GET', '/users/me')).rejects.toMatchObject({ code: 'UNAUTHORIZED' });
    }
  });
});
