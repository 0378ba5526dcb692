import { createHash } from 'node:crypto';
import { statSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { download, MiB, randomData, sha256 } from './support/files.js';
import { newUser } from './support/http.js';
import { storageLabel } from './support/server.js';
import { eventually } from './support/services.js';
import { useTestServer } from './support/suite.js';

/** `Upload-Checksum` value for `bytes`. */
const checksumOf = (algorithm: string, bytes: Buffer) => `${algorithm} ${createHash(algorithm).update(bytes).digest('base64')}`;

describe(`tus checksum extension (${storageLabel})`, () => {
  const ctx = useTestServer();
  const url = () => ctx.server.url;

  const tusHeaders = (token: string, extra: Record<string, string> = {}) => ({ authorization: `Bearer ${token}`, 'tus-resumable': '1.0.0', ...extra });

  /** POSTs an upload of `size` bytes (optionally with a first chunk) and returns its absolute URL. */
  async function create(token: string, size: number, firstChunk?: { bytes: Buffer; checksum?: string }) {
    const res = await fetch(`${url()}/api/v1/uploads`, {
      method: 'POST',
      headers: tusHeaders(token, {
        'upload-length': String(size),
        'upload-metadata': `filename ${Buffer.from('sum.bin').toString('base64')},purpose ${Buffer.from('attachment').toString('base64')}`,
        ...(firstChunk ? { 'content-type': 'application/offset+octet-stream' } : {}),
        ...(firstChunk?.checksum ? { 'upload-checksum': firstChunk.checksum } : {}),
      }),
      body: firstChunk?.bytes,
    });
    const location = res.headers.get('location');
    return { res, uploadUrl: location ? new URL(location, url()).href : undefined };
  }

  async function patch(uploadUrl: string, token: string, offset: number, bytes: Buffer, checksum?: string) {
    return fetch(uploadUrl, {
      method: 'PATCH',
      headers: tusHeaders(token, { 'upload-offset': String(offset), 'content-type': 'application/offset+octet-stream', ...(checksum ? { 'upload-checksum': checksum } : {}) }),
      body: bytes,
    });
  }

  async function offsetOf(uploadUrl: string, token: string): Promise<number> {
    const res = await fetch(uploadUrl, { method: 'HEAD', headers: tusHeaders(token) });
    expect(res.status).toBe(200);
    return Number(res.headers.get('upload-offset'));
  }

  /** The stored SHA-256 and the downloaded bytes of a finished upload. */
  async function stored(fileId: string, token: string) {
    const meta = await ctx.api<{ sha256: string; size: number }>('GET', `/files/${fileId}`, { token });
    expect(meta.status).toBe(200);
    const body = await download(`${url()}/api/v1/files/${fileId}/content`, token);
    expect(body.status).toBe(200);
    return { sha256: meta.body.sha256, bytes: body.bytes };
  }

  it('advertises the checksum extension and its algorithms on OPTIONS', async () => {
    const res = await fetch(`${url()}/api/v1/uploads`, { method: 'OPTIONS' });
    expect(res.status).toBe(204);
    expect(res.headers.get('tus-extension')?.split(',')).toContain('checksum');
    const algorithms = res.headers.get('tus-checksum-algorithm')?.split(',') ?? [];
    expect(algorithms).toEqual(expect.arrayContaining(['sha1', 'sha256']));
    expect(res.headers.get('access-control-allow-headers')?.toLowerCase()).toContain('upload-checksum');
  });

  it('takes matching chunks, discards a mismatching one (460, offset kept) and accepts it when resent', async () => {
    const user = await newUser(ctx.api);
    const data = randomData(3 * MiB + 123);
    const [one, two, three] = [data.subarray(0, MiB), data.subarray(MiB, 2 * MiB), data.subarray(2 * MiB)];
    const { res: created, uploadUrl } = await create(user.accessToken, data.length);
    expect(created.status).toBe(201);
    if (!uploadUrl) throw new Error('no Location');

    const first = await patch(uploadUrl, user.accessToken, 0, one, checksumOf('sha1', one));
    expect(first.status).toBe(204);
    expect(Number(first.headers.get('upload-offset'))).toBe(MiB);

    // A digest of other bytes: well-formed, wrong.
    const mismatch = await patch(uploadUrl, user.accessToken, MiB, two, checksumOf('sha1', three));
    expect(mismatch.status).toBe(460);
    expect(mismatch.statusText).toBe('Checksum Mismatch');
    expect(((await mismatch.json()) as { error: { code: string } }).error.code).toBe('CHECKSUM_MISMATCH');
    expect(await offsetOf(uploadUrl, user.accessToken)).toBe(MiB);

    const resent = await patch(uploadUrl, user.accessToken, MiB, two, checksumOf('sha256', two));
    expect(resent.status).toBe(204);
    expect(Number(resent.headers.get('upload-offset'))).toBe(2 * MiB);

    const last = await patch(uploadUrl, user.accessToken, 2 * MiB, three, checksumOf('sha1', three));
    expect(last.status).toBe(204);
    const fileId = last.headers.get('parley-file-id');
    if (!fileId) throw new Error('no Parley-File-Id');

    const file = await stored(fileId, user.accessToken);
    expect(file.bytes.equals(data)).toBe(true);
    expect(file.sha256).toBe(sha256(data));
  }, 30_000);

  it('refuses an unsupported algorithm or a malformed digest with 400 and keeps the offset', async () => {
    const user = await newUser(ctx.api);
    const data = randomData(64 * 1024);
    const { uploadUrl } = await create(user.accessToken, data.length);
    if (!uploadUrl) throw new Error('no Location');
    for (const checksum of ['crc99 AAAA', 'sha1 not-base64!', `sha1 ${Buffer.alloc(5).toString('base64')}`, 'sha1']) {
      const res = await patch(uploadUrl, user.accessToken, 0, data, checksum);
      expect(res.status, checksum).toBe(400);
      expect(((await res.json()) as { error: { code: string } }).error.code).toBe('VALIDATION_FAILED');
      expect(await offsetOf(uploadUrl, user.accessToken)).toBe(0);
    }
    const ok = await patch(uploadUrl, user.accessToken, 0, data, checksumOf('md5', data));
    expect(ok.status).toBe(204);
    const fileId = ok.headers.get('parley-file-id') as string;
    expect((await stored(fileId, user.accessToken)).sha256).toBe(sha256(data));
  });

  it('checks a first chunk sent with the creation request (creation-with-upload)', async () => {
    const user = await newUser(ctx.api);
    const data = randomData(2 * MiB);
    const head = data.subarray(0, MiB);
    const { res: refused } = await create(user.accessToken, data.length, { bytes: head, checksum: checksumOf('sha1', data.subarray(MiB)) });
    expect(refused.status).toBe(460);

    const { res: created, uploadUrl } = await create(user.accessToken, data.length, { bytes: head, checksum: checksumOf('sha1', head) });
    expect(created.status).toBe(201);
    expect(Number(created.headers.get('upload-offset'))).toBe(MiB);
    if (!uploadUrl) throw new Error('no Location');
    const last = await patch(uploadUrl, user.accessToken, MiB, data.subarray(MiB), checksumOf('sha1', data.subarray(MiB)));
    expect(last.status).toBe(204);
    const file = await stored(last.headers.get('parley-file-id') as string, user.accessToken);
    expect(file.bytes.equals(data)).toBe(true);
    expect(file.sha256).toBe(sha256(data));
  });

  it('drops the part of a checksummed chunk that arrived before the client went away', async () => {
    const user = await newUser(ctx.api);
    const data = randomData(2 * MiB);
    const { uploadUrl } = await create(user.accessToken, data.length);
    if (!uploadUrl) throw new Error('no Location');
    const onDisk = path.join(ctx.env.dataDir, 'uploads', 'tus', uploadUrl.split('/').pop() as string);
    const req = httpRequest(uploadUrl, {
      method: 'PATCH',
      headers: {
        ...tusHeaders(user.accessToken, { 'upload-offset': '0', 'content-type': 'application/offset+octet-stream', 'upload-checksum': checksumOf('sha1', data) }),
        'content-length': String(data.length),
      },
    });
    req.on('error', () => {});
    req.write(data.subarray(0, MiB));
    // Half the chunk reached the disk (watched there: a HEAD would take the upload's lock from the PATCH).
    await eventually(async () => statSync(onDisk).size > 0);
    req.destroy();
    await eventually(async () => statSync(onDisk).size === 0);
    expect(await offsetOf(uploadUrl, user.accessToken)).toBe(0);
    const resent = await patch(uploadUrl, user.accessToken, 0, data, checksumOf('sha1', data));
    expect(resent.status).toBe(204);
    expect((await stored(resent.headers.get('parley-file-id') as string, user.accessToken)).sha256).toBe(sha256(data));
  });

  it('still takes PATCHes without Upload-Checksum', async () => {
    const user = await newUser(ctx.api);
    const data = randomData(MiB + 7);
    const { uploadUrl } = await create(user.accessToken, data.length);
    if (!uploadUrl) throw new Error('no Location');
    const first = await patch(uploadUrl, user.accessToken, 0, data.subarray(0, MiB));
    expect(first.status).toBe(204);
    expect(await offsetOf(uploadUrl, user.accessToken)).toBe(MiB);
    const last = await patch(uploadUrl, user.accessToken, MiB, data.subarray(MiB));
    expect(last.status).toBe(204);
    const file = await stored(last.headers.get('parley-file-id') as string, user.accessToken);
    expect(file.bytes.equals(data)).toBe(true);
    expect(file.sha256).toBe(sha256(data));
  });
});
