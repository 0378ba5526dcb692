import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import sharp from 'sharp';
import { beforeAll, describe, expect, it } from 'vitest';
import type { FileTransferEvent } from '../src/client/index.js';
import { bodyOf, download, MiB, randomData, sha256, statusOf, tusUpload } from './support/files.js';
import { type Api, apiClient, expectError, newUser, type TestUser } from './support/http.js';
import { decompressionBomb } from './support/images.js';
import { connectedUser, nextEvent } from './support/realtime.js';
import { storageLabel } from './support/server.js';
import { useTestServer } from './support/suite.js';

const photo = (width = 800, height = 600) =>
  sharp({ create: { width, height, channels: 3, background: { r: 200, g: 30, b: 30 } } })
    .png()
    .toBuffer();

/** Creation request by hand, to read the refusal's status and JSON body. */
async function create(baseUrl: string, token: string, size: number, metadata: Record<string, string>) {
  const encoded = Object.entries(metadata)
    .map(([key, value]) => `${key} ${Buffer.from(value).toString('base64')}`)
    .join(',');
  const res = await fetch(`${baseUrl}/api/v1/uploads`, {
    method: 'POST',
    headers: { authorization: `Bearer ${token}`, 'tus-resumable': '1.0.0', 'upload-length': String(size), 'upload-metadata': encoded },
  });
  const text = await res.text();
  return { status: res.status, location: res.headers.get('location'), body: text ? (JSON.parse(text) as { error?: { code: string; message: string } }) : null };
}

async function upload(server: { url: string }, user: TestUser, bytes: Buffer, metadata: Record<string, string>): Promise<string> {
  return (await tusUpload(server.url, bytes, { token: user.accessToken, metadata })).fileId;
}

