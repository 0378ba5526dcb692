import { execFileSync } from 'node:child_process';
import { chmodSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import sharp from 'sharp';
import { afterAll, describe, expect, it } from 'vitest';
import { MiB, randomData, sha256, tusUpload } from './support/files.js';
import { type Api, apiClient, newUser, type TestUser } from './support/http.js';
import { createTestEnvironment, startServer, storageLabel, type TestEnvironment } from './support/server.js';
import { useTestServer } from './support/suite.js';

/** A tus request by hand (tus-js-client would never send the crafted URLs these tests need). */
async function tusRequest(url: string, method: string, token: string, headers: Record<string, string> = {}, body?: Buffer) {
  const res = await fetch(url, { method, headers: { authorization: `Bearer ${token}`, 'tus-resumable': '1.0.0', ...headers }, body });
  await res.arrayBuffer();
  return res;
}

/** Creates an upload of `size` bytes and returns its id (from the Location header). */
async function createUpload(baseUrl: string, user: TestUser, size: number, filename = 'data.bin'): Promise<string> {
  const res = await tusRequest(`${baseUrl}/api/v1/uploads`, 'POST', user.accessToken, {
    'upload-length': String(size),
    'upload-metadata': `filename ${Buffer.from(filename).toString('base64')},purpose ${Buffer.from('attachment').toString('base64')}`,
  });
  expect(res.status).toBe(201);
  return (res.headers.get('location') ?? '').split('/').pop() as string;
}

/** A creation request's status and JSON error. */
async function createStatus(baseUrl: string, token: string, size: number) {
  const res = await fetch(`${baseUrl}/api/v1/uploads`, {
    method: 'POST',
    headers: {
      authorization: `Bearer ${token}`,
      'tus-resumable': '1.0.0',
      'upload-length': String(size),
      'upload-metadata': `filename ${Buffer.from('g.bin').toString('base64')}`,
    },
  });
  const text = await res.text();
  return { status: res.status, error: text ? (JSON.parse(text) as { error?: { code: string; message: string; details?: unknown } }).error : undefined };
}

/** Sends `fileId` from `sender` to `peerId` in their private chat; returns the conversation and message ids. */
async function sendFile(api: Api, sender: TestUser, peerId: string, fileId: string, clientMsgId: string) {
  const conversation = (await api('POST', '/conversations', { token: sender.accessToken, body: { peerId } })).body.id as string;
  const sent = await api('POST', `/conversations/${conversation}/messages`, {
    token: sender.accessToken,
    body: { type: 'file', content: '', clientMsgId, attachments: [{ fileId }] },
  });
  expect(sent.status).toBe(201);
  return { conversation, messageId: String(sent.body.id) };
}

const contentStatus = async (baseUrl: string, user: TestUser, fileId: string) =>
  (
    await fetch(`${baseUrl}/api/v1/files/${fileId}/content`, { headers: { authorization: `Bearer ${user.accessToken}` } }).then(async (res) => {
      await res.arrayBuffer();
      return res;
    })
  ).status;

async function offsetOf(baseUrl: string, user: TestUser, uploadId: string): Promise<number> {
  const res = await tusRequest(`${baseUrl}/api/v1/uploads/${uploadId}`, 'HEAD', user.accessToken);
  expect(res.status).toBe(200);
  return Number(res.headers.get('upload-offset'));
}

describe(`file trust boundaries (${storageLabel})`, () => {
  const ctx = useTestServer({ GUEST_UPLOAD_QUOTA_BYTES: String(MiB) });
  const api: Api = ctx.api;
  const url = () => ctx.server.url;

  describe('tus acts only on the upload id the route authorized (#16.1)', () => {
    const crafted = (own: string, victim: string) => [
      `${url()}/api/v1/uploads/${own}?x=/${victim}`,
      `${url()}/api/v1/uploads/${own}?x=%2F${victim}`,
      `${url()}/api/v1/uploads/${own}?a=1&b=/../${victim}`,
    ];

    // A query string on the tus routes is refused before tus sees the request (unknown parameters are
    // refused on every route), so a crafted one cannot even reach the attacker's own upload.
    it("HEAD, PATCH and DELETE on /uploads/<own>?x=/<victim> are refused and never read, write or delete the victim's upload", async () => {
      const [attacker, victim] = [await newUser(api), await newUser(api)];
      const victimBytes = randomData(64 * 1024);
      const victimUpload = await createUpload(url(), victim, victimBytes.length, 'victim.bin');
      // The victim sends the first half.
      const half = victimBytes.subarray(0, 32 * 1024);
      const first = await tusRequest(
        `${url()}/api/v1/uploads/${victimUpload}`,
        'PATCH',
        victim.accessToken,
        { 'upload-offset': '0', 'content-type': 'application/offset+octet-stream' },
        half,
      );
      expect(first.status).toBe(204);

      const own = await createUpload(url(), attacker, 1024 * 1024, 'own.bin');
      for (const target of crafted(own, victimUpload)) {
        // HEAD reveals nothing: no upload's metadata, the victim's least of all.
        const head = await tusRequest(target, 'HEAD', attacker.accessToken);
        expect(head.status).toBe(400);
        expect(head.headers.get('upload-metadata')).toBeNull();
        // PATCH at the victim's offset writes nowhere.
        const patch = await tusRequest(
          target,
          'PATCH',
          attacker.accessToken,
          { 'upload-offset': String(half.length), 'content-type': 'application/offset+octet-stream' },
          randomData(1024),
        );
        expect(patch.status).toBe(400);
        expect(await offsetOf(url(), victim, victimUpload)).toBe(half.length);
        expect(await offsetOf(url(), attacker, own)).toBe(0);
        // DELETE removes nothing.
        expect((await tusRequest(target, 'DELETE', attacker.accessToken)).status).toBe(400);
        expect(await offsetOf(url(), victim, victimUpload)).toBe(half.length);
      }
      expect((await tusRequest(`${url()}/api/v1/uploads/${own}`, 'HEAD', attacker.accessToken)).status).toBe(200);

      // The victim finishes their upload and gets exactly their bytes.
      const done = await tusUpload(url(), victimBytes, { token: victim.accessToken, uploadUrl: `${url()}/api/v1/uploads/${victimUpload}` });
      const content = await fetch(`${url()}/api/v1/files/${done.fileId}/content`, { headers: { authorization: `Bearer ${victim.accessToken}` } });
      expect(content.status).toBe(200);
      expect(sha256(Buffer.from(await content.arrayBuffer()))).toBe(sha256(victimBytes));
    });

    it("a PATCH with a trailing path in the query of the own upload's URL is refused and completes no upload", async () => {
      const [attacker, victim] = [await newUser(api), await newUser(api)];
      const victimUpload = await createUpload(url(), victim, 1024, 'victim.bin');
      const own = await createUpload(url(), attacker, 1024, 'own.bin');
      const patch = await tusRequest(
        `${url()}/api/v1/uploads/${own}?/${victimUpload}`,
        'PATCH',
        attacker.accessToken,
        { 'upload-offset': '0', 'content-type': 'application/offset+octet-stream' },
        randomData(1024),
      );
      expect(patch.status).toBe(400);
      expect(patch.headers.get('parley-file-id')).toBeNull();
      expect(await offsetOf(url(), victim, victimUpload)).toBe(0);
      expect(await offsetOf(url(), attacker, own)).toBe(0);
    });
  });

  describe('a recalled attachment is no longer readable through the message (#16.8)', () => {
    it('the peer gets 404 for the file after its only message is recalled; the sender still reads it', async () => {
      const [alice, bob] = [await newUser(api), await newUser(api)];
      const fileId = (await tusUpload(url(), Buffer.from('secret plans'), { token: alice.accessToken, metadata: { filename: 'plans.txt' } })).fileId;
      const { messageId } = await sendFile(api, alice, bob.id, fileId, 'r1');
      expect(await contentStatus(url(), bob, fileId)).toBe(200);
      expect((await api('DELETE', `/messages/${messageId}`, { token: alice.accessToken })).status).toBe(200);
      expect(await contentStatus(url(), bob, fileId)).toBe(404);
      expect((await api('GET', `/files/${fileId}`, { token: bob.accessToken })).status).toBe(404);
      expect((await api('GET', `/files/${fileId}/url`, { token: bob.accessToken })).status).toBe(404);
      expect(await contentStatus(url(), alice, fileId)).toBe(200);
    });

    it('a file sent twice stays readable while one of its messages is not recalled', async () => {
      const [alice, bob] = [await newUser(api), await newUser(api)];
      const fileId = (await tusUpload(url(), Buffer.from('twice'), { token: alice.accessToken, metadata: { filename: 't.txt' } })).fileId;
      const first = await sendFile(api, alice, bob.id, fileId, 't1');
      const second = await sendFile(api, alice, bob.id, fileId, 't2');
      expect((await api('DELETE', `/messages/${first.messageId}`, { token: alice.accessToken })).status).toBe(200);
      expect(await contentStatus(url(), bob, fileId)).toBe(200);
      expect((await api('DELETE', `/messages/${second.messageId}`, { token: alice.accessToken })).status).toBe(200);
      expect(await contentStatus(url(), bob, fileId)).toBe(404);
    });
  });

  describe('guests have a small quota of their own (#16.7)', () => {
    it("refuses a guest's upload beyond GUEST_UPLOAD_QUOTA_BYTES with the quota error, and not a registered user's", async () => {
      const guest = (await api('POST', '/auth/guest', { body: {} })).body as { accessToken: string };
      const refused = await createStatus(url(), guest.accessToken, MiB + 1);
      expect(refused.status).toBe(413);
      expect(refused.error?.code).toBe('PAYLOAD_TOO_LARGE');
      expect(refused.error?.message).toMatch(/quota/);
      // Within it, and then counting what is already held.
      const first = await tusUpload(url(), randomData(MiB / 2), { token: guest.accessToken });
      expect(first.fileId).not.toBe('');
      expect((await createStatus(url(), guest.accessToken, MiB / 2 + 1)).status).toBe(413);
      expect((await createStatus(url(), guest.accessToken, MiB / 2)).status).toBe(201);
      // A registered user keeps UPLOAD_QUOTA_BYTES.
      const user = await newUser(api);
      expect((await createStatus(url(), user.accessToken, 4 * MiB)).status).toBe(201);
    });
  });
  describe('ffmpeg runs on a leash (#16.13)', () => {
    /**
     * A spy in front of the real ffmpeg: it logs each run's arguments, marks the run's start and end
     * in a log, holds the run open for a moment so overlapping runs really overlap, then hands over
     * to the installed ffmpeg (the real decoder still makes the thumbnail).
     */
    function ffmpegSpy(realFfmpeg: string) {
      const dir = mkdtempSync(path.join(tmpdir(), 'parley-ffmpeg-spy-'));
      const log = path.join(dir, 'runs.log');
      writeFileSync(path.join(dir, 'ffmpeg'), `#!/bin/sh\necho "start $$ $*" >> '${log}'\nsleep 0.4\n'${realFfmpeg}' "$@"\nstatus=$?\necho "end $$" >> '${log}'\nexit $status\n`);
      chmodSync(path.join(dir, 'ffmpeg'), 0o755);
      return { dir, runs: () => (existsSync(log) ? readFileSync(log, 'utf8').trim().split('\n') : []), remove: () => rmSync(dir, { recursive: true, force: true }) };
    }

    /** The most runs that were open at the same moment, from the start/end lines in order. */
    function mostAtOnce(lines: string[]): number {
      let open = 0;
      let most = 0;
      for (const line of lines) {
        open += line.startsWith('start ') ? 1 : -1;
        most = Math.max(most, open);
      }
      return most;
    }

    it('runs at most two ffmpeg processes at once for a burst of video uploads, each restricted to local files, and still thumbnails every video', async () => {
      const realFfmpeg = execFileSync('sh', ['-c', 'command -v ffmpeg']).toString().trim();
      const clip = path.join(mkdtempSync(path.join(tmpdir(), 'parley-clip-')), 'clip.mp4');
      execFileSync(realFfmpeg, ['-v', 'error', '-f', 'lavfi', '-i', 'testsrc=size=160x120:rate=10', '-t', '1', '-c:v', 'mpeg4', '-pix_fmt', 'yuv420p', clip]);
      const spy = ffmpegSpy(realFfmpeg);
      // The server under test runs in this process: its spawn('ffmpeg') finds the spy first.
      const savedPath = process.env.PATH;
      process.env.PATH = `${spy.dir}:${savedPath ?? ''}`;
      try {
        const user = await newUser(api);
        const bytes = readFileSync(clip);
        const ids = await Promise.all(
          Array.from({ length: 6 }, (_, i) =>
            tusUpload(url(), bytes, { token: user.accessToken, metadata: { filename: `clip-${i}.mp4`, purpose: 'attachment' } }).then((r) => r.fileId),
          ),
        );
        const runs = spy.runs();
        const starts = runs.filter((line) => line.startsWith('start '));
        expect(starts).toHaveLength(6);
        expect(mostAtOnce(runs)).toBeLessThanOrEqual(2);
        // Overlap did happen (two at once), so the bound is what held it, not chance.
        expect(mostAtOnce(runs)).toBe(2);
        for (const start of starts) expect(start).toContain('-protocol_whitelist file -i ');
        for (const id of ids) {
          const meta = await api('GET', `/files/${id}`, { token: user.accessToken });
          expect(meta.body).toMatchObject({ contentType: 'video/mp4', width: 160, height: 120, thumbnailUrl: `/api/v1/files/${id}/thumbnail` });
        }
      } finally {
        process.env.PATH = savedPath;
        spy.remove();
      }
    });
  });
});

describe(`file clean-up with a clock that can move (${storageLabel})`, () => {
  let shiftMs = 0;
  const clock = { now: () => new Date(Date.now() + shiftMs) };
  const suite = useTestServer({}, { build: { jobs: false, clock } });

  it("frees the tus store's running hash of an abandoned upload when clean-up removes it (#16.14)", async () => {
    const api = apiClient(suite.server.url);
    const user = await newUser(api);
    const store = suite.server.app.services.tus.datastore;
    const before = store.hashesHeld;
    // Half the bytes arrive, then the client goes away for good.
    const abandoned = await tusUpload(suite.server.url, randomData(2 * MiB), { token: user.accessToken, chunkSize: MiB, abortAfter: () => true });
    expect(abandoned.aborted).toBe(true);
    expect(store.hashesHeld).toBe(before + 1);
    shiftMs = 25 * 3_600_000;
    try {
      expect((await suite.server.app.services.files.cleanUp()).uploads).toBe(1);
    } finally {
      shiftMs = 0;
    }
    expect(store.hashesHeld).toBe(before);
  });

  it('clean-up deletes the bytes and thumbnail of a recalled attachment nothing else refers to (#16.8)', async () => {
    const api = apiClient(suite.server.url);
    const [alice, bob] = [await newUser(api), await newUser(api)];
    const photo = await sharp({ create: { width: 400, height: 300, channels: 3, background: { r: 10, g: 120, b: 200 } } })
      .png()
      .toBuffer();
    const fileId = (await tusUpload(suite.server.url, photo, { token: alice.accessToken, metadata: { filename: 'p.png' } })).fileId;
    const kept = (await tusUpload(suite.server.url, photo, { token: alice.accessToken, metadata: { filename: 'kept.png' } })).fileId;
    const { messageId } = await sendFile(api, alice, bob.id, fileId, 'c1');
    await sendFile(api, alice, bob.id, kept, 'c2');
    const uploads = path.join(suite.env.dataDir, 'uploads');
    expect(existsSync(path.join(uploads, 'thumbs', `${fileId}.webp`))).toBe(true);
    expect((await api('DELETE', `/messages/${messageId}`, { token: alice.accessToken })).status).toBe(200);
    shiftMs = 25 * 3_600_000;
    try {
      await suite.server.app.services.files.cleanUp();
    } finally {
      shiftMs = 0;
    }
    expect(existsSync(path.join(uploads, 'tus', fileId))).toBe(false);
    expect(existsSync(path.join(uploads, 'thumbs', `${fileId}.webp`))).toBe(false);
    expect(existsSync(path.join(uploads, 'tus', kept))).toBe(true);
    expect(existsSync(path.join(uploads, 'thumbs', `${kept}.webp`))).toBe(true);
  });
});

describe(`deleting a user removes their bytes from disk (${storageLabel})`, () => {
  let env: TestEnvironment;
  afterAll(async () => {
    await env?.dispose();
  });

  /** Every file name under `dir`, recursively (empty when it does not exist). */
  const namesUnder = (dir: string): string[] => (existsSync(dir) ? (readdirSync(dir, { recursive: true }) as string[]) : []);

  it("guest expiry removes the guest's files, thumbnails, unfinished uploads and avatars from DATA_DIR (#16.12)", async () => {
    env = await createTestEnvironment();
    let server = await startServer(env, {}, { jobs: false });
    const api = apiClient(server.url);
    const guest = (await api('POST', '/auth/guest', { body: {} })).body as { accessToken: string; user: { id: string } };
    const member = await newUser(api);
    const photo = await sharp({ create: { width: 300, height: 200, channels: 3, background: { r: 250, g: 200, b: 0 } } })
      .png()
      .toBuffer();
    const guestFile = (await tusUpload(server.url, photo, { token: guest.accessToken, metadata: { filename: 'g.png' } })).fileId;
    const unfinished = await tusUpload(server.url, randomData(2 * MiB), { token: guest.accessToken, chunkSize: MiB, abortAfter: () => true });
    const unfinishedId = unfinished.url.split('/').pop() as string;
    const avatarUpload = (await tusUpload(server.url, photo, { token: guest.accessToken, metadata: { filename: 'me.png', purpose: 'avatar' } })).fileId;
    expect((await api('PUT', '/users/me/avatar', { token: guest.accessToken, body: { fileId: avatarUpload } })).status).toBe(200);
    const memberFile = (await tusUpload(server.url, photo, { token: member.accessToken, metadata: { filename: 'm.png' } })).fileId;
    expect((await api('PUT', '/users/me/avatar', { token: member.accessToken, body: { fileId: memberFile } })).status).toBe(200);

    const uploads = path.join(env.dataDir, 'uploads');
    const avatars = path.join(env.dataDir, 'avatars');
    const guestBytes = () => [
      ...namesUnder(uploads).filter((name) => name.includes(guestFile) || name.includes(unfinishedId) || name.includes(avatarUpload)),
      ...namesUnder(avatars).filter((name) => name.startsWith(guest.user.id)),
    ];
    expect(guestBytes().length).toBeGreaterThanOrEqual(5);
    // The guest has been idle for longer than GUEST_IDLE_DAYS.
    await server.app.database.db
      .updateTable('users')
      .set({ last_login_at: Date.now() - 31 * 86_400_000 })
      .where('id', '=', guest.user.id)
      .execute();
    // Idle means no session used since either (a refresh counts as activity).
    await server.app.database.db
      .updateTable('sessions')
      .set({ last_used_at: Date.now() - 31 * 86_400_000 })
      .where('user_id', '=', guest.user.id)
      .execute();
    await server.close();

    // The real start-up job removes the guest (it runs once at start, then hourly).
    server = await startServer(env, {}, {});
    try {
      const memberApi = apiClient(server.url);
      for (let tries = 0; tries < 200 && (await memberApi('GET', `/users/${guest.user.id}`, { token: member.accessToken })).status !== 404; tries += 1) {
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
      expect((await memberApi('GET', `/users/${guest.user.id}`, { token: member.accessToken })).status).toBe(404);
      expect(guestBytes()).toEqual([]);
      // Nobody else's bytes went with them.
      expect(existsSync(path.join(uploads, 'tus', memberFile))).toBe(true);
      expect(existsSync(path.join(uploads, 'thumbs', `${memberFile}.webp`))).toBe(true);
      expect(namesUnder(avatars).filter((name) => name.startsWith(member.id))).toHaveLength(2);
    } finally {
      await server.close();
    }
  });
});
