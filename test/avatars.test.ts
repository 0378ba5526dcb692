import { readdirSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import path from 'node:path';
import sharp from 'sharp';
import { describe, expect, it } from 'vitest';
import { type ApiResponse, expectError, newUser, type TestUser } from './support/http.js';
import { decompressionBomb } from './support/images.js';
import { storageLabel } from './support/server.js';
import { useTestServer } from './support/suite.js';

const SECRET = 'secret-exif';
const MiB = 1024 * 1024;
const AVATAR_URL = /^\/api\/v1\/avatars\/[0-9a-f-]{36}-[0-9a-f]{24}-256\.webp$/;
const RED = { r: 220, g: 20, b: 20 };
const BLUE = { r: 20, g: 20, b: 220 };
const GREEN = { r: 20, g: 200, b: 20 };

type Format = 'png' | 'jpeg' | 'webp' | 'gif';

/**
 * An 800×600 image, red in the middle with 100-pixel blue bands left and right: a centred square crop
 * keeps only red. Carries an EXIF copyright where the format can hold one.
 */
async function photo(format: Format): Promise<Buffer> {
  const band = await sharp({ create: { width: 100, height: 600, channels: 3, background: BLUE } })
    .png()
    .toBuffer();
  const image = sharp({ create: { width: 800, height: 600, channels: 3, background: RED } })
    .composite([
      { input: band, left: 0, top: 0 },
      { input: band, left: 700, top: 0 },
    ])
    .withMetadata({ exif: { IFD0: { Copyright: SECRET } } });
  return image.toFormat(format).toBuffer();
}

/** A two-frame animated GIF, 120×90: green first frame, red second. */
async function animatedGif(): Promise<Buffer> {
  const width = 120;
  const height = 90;
  const pixels = Buffer.alloc(width * height * 2 * 3);
  for (let i = 0; i < width * height * 2; i++) {
    const colour = i < width * height ? GREEN : RED;
    pixels.set([colour.r, colour.g, colour.b], i * 3);
  }
  return sharp(pixels, { raw: { width, height: height * 2, channels: 3, pageHeight: height } })
    .gif()
    .toBuffer();
}

async function pixelAt(image: Buffer, x: number, y: number): Promise<{ r: number; g: number; b: number }> {
  const { data, info } = await sharp(image).removeAlpha().raw().toBuffer({ resolveWithObject: true });
  const offset = (y * info.width + x) * info.channels;
  return { r: data[offset] ?? -1, g: data[offset + 1] ?? -1, b: data[offset + 2] ?? -1 };
}

function expectColour(actual: { r: number; g: number; b: number }, expected: { r: number; g: number; b: number }): void {
  for (const channel of ['r', 'g', 'b'] as const) expect(Math.abs(actual[channel] - expected[channel])).toBeLessThan(30);
}

describe(`avatars (${storageLabel})`, () => {
  const suite = useTestServer();
  const { api } = suite;

  /** PUT /users/me/avatar with `bytes` as multipart field `field` (default `file`). */
  async function upload(token: string | undefined, bytes: Buffer, options: { filename?: string; type?: string; field?: string } = {}): Promise<ApiResponse> {
    const form = new FormData();
    form.append(options.field ?? 'file', new Blob([bytes], { type: options.type ?? 'application/octet-stream' }), options.filename ?? 'avatar');
    const response = await fetch(`${suite.server.url}/api/v1/users/me/avatar`, {
      method: 'PUT',
      headers: token ? { authorization: `Bearer ${token}` } : {},
      body: form,
    });
    const text = await response.text();
    let body: unknown = text;
    try {
      body = JSON.parse(text);
    } catch {
      // keep the text
    }
    return { status: response.status, body, headers: response.headers };
  }

  /** Fetches a returned avatar URL like a browser's `<img src>`: no Authorization header. */
  async function fetchAvatar(url: string): Promise<{ status: number; headers: Headers; bytes: Buffer }> {
    const response = await fetch(`${suite.server.url}${url}`);
    return { status: response.status, headers: response.headers, bytes: Buffer.from(await response.arrayBuffer()) };
  }

  const me = async (user: TestUser) => (await api('GET', '/users/me', { token: user.accessToken })).body as { avatarUrl: string | null };
  const storedFiles = (user: TestUser) =>
    readdirSync(path.join(suite.env.dataDir, 'avatars'))
      .filter((name) => name.startsWith(user.id))
      .sort();

  async function uploadOk(user: TestUser, bytes: Buffer, filename = 'me.png'): Promise<{ avatarUrl: string; avatarSmallUrl: string }> {
    const res = await upload(user.accessToken, bytes, { filename, type: 'image/png' });
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    return res.body as { avatarUrl: string; avatarSmallUrl: string };
  }

  describe('PUT /users/me/avatar (multipart)', () => {
    it('stores a 256 and a 64 pixel WebP, sets avatarUrl and serves both publicly without metadata', async () => {
      const user = await newUser(api);
      const original = await photo('png');
      expect(original.includes(SECRET)).toBe(true);
      const res = await upload(user.accessToken, original, { filename: 'holiday.png', type: 'image/png' });
      expect(res.status).toBe(200);
      expect(Object.keys(res.body).sort()).toEqual(['avatarSmallUrl', 'avatarUrl']);
      expect(res.body.avatarUrl).toMatch(AVATAR_URL);
      expect(res.body.avatarUrl).toContain(user.id);
      expect(res.body.avatarSmallUrl).toBe(res.body.avatarUrl.replace(/-256\.webp$/, '-64.webp'));
      expect((await me(user)).avatarUrl).toBe(res.body.avatarUrl);
      const viewer = await newUser(api);
      expect((await api('GET', `/users/${user.id}`, { token: viewer.accessToken })).body.avatarUrl).toBe(res.body.avatarUrl);

      const large = await fetchAvatar(res.body.avatarUrl);
      expect(large.status).toBe(200);
      expect(large.headers.get('content-type')).toBe('image/webp');
      expect(large.headers.get('x-content-type-options')).toBe('nosniff');
      expect(large.headers.get('cache-control')).toMatch(/max-age=\d{7,}.*immutable/);
      const meta = await sharp(large.bytes).metadata();
      expect(meta).toMatchObject({ format: 'webp', width: 256, height: 256 });
      expect(meta.exif).toBeUndefined();
      expect(meta.icc).toBeUndefined();
      expect(large.bytes.includes(SECRET)).toBe(false);
      // Cropped to cover, centred: the blue side bands are cut away (a few pixels in from the edge,
      // where resampling and WebP's chroma subsampling may blend in a trace of the cut-off band).
      for (const [x, y] of [
        [4, 4],
        [251, 4],
        [4, 251],
        [251, 251],
        [128, 128],
      ] as const)
        expectColour(await pixelAt(large.bytes, x, y), RED);

      const small = await fetchAvatar(res.body.avatarSmallUrl);
      expect(small.status).toBe(200);
      expect(await sharp(small.bytes).metadata()).toMatchObject({ format: 'webp', width: 64, height: 64 });
      expect(small.bytes.includes(SECRET)).toBe(false);
      expect(storedFiles(user)).toEqual([path.basename(res.body.avatarSmallUrl), path.basename(res.body.avatarUrl)].sort());
    });

    it.each(['jpeg', 'webp', 'gif'] as const)('accepts a %s image and re-encodes it as WebP', async (format) => {
      const user = await newUser(api);
      const original = await photo(format);
      if (format === 'jpeg') expect(original.includes(SECRET)).toBe(true);
      // The declared name and type are ignored: only the bytes count.
      const urls = await uploadOk(user, original, 'picture.bin');
      const large = await fetchAvatar(urls.avatarUrl);
      const meta = await sharp(large.bytes).metadata();
      expect(meta).toMatchObject({ format: 'webp', width: 256, height: 256 });
      expect(meta.exif).toBeUndefined();
      expect(large.bytes.includes(SECRET)).toBe(false);
      expectColour(await pixelAt(large.bytes, 4, 128), RED);
      expect(await sharp((await fetchAvatar(urls.avatarSmallUrl)).bytes).metadata()).toMatchObject({ format: 'webp', width: 64, height: 64 });
    });

    it('takes the first frame of an animated GIF', async () => {
      const user = await newUser(api);
      const gif = await animatedGif();
      expect((await sharp(gif, { pages: -1 }).metadata()).pages).toBe(2);
      const urls = await uploadOk(user, gif, 'wave.gif');
      const large = await fetchAvatar(urls.avatarUrl);
      const meta = await sharp(large.bytes, { pages: -1 }).metadata();
      expect(meta).toMatchObject({ format: 'webp', width: 256, height: 256 });
      expect(meta.pages ?? 1).toBe(1);
      expectColour(await pixelAt(large.bytes, 128, 128), GREEN);
    });

    it('turns a photo upright by its EXIF orientation before dropping the EXIF', async () => {
      const user = await newUser(api);
      // Stored 200×100, green left and red right, with orientation 6: shown turned a quarter clockwise,
      // green on top and red below.
      const half = await sharp({ create: { width: 100, height: 100, channels: 3, background: RED } })
        .png()
        .toBuffer();
      const sideways = await sharp({ create: { width: 200, height: 100, channels: 3, background: GREEN } })
        .composite([{ input: half, left: 100, top: 0 }])
        .jpeg()
        .withMetadata({ orientation: 6 })
        .toBuffer();
      expect((await sharp(sideways).metadata()).orientation).toBe(6);
      const large = await fetchAvatar((await uploadOk(user, sideways, 'phone.jpg')).avatarUrl);
      expect((await sharp(large.bytes).metadata()).orientation).toBeUndefined();
      expectColour(await pixelAt(large.bytes, 225, 30), GREEN);
      expectColour(await pixelAt(large.bytes, 30, 225), RED);
    });

    it('replaces the previous avatar: its URLs answer 404 and its files are gone', async () => {
      const user = await newUser(api);
      const first = await uploadOk(user, await photo('png'));
      const second = await uploadOk(user, await photo('jpeg'));
      expect(second.avatarUrl).not.toBe(first.avatarUrl);
      expect((await me(user)).avatarUrl).toBe(second.avatarUrl);
      for (const url of [first.avatarUrl, first.avatarSmallUrl]) {
        const gone = await api('GET', url);
        expectError(gone, 404, 'NOT_FOUND');
      }
      expect((await fetchAvatar(second.avatarUrl)).status).toBe(200);
      expect(storedFiles(user)).toEqual([path.basename(second.avatarSmallUrl), path.basename(second.avatarUrl)].sort());
    });

    it('refuses bytes that are not a JPEG, PNG, WebP or GIF with 415, whatever their name says', async () => {
      const user = await newUser(api);
      const before = await uploadOk(user, await photo('png'));
      const svg = '<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10"><script>alert(1)</script><rect width="10" height="10"/></svg>';
      const html = '<!doctype html><html><body><img src=x onerror=alert(1)></body></html>';
      const tiff = await sharp({ create: { width: 32, height: 32, channels: 3, background: RED } })
        .tiff()
        .toBuffer();
      const cases: Array<[Buffer, string, string]> = [
        [Buffer.from('just some text, honestly a PNG'), 'x.png', 'image/png'],
        [Buffer.from(svg), 'x.svg', 'image/svg+xml'],
        [Buffer.from(svg), 'x.png', 'image/png'],
        [Buffer.from(html), 'x.gif', 'image/gif'],
        [tiff, 'x.jpg', 'image/jpeg'],
        [Buffer.alloc(0), 'empty.png', 'image/png'],
      ];
      for (const [bytes, filename, type] of cases) {
        const error = expectError(await upload(user.accessToken, bytes, { filename, type }), 415, 'UNSUPPORTED_MEDIA_TYPE');
        expect(error.message).toMatch(/JPEG, PNG, WebP or GIF/);
      }
      expect((await me(user)).avatarUrl).toBe(before.avatarUrl);
    });

    it('refuses a truncated image with 415', async () => {
      const user = await newUser(api);
      const png = await sharp({ create: { width: 400, height: 400, channels: 3, background: RED, noise: { type: 'gaussian', mean: 128, sigma: 40 } } })
        .png()
        .toBuffer();
      const res = await upload(user.accessToken, png.subarray(0, Math.floor(png.length / 2)), { filename: 'cut.png', type: 'image/png' });
      expectError(res, 415, 'UNSUPPORTED_MEDIA_TYPE');
      expect((await me(user)).avatarUrl).toBeNull();
    });

    it('refuses a decompression bomb and keeps serving', async () => {
      const user = await newUser(api);
      const bomb = decompressionBomb();
      expect(bomb.length).toBeLessThan(1 * MiB);
      const res = await upload(user.accessToken, bomb, { filename: 'tiny.png', type: 'image/png' });
      expect([413, 415]).toContain(res.status);
      expect(res.body.error.code).toBe(res.status === 413 ? 'PAYLOAD_TOO_LARGE' : 'UNSUPPORTED_MEDIA_TYPE');
      expect(res.body.error.message).toMatch(/20000×20000.*40 megapixels/);
      expect((await me(user)).avatarUrl).toBeNull();
      expect((await api('GET', '/healthz')).status).toBe(200);
      await uploadOk(user, await photo('png'));
    });

    it('refuses a file over 10 MB with 413, streamed or announced by Content-Length', async () => {
      const user = await newUser(api);
      const png = await photo('png');
      // Just over the limit: inside the framing allowance, so the multipart parser's limit refuses it.
      const justOver = Buffer.concat([png, Buffer.alloc(10 * MiB + 1 - png.length, 7)]);
      expectError(await upload(user.accessToken, justOver, { filename: 'big.png', type: 'image/png' }), 413, 'PAYLOAD_TOO_LARGE');
      // Far over: refused from the Content-Length header before the body is read.
      const farOver = Buffer.concat([png, Buffer.alloc(12 * MiB, 7)]);
      expectError(await upload(user.accessToken, farOver, { filename: 'huge.png', type: 'image/png' }), 413, 'PAYLOAD_TOO_LARGE');
      expect((await me(user)).avatarUrl).toBeNull();
      await uploadOk(user, png);
    });

    it('refuses a second file with 413', async () => {
      const user = await newUser(api);
      const png = await photo('png');
      const form = new FormData();
      form.append('file', new Blob([png]), 'a.png');
      form.append('file', new Blob([png]), 'b.png');
      const res = await fetch(`${suite.server.url}/api/v1/users/me/avatar`, { method: 'PUT', headers: { authorization: `Bearer ${user.accessToken}` }, body: form });
      expect(res.status).toBe(413);
      expect(((await res.json()) as { error: { code: string } }).error.code).toBe('PAYLOAD_TOO_LARGE');
      expect((await me(user)).avatarUrl).toBeNull();
    });

    it('refuses uploads without a valid token with 401', async () => {
      const png = await photo('png');
      expectError(await upload(undefined, png), 401, 'UNAUTHORIZED');
      expectError(await upload('not-a-token', png), 401, 'UNAUTHORIZED');
      expectError(await api('DELETE', '/users/me/avatar'), 401, 'UNAUTHORIZED');
    });

    it('refuses a request without the file field with 400', async () => {
      const user = await newUser(api);
      const onlyText = new FormData();
      onlyText.append('caption', 'hello');
      const res = await fetch(`${suite.server.url}/api/v1/users/me/avatar`, { method: 'PUT', headers: { authorization: `Bearer ${user.accessToken}` }, body: onlyText });
      expect(res.status).toBe(400);
      expect(((await res.json()) as { error: { code: string } }).error.code).toBe('VALIDATION_FAILED');
      expectError(await upload(user.accessToken, await photo('png'), { field: 'image' }), 400, 'VALIDATION_FAILED');
      expectError(await api('PUT', '/users/me/avatar', { token: user.accessToken }), 400, 'VALIDATION_FAILED');
      expectError(await api('PUT', '/users/me/avatar', { token: user.accessToken, body: {} }), 400, 'VALIDATION_FAILED');
      const broken = await api('PUT', '/users/me/avatar', {
        token: user.accessToken,
        headers: { 'content-type': 'multipart/form-data; boundary=xyz' },
        rawBody: '--xyz\r\nContent-Disposition: form-data; name="file"; filename="a.png"\r\n\r\nnot finished',
      });
      expectError(broken, 400, 'VALIDATION_FAILED');
      expect((await me(user)).avatarUrl).toBeNull();
    });

    it("answers the {fileId} form with 404 for a file that is not the caller's upload (tus uploads: test/files-access.test.ts)", async () => {
      const user = await newUser(api);
      expectError(await api('PUT', '/users/me/avatar', { token: user.accessToken, body: { fileId: 'f1' } }), 404, 'NOT_FOUND');
      expect((await me(user)).avatarUrl).toBeNull();
    });

    it('refuses other content types with 415', async () => {
      const user = await newUser(api);
      const res = await api('PUT', '/users/me/avatar', { token: user.accessToken, headers: { 'content-type': 'image/png' }, rawBody: 'raw' });
      expectError(res, 415, 'UNSUPPORTED_MEDIA_TYPE');
    });

    it('is documented in the OpenAPI document with both body forms', async () => {
      const doc = (await api('GET', '/openapi.json')).body;
      const put = doc.paths['/api/v1/users/me/avatar'].put;
      expect(Object.keys(put.requestBody.content).sort()).toEqual(['application/json', 'multipart/form-data']);
      expect(put.summary).toMatch(/fileId/);
      expect(doc.paths['/api/v1/avatars/{name}'].get.security).toBeUndefined();
    });
  });

  describe('DELETE /users/me/avatar', () => {
    it('removes the avatar: avatarUrl becomes null and the files answer 404', async () => {
      const user = await newUser(api);
      const urls = await uploadOk(user, await photo('png'));
      const res = await api('DELETE', '/users/me/avatar', { token: user.accessToken });
      expect(res.status).toBe(204);
      expect((await me(user)).avatarUrl).toBeNull();
      expectError(await api('GET', urls.avatarUrl), 404, 'NOT_FOUND');
      expectError(await api('GET', urls.avatarSmallUrl), 404, 'NOT_FOUND');
      expect(storedFiles(user)).toEqual([]);
      expect((await api('DELETE', '/users/me/avatar', { token: user.accessToken })).status).toBe(204);
    });
  });

  describe('GET /avatars/:name', () => {
    it('answers 404 in the API error format for unknown or malformed names, never reading outside the folder', async () => {
      const user = await newUser(api);
      await uploadOk(user, await photo('png'));
      const names = [
        `${user.id}-${'0'.repeat(24)}-256.webp`,
        '..%2F..%2Fparley.db',
        '..%2Fparley.db',
        '%2e%2e%2fparley.db',
        `..%2Favatars%2F${storedFiles(user)[0]}`,
        encodeURIComponent(storedFiles(user)[0]?.toUpperCase() ?? 'X'),
        `${storedFiles(user)[0]}%00.png`,
        'parley.db',
      ];
      for (const name of names) expectError(await api('GET', `/avatars/${name}`), 404, 'NOT_FOUND');
    });

    it('does not let an unnormalised ../ path reach a file', async () => {
      const { port } = new URL(suite.server.url);
      const status = await new Promise<number>((resolve, reject) => {
        const req = httpRequest({ host: '127.0.0.1', port, path: '/api/v1/avatars/../../../parley.db', method: 'GET' }, (res) => {
          res.resume();
          resolve(res.statusCode ?? 0);
        });
        req.on('error', reject);
        req.end();
      });
      expect(status).toBe(404);
    });
  });
});
