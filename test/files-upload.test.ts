import { existsSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ParleySocket } from '../src/client/index.js';
import { bodyOf, download, MiB, randomData, sha256, statusOf, tusUpload } from './support/files.js';
import { apiClient, newUser } from './support/http.js';
import { collect, connectedUser, nextEvent, secondDevice } from './support/realtime.js';
import { createTestEnvironment, startServer, storageLabel, type TestEnvironment, type TestServer } from './support/server.js';
import { useTestServer } from './support/suite.js';

describe(`tus uploads (${storageLabel})`, () => {
  const ctx = useTestServer();
  const url = () => ctx.server.url;

  it("takes 50 MB in 1 MB chunks, reports progress to the uploader's devices, and serves the same bytes back", async () => {
    const owner = await connectedUser(url());
    const otherDevice = await secondDevice(url(), owner);
    const events = collect(otherDevice.socket as ParleySocket, 'file_transfer');
    const data = randomData(50 * MiB);
    const offsets: number[] = [];
    const done = nextEvent(otherDevice.socket as ParleySocket, 'file_transfer', (event) => event.state === 'complete', 60_000);
    const startedAt = Date.now();
    const result = await tusUpload(url(), data, {
      token: owner.client.accessToken as string,
      chunkSize: MiB,
      metadata: { filename: 'big.bin', contentType: 'application/octet-stream', purpose: 'attachment' },
      patchOffsets: offsets,
    });
    expect(offsets).toHaveLength(50);
    const complete = await done;
    const elapsedMs = Date.now() - startedAt;
    expect(complete).toMatchObject({ state: 'complete', fileId: result.fileId, offset: 50 * MiB, size: 50 * MiB });

    const progress = events.filter((event) => event.state === 'progress');
    expect(progress.length).toBeGreaterThanOrEqual(1);
    for (const [i, event] of progress.entries()) {
      expect(event.uploadId).toBe(result.fileId);
      expect(event.size).toBe(50 * MiB);
      expect(event.offset).toBeLessThan(50 * MiB);
      if (i > 0) expect(event.offset).toBeGreaterThan(progress[i - 1]?.offset ?? 0);
    }
    // The server spaces progress events at least 250 ms apart, so the upload's duration bounds their number.
    expect(progress.length).toBeLessThanOrEqual(Math.floor(elapsedMs / 250) + 1);
    expect(events.at(-1)?.state).toBe('complete');

    const meta = await owner.client.request<{ sha256: string; size: number; filename: string }>('GET', `/files/${result.fileId}`);
    expect(meta).toMatchObject({ size: 50 * MiB, filename: 'big.bin', sha256: sha256(data) });
    const body = await download(`${url()}/api/v1/files/${result.fileId}/content`, owner.client.accessToken as string);
    expect(body.status).toBe(200);
    expect(body.bytes.length).toBe(data.length);
    expect(sha256(body.bytes)).toBe(sha256(data));
    owner.client.disconnect();
    otherDevice.disconnect();
  }, 120_000);

  it('resumes an upload aborted half-way from the offset the server holds', async () => {
    const user = await newUser(ctx.api);
    const data = randomData(8 * MiB);
    const first = await tusUpload(url(), data, { token: user.accessToken, chunkSize: MiB, abortAfter: (accepted) => accepted >= 4 * MiB });
    expect(first.aborted).toBe(true);
    const head = await fetch(first.url, { method: 'HEAD', headers: { authorization: `Bearer ${user.accessToken}`, 'tus-resumable': '1.0.0' } });
    expect(Number(head.headers.get('upload-offset'))).toBe(4 * MiB);

    const offsets: number[] = [];
    const resumed = await tusUpload(url(), data, { token: user.accessToken, chunkSize: MiB, uploadUrl: first.url, patchOffsets: offsets });
    expect(offsets[0]).toBe(4 * MiB);
    expect(resumed.fileId).toBe(first.url.split('/').pop());
    const body = await download(`${url()}/api/v1/files/${resumed.fileId}/content`, user.accessToken);
    expect(sha256(body.bytes)).toBe(sha256(data));
    expect((await ctx.api('GET', `/files/${resumed.fileId}`, { token: user.accessToken })).body.sha256).toBe(sha256(data));
  }, 60_000);

  it('lets two users upload at the same time, each seeing only their own file', async () => {
    const [alice, bob] = await Promise.all([newUser(ctx.api), newUser(ctx.api)]);
    const [aliceData, bobData] = [randomData(12 * MiB), randomData(9 * MiB)];
    const [a, b] = await Promise.all([
      tusUpload(url(), aliceData, { token: alice.accessToken, chunkSize: 2 * MiB }),
      tusUpload(url(), bobData, { token: bob.accessToken, chunkSize: 3 * MiB }),
    ]);
    expect(sha256((await download(`${url()}/api/v1/files/${a.fileId}/content`, alice.accessToken)).bytes)).toBe(sha256(aliceData));
    expect(sha256((await download(`${url()}/api/v1/files/${b.fileId}/content`, bob.accessToken)).bytes)).toBe(sha256(bobData));
    expect((await download(`${url()}/api/v1/files/${a.fileId}/content`, bob.accessToken)).status).toBe(404);
    expect((await download(`${url()}/api/v1/files/${b.fileId}/content`, alice.accessToken)).status).toBe(404);
  }, 60_000);

  it('takes a single PATCH far larger than BODY_LIMIT_BYTES (chunks are streamed, not parsed)', async () => {
    const user = await newUser(ctx.api);
    const data = randomData(24 * MiB);
    const result = await tusUpload(url(), data, { token: user.accessToken });
    const meta = await ctx.api('GET', `/files/${result.fileId}`, { token: user.accessToken });
    expect(meta.body.sha256).toBe(sha256(data));
  }, 60_000);

  it('takes the first chunk on the creation request (creation-with-upload)', async () => {
    const user = await newUser(ctx.api);
    const data = randomData(3 * MiB);
    const offsets: number[] = [];
    const result = await tusUpload(url(), data, { token: user.accessToken, chunkSize: 2 * MiB, withCreation: true, patchOffsets: offsets });
    expect(offsets).toEqual([2 * MiB]);
    expect(sha256((await download(`${url()}/api/v1/files/${result.fileId}/content`, user.accessToken)).bytes)).toBe(sha256(data));
  });

  it('refuses tus requests without a valid token with 401 and the JSON error shape', async () => {
    const noToken = await fetch(`${url()}/api/v1/uploads`, { method: 'POST', headers: { 'tus-resumable': '1.0.0', 'upload-length': '10' } });
    expect(noToken.status).toBe(401);
    expect(((await noToken.json()) as { error: { code: string } }).error.code).toBe('UNAUTHORIZED');
    const badToken = await fetch(`${url()}/api/v1/uploads`, { method: 'POST', headers: { authorization: 'Bearer nope', 'tus-resumable': '1.0.0', 'upload-length': '10' } });
    expect(badToken.status).toBe(401);
    expect(((await badToken.json()) as { error: { code: string } }).error.code).toBe('UNAUTHORIZED');
    const error = await tusUpload(url(), randomData(10), { token: 'not-a-token' }).catch((e: unknown) => e);
    expect(statusOf(error)).toBe(401);
    expect(JSON.parse(bodyOf(error) ?? '{}').error.code).toBe('UNAUTHORIZED');
  });

  it("hides another user's upload (HEAD, PATCH, DELETE answer 404) and never takes an id from the client", async () => {
    const [alice, mallory] = await Promise.all([newUser(ctx.api), newUser(ctx.api)]);
    const started = await tusUpload(url(), randomData(3 * MiB), { token: alice.accessToken, chunkSize: MiB, abortAfter: () => true });
    for (const method of ['HEAD', 'PATCH', 'DELETE']) {
      const res = await fetch(started.url, {
        method,
        headers: { authorization: `Bearer ${mallory.accessToken}`, 'tus-resumable': '1.0.0', 'upload-offset': String(MiB), 'content-type': 'application/offset+octet-stream' },
        body: method === 'PATCH' ? Buffer.alloc(10) : undefined,
      });
      expect(res.status, method).toBe(404);
    }
    expect(started.url).toMatch(/\/api\/v1\/uploads\/[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[0-9a-f]{4}-[0-9a-f]{12}$/);
    const traversal = await fetch(`${url()}/api/v1/uploads/..%2F..%2Fparley.db`, {
      method: 'HEAD',
      headers: { authorization: `Bearer ${alice.accessToken}`, 'tus-resumable': '1.0.0' },
    });
    expect(traversal.status).toBe(404);
  });

  it('terminates an upload on DELETE: its bytes go and the uploader hears it failed', async () => {
    const owner = await connectedUser(url());
    const token = owner.client.accessToken as string;
    const started = await tusUpload(url(), randomData(3 * MiB), { token, chunkSize: MiB, abortAfter: () => true });
    const id = started.url.split('/').pop() as string;
    const failed = nextEvent(owner.socket, 'file_transfer', (event) => event.state === 'failed');
    const res = await fetch(started.url, { method: 'DELETE', headers: { authorization: `Bearer ${token}`, 'tus-resumable': '1.0.0' } });
    expect(res.status).toBe(204);
    expect(await failed).toMatchObject({ uploadId: id, state: 'failed', reason: 'TERMINATED' });
    expect(existsSync(path.join(ctx.env.dataDir, 'uploads', 'tus', id))).toBe(false);
    const head = await fetch(started.url, { method: 'HEAD', headers: { authorization: `Bearer ${token}`, 'tus-resumable': '1.0.0' } });
    expect(head.status).toBe(404);
    owner.client.disconnect();
  });

  it('answers protocol discovery (OPTIONS) with the tus version and extensions', async () => {
    const res = await fetch(`${url()}/api/v1/uploads`, { method: 'OPTIONS' });
    expect(res.status).toBeLessThan(300);
    expect(res.headers.get('tus-version')).toContain('1.0.0');
    expect(res.headers.get('tus-extension')).toContain('termination');
  });
});

describe(`tus uploads across a server restart (${storageLabel})`, () => {
  let env: TestEnvironment;
  let server: TestServer | undefined;
  beforeAll(async () => {
    env = await createTestEnvironment();
  });
  afterAll(async () => {
    await server?.close();
    await env.dispose();
  });

  it('resumes from the stored offset on a new server process over the same data directory and database', async () => {
    server = await startServer(env);
    const user = await newUser(apiClient(server.url));
    const data = randomData(6 * MiB);
    const first = await tusUpload(server.url, data, { token: user.accessToken, chunkSize: MiB, abortAfter: (accepted) => accepted >= 3 * MiB });
    await server.close();

    server = await startServer(env);
    const again = `${server.url}${new URL(first.url).pathname}`;
    const offsets: number[] = [];
    const resumed = await tusUpload(server.url, data, { token: user.accessToken, chunkSize: MiB, uploadUrl: again, patchOffsets: offsets });
    expect(offsets[0]).toBe(3 * MiB);
    const body = await download(`${server.url}/api/v1/files/${resumed.fileId}/content`, user.accessToken);
    expect(sha256(body.bytes)).toBe(sha256(data));
    // The new process saw only the second half stream in: it hashed the stored file instead.
    const meta = await apiClient(server.url)('GET', `/files/${resumed.fileId}`, { token: user.accessToken });
    expect(meta.body.sha256).toBe(sha256(data));
  }, 60_000);
});

describe(`tus chunks and the request rate limit (${storageLabel})`, () => {
  const ctx = useTestServer({ RATE_LIMIT_MAX: '6' });

  it("does not count an upload's chunk requests against RATE_LIMIT_MAX (creation still counts)", async () => {
    const user = await newUser(ctx.api);
    const data = randomData(20 * 64 * 1024);
    const offsets: number[] = [];
    const result = await tusUpload(ctx.server.url, data, { token: user.accessToken, chunkSize: 64 * 1024, patchOffsets: offsets });
    expect(offsets).toHaveLength(20);
    expect((await ctx.api('GET', `/files/${result.fileId}`, { token: user.accessToken })).body.sha256).toBe(sha256(data));
  });
});