describe(`file rules and downloads (${storageLabel})`, () => {
  const ctx = useTestServer({ UPLOAD_MAX_BYTES: String(6 * MiB), UPLOAD_QUOTA_BYTES: String(10 * MiB), AVATAR_MAX_BYTES: String(2 * MiB) });
  const api: Api = ctx.api;
  const url = () => ctx.server.url;
  const file = (id: string, tail = '') => `${url()}/api/v1/files/${id}${tail}`;

  describe('refusals at creation, before any byte is taken', () => {
    it('refuses an attachment over UPLOAD_MAX_BYTES and an avatar over AVATAR_MAX_BYTES with 413', async () => {
      const user = await newUser(api);
      const big = await create(url(), user.accessToken, 6 * MiB + 1, { filename: 'big.bin', purpose: 'attachment' });
      expect(big.status).toBe(413);
      expect(big.body?.error?.code).toBe('PAYLOAD_TOO_LARGE');
      const avatar = await create(url(), user.accessToken, 2 * MiB + 1, { filename: 'me.png', purpose: 'avatar' });
      expect(avatar.status).toBe(413);
      expect(avatar.body?.error?.code).toBe('PAYLOAD_TOO_LARGE');
      // Nothing was created for either.
      expect(big.location).toBeNull();
      const error = await tusUpload(url(), randomData(6 * MiB + 1), { token: user.accessToken }).catch((e: unknown) => e);
      expect(statusOf(error)).toBe(413);
      expect(JSON.parse(bodyOf(error) ?? '{}').error.code).toBe('PAYLOAD_TOO_LARGE');
    });

    it("refuses an upload that would exceed the user's quota, counting finished files and uploads in progress", async () => {
      const user = await newUser(api);
      await upload(ctx.server, user, randomData(5 * MiB), { filename: 'a.bin' });
      const pending = await create(url(), user.accessToken, 4 * MiB, { filename: 'b.bin' });
      expect(pending.status).toBe(201);
      const over = await create(url(), user.accessToken, 2 * MiB, { filename: 'c.bin' });
      expect(over.status).toBe(413);
      expect(over.body?.error?.code).toBe('PAYLOAD_TOO_LARGE');
      expect(over.body?.error?.message).toMatch(/quota/);
      // Another user's quota is their own.
      const other = await newUser(api);
      expect((await create(url(), other.accessToken, 2 * MiB, { filename: 'c.bin' })).status).toBe(201);
    });

    it('refuses an unknown purpose and malformed metadata with 400', async () => {
      const user = await newUser(api);
      expectError({ ...(await create(url(), user.accessToken, 10, { purpose: 'root' })), headers: new Headers() }, 400, 'VALIDATION_FAILED');
      const res = await fetch(`${url()}/api/v1/uploads`, {
        method: 'POST',
        headers: { authorization: `Bearer ${user.accessToken}`, 'tus-resumable': '1.0.0', 'upload-length': 'lots' },
      });
      expect(res.status).toBe(400);
      // A conversationId the caller is not in is as unknown as any other.
      const [a, b] = [await newUser(api), await newUser(api)];
      const theirs = (await api('POST', '/conversations', { token: a.accessToken, body: { peerId: b.id } })).body.id as string;
      const outsider = await create(url(), user.accessToken, 10, { filename: 'x', conversationId: theirs });
      expect([outsider.status, outsider.body?.error?.code]).toEqual([404, 'NOT_FOUND']);
      expect((await create(url(), a.accessToken, 10, { filename: 'x', conversationId: theirs })).status).toBe(201);
    });
  });

  describe('avatars', () => {
    it('refuses a fake PNG (text named .png) as avatar: the upload fails with 415 and the uploader hears why', async () => {
      const owner = await connectedUser(url());
      const token = owner.client.accessToken as string;
      const failed = nextEvent(owner.socket, 'file_transfer', (event: FileTransferEvent) => event.state === 'failed');
      const error = await tusUpload(url(), Buffer.from('this is not an image, just text pretending\n'), {
        token,
        metadata: { filename: 'me.png', contentType: 'image/png', purpose: 'avatar' },
      }).catch((e: unknown) => e);
      expect(statusOf(error)).toBe(415);
      expect(JSON.parse(bodyOf(error) ?? '{}').error.code).toBe('UNSUPPORTED_MEDIA_TYPE');
      const event = await failed;
      expect(event.reason).toBe('UNSUPPORTED_MEDIA_TYPE');
      expectError(await api('GET', `/files/${event.uploadId}`, { token }), 404, 'NOT_FOUND');
      expectError(await api('PUT', '/users/me/avatar', { token, body: { fileId: event.uploadId } }), 404, 'NOT_FOUND');
      owner.client.disconnect();
    });

    it('sets the avatar from {fileId}: re-encoded to WebP 256 and 64, avatarUrl on the user', async () => {
      const user = await newUser(api);
      const fileId = await upload(ctx.server, user, await photo(), { filename: 'me.png', purpose: 'avatar' });
      const res = await api('PUT', '/users/me/avatar', { token: user.accessToken, body: { fileId } });
      expect(res.status).toBe(200);
      expect(res.body.avatarUrl).toMatch(/-256\.webp$/);
      const image = await download(`${url()}${res.body.avatarUrl}`, null);
      const meta = await sharp(image.bytes).metadata();
      expect([meta.format, meta.width, meta.height]).toEqual(['webp', 256, 256]);
      expect((await api('GET', '/users/me', { token: user.accessToken })).body.avatarUrl).toBe(res.body.avatarUrl);
      // Avatar uploads are public: another user may read the record.
      const other = await newUser(api);
      expect((await api('GET', `/files/${fileId}`, { token: other.accessToken })).status).toBe(200);
      // But only the uploader may make it their avatar.
      expectError(await api('PUT', '/users/me/avatar', { token: other.accessToken, body: { fileId } }), 404, 'NOT_FOUND');
    });

    it('refuses a decompression bomb as avatar (413) and stores it as an attachment without a thumbnail', async () => {
      const user = await newUser(api);
      const bomb = decompressionBomb();
      const fileId = await upload(ctx.server, user, bomb, { filename: 'bomb.png', purpose: 'avatar' });
      expectError(await api('PUT', '/users/me/avatar', { token: user.accessToken, body: { fileId } }), 413, 'PAYLOAD_TOO_LARGE');
      expect((await api('GET', '/users/me', { token: user.accessToken })).body.avatarUrl).toBeNull();
      const attachment = await upload(ctx.server, user, bomb, { filename: 'bomb.png' });
      const meta = await api('GET', `/files/${attachment}`, { token: user.accessToken });
      expect(meta.body).toMatchObject({ contentType: 'image/png', width: 20_000, height: 20_000 });
      expect(meta.body.thumbnailUrl).toBeUndefined();
      expect((await api('GET', '/healthz')).status).toBe(200);
    });
  });

  describe('names and storage paths', () => {
    it('sanitises path-traversal and control characters in names; storage paths never use them', async () => {
      const user = await newUser(api);
      const cases: Array<[string, string]> = [
        ['../../etc/passwd', 'passwd'],
        ['..\\..\\windows\\boot.ini', 'boot.ini'],
        ['..', 'file'],
        ['evil\u202Egpj.exe', 'evilgpj.exe'],
        ['a\u0000b\nc.txt', 'abc.txt'],
        ['报告 ü.pdf', '报告 ü.pdf'],
      ];
      for (const [given, expected] of cases) {
        const fileId = await upload(ctx.server, user, Buffer.from('hello'), { filename: given });
        expect((await api('GET', `/files/${fileId}`, { token: user.accessToken })).body.filename, JSON.stringify(given)).toBe(expected);
        expect(existsSync(path.join(ctx.env.dataDir, 'uploads', 'tus', fileId))).toBe(true);
      }
      const stored = readdirSync(path.join(ctx.env.dataDir, 'uploads', 'tus'));
      expect(stored.every((name) => /^[0-9a-f-]{36}(\.json)?$/.test(name))).toBe(true);
      expect(existsSync(path.join(ctx.env.dataDir, 'etc'))).toBe(false);
    });
  });

  describe('downloads', () => {
    let owner: TestUser;
    let outsider: TestUser;
    let fileId: string;
    const data = randomData(100_000);

    beforeAll(async () => {
      owner = await newUser(api);
      outsider = await newUser(api);
      fileId = await upload(ctx.server, owner, data, { filename: '报告 ü.bin' });
    });

    it('hides a file from anyone but its uploader (404 on metadata, content, thumbnail and signed URL)', async () => {
      for (const tail of ['', '/content', '/thumbnail', '/url']) {
        const res = await download(file(fileId, tail), outsider.accessToken);
        expect(res.status, tail).toBe(404);
        expect(JSON.parse(res.bytes.toString()).error.code).toBe('NOT_FOUND');
      }
      expect((await download(file(fileId, '/content'), null)).status).toBe(401);
    });

    it('serves ranges (206, 416), ETag revalidation (304), RFC 6266 names, nosniff and a restrictive CSP', async () => {
      const full = await download(file(fileId, '/content'), owner.accessToken);
      expect(full.status).toBe(200);
      expect(full.bytes.equals(data)).toBe(true);
      expect(full.headers.get('accept-ranges')).toBe('bytes');
      expect(full.headers.get('x-content-type-options')).toBe('nosniff');
      expect(full.headers.get('content-security-policy')).toMatch(/default-src 'none'.*sandbox/);
      expect(full.headers.get('content-disposition')).toBe(`attachment; filename="__ _.bin"; filename*=UTF-8''${encodeURIComponent('报告 ü.bin')}`);
      const etag = full.headers.get('etag') as string;
      expect(etag).toBe(`"${sha256(data)}"`);

      const part = await download(file(fileId, '/content'), owner.accessToken, { range: 'bytes=10-19' });
      expect(part.status).toBe(206);
      expect(part.headers.get('content-range')).toBe(`bytes 10-19/${data.length}`);
      expect(part.bytes.equals(data.subarray(10, 20))).toBe(true);
      const suffix = await download(file(fileId, '/content'), owner.accessToken, { range: 'bytes=-5' });
      expect(suffix.bytes.equals(data.subarray(data.length - 5))).toBe(true);
      const open = await download(file(fileId, '/content'), owner.accessToken, { range: 'bytes=99990-' });
      expect(open.bytes.equals(data.subarray(99_990))).toBe(true);
      const beyond = await download(file(fileId, '/content'), owner.accessToken, { range: 'bytes=200000-' });
      expect(beyond.status).toBe(416);
      expect(beyond.headers.get('content-range')).toBe(`bytes */${data.length}`);

      const cached = await download(file(fileId, '/content'), owner.accessToken, { 'if-none-match': etag });
      expect(cached.status).toBe(304);
      expect(cached.bytes.length).toBe(0);
      const stale = await download(file(fileId, '/content'), owner.accessToken, { 'if-none-match': '"other"' });
      expect(stale.status).toBe(200);
    });

    it('serves HTML and executables as downloads only, images inline, by their sniffed type', async () => {
      const html = await upload(ctx.server, owner, Buffer.from('<html><script>alert(1)</script></html>'), { filename: 'page.html', contentType: 'text/html' });
      const exe = await upload(ctx.server, owner, Buffer.concat([Buffer.from('MZ'), Buffer.alloc(62), Buffer.from('PE\0\0')]), { filename: 'setup.exe' });
      const png = await upload(ctx.server, owner, await photo(40, 30), { filename: 'pic.bin', contentType: 'application/x-evil' });
      const htmlRes = await download(file(html, '/content'), owner.accessToken);
      expect(htmlRes.headers.get('content-type')).toBe('application/octet-stream');
      expect(htmlRes.headers.get('content-disposition')).toMatch(/^attachment;/);
      const exeRes = await download(file(exe, '/content'), owner.accessToken);
      expect(exeRes.headers.get('content-disposition')).toMatch(/^attachment;/);
      const pngRes = await download(file(png, '/content'), owner.accessToken);
      expect(pngRes.headers.get('content-type')).toBe('image/png');
      expect(pngRes.headers.get('content-disposition')).toMatch(/^inline;/);
      expect((await download(file(png, '/content?download=true'), owner.accessToken)).headers.get('content-disposition')).toMatch(/^attachment;/);
    });

    it('issues signed URLs that work without the header and fail when tampered with', async () => {
      const signed = await api('GET', `/files/${fileId}/url`, { token: owner.accessToken });
      expect(signed.status).toBe(200);
      const expiresAt = Date.parse(signed.body.expiresAt);
      expect(expiresAt - Date.now()).toBeGreaterThan(290_000);
      expect(expiresAt - Date.now()).toBeLessThanOrEqual(300_000);
      const ok = await download(`${url()}${signed.body.url}`, null);
      expect(ok.status).toBe(200);
      expect(ok.bytes.equals(data)).toBe(true);

      const target = new URL(`${url()}${signed.body.url}`);
      const tamper = (key: string, value: string) => {
        const copy = new URL(target);
        copy.searchParams.set(key, value);
        return copy.toString();
      };
      const signature = target.searchParams.get('signature') as string;
      const flipped = `${signature.slice(0, -1)}${signature.endsWith('A') ? 'B' : 'A'}`;
      for (const bad of [tamper('signature', flipped), tamper('expires', String(Number(target.searchParams.get('expires')) + 3600)), tamper('signature', 'x')]) {
        const res = await download(bad, null);
        expect(res.status, bad).toBe(403);
        expect(JSON.parse(res.bytes.toString()).error.code).toBe('FORBIDDEN');
      }
      // The same signature does not open another file, nor the thumbnail variant.
      const other = await upload(ctx.server, owner, Buffer.from('other'), { filename: 'o.txt' });
      expect((await download(`${url()}${signed.body.url.replace(fileId, other)}`, null)).status).toBe(403);
      expect((await download(`${url()}${signed.body.url.replace('/content', '/thumbnail')}`, null)).status).toBe(403);
    });
  });

  describe('attachments in chat messages', () => {
    it('fills attachments from the file record, links the file to the conversation, and lets its members read it', async () => {
      const alice = await newUser(api);
      const bob = await newUser(api);
      const carol = await newUser(api);
      const image = await upload(ctx.server, alice, await photo(800, 600), { filename: 'holiday.png' });
      const conversation = (await api('POST', '/conversations', { token: alice.accessToken, body: { peerId: bob.id } })).body.id as string;

      expectError(await api('GET', `/files/${image}`, { token: bob.accessToken }), 404, 'NOT_FOUND');
      const sent = await api('POST', `/conversations/${conversation}/messages`, {
        token: alice.accessToken,
        body: { type: 'image', content: '', clientMsgId: 'img-1', attachments: [{ fileId: image, filename: 'evil.exe', contentType: 'text/html', size: 1, width: 1 }] },
      });
      expect(sent.status).toBe(201);
      expect(sent.body.attachments).toEqual([
        { fileId: image, filename: 'holiday.png', contentType: 'image/png', size: expect.any(Number), width: 800, height: 600, thumbnailUrl: `/api/v1/files/${image}/thumbnail` },
      ]);
      const history = await api('GET', `/conversations/${conversation}/messages`, { token: bob.accessToken });
      expect(history.body.items[0].attachments[0].filename).toBe('holiday.png');

      // Bob, a member, may now read it and its thumbnail; Carol may not.
      expect((await download(file(image, '/content'), bob.accessToken)).status).toBe(200);
      const thumb = await download(file(image, '/thumbnail'), bob.accessToken);
      expect(thumb.status).toBe(200);
      expect(thumb.headers.get('content-type')).toBe('image/webp');
      const meta = await sharp(thumb.bytes).metadata();
      expect([meta.format, meta.width, meta.height]).toEqual(['webp', 320, 240]);
      expect((await download(file(image, '/content'), carol.accessToken)).status).toBe(404);

      // Carol cannot attach a file she cannot see, nor an unknown id.
      const carolChat = (await api('POST', '/conversations', { token: carol.accessToken, body: { peerId: bob.id } })).body.id as string;
      for (const fileId of [image, '0190a0b0-0000-7000-8000-000000000000']) {
        const refused = await api('POST', `/conversations/${carolChat}/messages`, {
          token: carol.accessToken,
          body: { type: 'file', content: '', clientMsgId: `steal-${fileId}`, attachments: [{ fileId }] },
        });
        expectError(refused, 404, 'NOT_FOUND');
      }
      expect((await download(file(image, '/content'), carol.accessToken)).status).toBe(404);

      // Bob may forward what he can see; Carol, in the new conversation, can then read it.
      const forwarded = await api('POST', `/conversations/${carolChat}/messages`, {
        token: bob.accessToken,
        body: { type: 'image', content: '', clientMsgId: 'fwd-1', attachments: [{ fileId: image }] },
      });
      expect(forwarded.status).toBe(201);
      expect((await download(file(image, '/content'), carol.accessToken)).status).toBe(200);
      // An avatar upload is not an attachment.
      const avatar = await upload(ctx.server, alice, await photo(), { filename: 'a.png', purpose: 'avatar' });
      expectError(
        await api('POST', `/conversations/${conversation}/messages`, {
          token: alice.accessToken,
          body: { type: 'image', content: '', clientMsgId: 'av-1', attachments: [{ fileId: avatar }] },
        }),
        404,
        'NOT_FOUND',
      );
    });

    it('gives a video a poster-frame thumbnail and its dimensions (ffmpeg)', async () => {
      const dir = mkdtempSync(path.join(tmpdir(), 'parley-video-'));
      try {
        const target = path.join(dir, 'clip.mp4');
        execFileSync('ffmpeg', ['-v', 'error', '-f', 'lavfi', '-i', 'testsrc=size=320x240:rate=10', '-t', '1', '-c:v', 'mpeg4', '-pix_fmt', 'yuv420p', target]);
        const user = await newUser(api);
        const video = await upload(ctx.server, user, readFileSync(target), { filename: 'clip.mp4' });
        const meta = await api('GET', `/files/${video}`, { token: user.accessToken });
        expect(meta.body).toMatchObject({ contentType: 'video/mp4', width: 320, height: 240, thumbnailUrl: `/api/v1/files/${video}/thumbnail` });
        const thumb = await download(file(video, '/thumbnail'), user.accessToken);
        expect((await sharp(thumb.bytes).metadata()).format).toBe('webp');
        expect(thumb.headers.get('content-disposition')).toMatch(/^inline;/);
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    });
  });
});

describe(`signed URL expiry and clean-up (${storageLabel})`, () => {
  let shiftMs = 0;
  const clock = { now: () => new Date(Date.now() + shiftMs) };
  const suite = useTestServer({}, { build: { jobs: false, clock } });

  it('refuses a signed URL once SIGNED_URL_TTL has passed', async () => {
    const api = apiClient(suite.server.url);
    const user = await newUser(api);
    const fileId = await upload(suite.server, user, Buffer.from('short-lived'), { filename: 's.txt' });
    const signed = (await api('GET', `/files/${fileId}/url`, { token: user.accessToken })).body;
    expect((await download(`${suite.server.url}${signed.url}`, null)).status).toBe(200);
    shiftMs = 301_000;
    const expired = await download(`${suite.server.url}${signed.url}`, null);
    expect(expired.status).toBe(403);
    expect(JSON.parse(expired.bytes.toString()).error.message).toMatch(/expired/);
    shiftMs = 0;
  });

  it('removes unfinished uploads and unreferenced files after UPLOAD_EXPIRY_HOURS, keeping files sent in messages', async () => {
    const api = apiClient(suite.server.url);
    const [alice, bob] = [await newUser(api), await newUser(api)];
    const unfinished = await tusUpload(suite.server.url, randomData(2 * MiB), { token: alice.accessToken, chunkSize: MiB, abortAfter: () => true });
    const unfinishedId = unfinished.url.split('/').pop() as string;
    const orphan = await upload(suite.server, alice, Buffer.from('never sent'), { filename: 'orphan.txt' });
    const sent = await upload(suite.server, alice, Buffer.from('sent'), { filename: 'sent.txt' });
    const conversation = (await api('POST', '/conversations', { token: alice.accessToken, body: { peerId: bob.id } })).body.id as string;
    expect(
      (
        await api('POST', `/conversations/${conversation}/messages`, {
          token: alice.accessToken,
          body: { type: 'file', content: '', clientMsgId: 'f', attachments: [{ fileId: sent }] },
        })
      ).status,
    ).toBe(201);

    // Nothing is old enough yet.
    expect(await suite.server.app.services.files.cleanUp()).toEqual({ uploads: 0, files: 0 });
    shiftMs = 25 * 3_600_000;
    const removed = await suite.server.app.services.files.cleanUp();
    // The orphan, and the file of the signed-URL test above (never sent either).
    expect(removed).toEqual({ uploads: 1, files: 2 });
    shiftMs = 0;
    const tus = path.join(suite.env.dataDir, 'uploads', 'tus');
    expect(existsSync(path.join(tus, unfinishedId))).toBe(false);
    expect(existsSync(path.join(tus, orphan))).toBe(false);
    expect(existsSync(path.join(tus, sent))).toBe(true);
    expectError(await api('GET', `/files/${orphan}`, { token: alice.accessToken }), 404, 'NOT_FOUND');
    expect((await api('GET', `/files/${sent}`, { token: bob.accessToken })).status).toBe(200);
  });
});
