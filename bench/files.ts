// File transfer bench: tus upload and download throughput of a Parley process on loopback, beside
// a plain streamed copy of the same bytes on the same disk in the same run (the disk's limit), as a
// ratio; and the server's peak RSS (VmHWM) while it takes a 1 GiB upload (target: under 200 MB).
import { randomBytes } from 'node:crypto';
import { createReadStream, createWriteStream, mkdirSync, rmSync, statSync } from 'node:fs';
import { open } from 'node:fs/promises';
import { request } from 'node:http';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';
import { api, benchFile, fixed, makeTempDir, memoryMiB, removeTempDir, say, spawnServer, startParleyProcess } from './lib.js';

export interface FilesBenchOptions {
  /** Size of the uploaded file, MiB (1024: the 1 GiB memory check). */
  sizeMiB: number;
  /** tus PATCH size, MiB. */
  chunkMiB: number;
}

const MiB = 1024 * 1024;

/** Writes `size` random bytes to `file` in 4 MiB blocks (memory stays flat). */
async function writeRandomFile(file: string, size: number): Promise<void> {
  const handle = await open(file, 'w');
  try {
    const block = randomBytes(4 * MiB);
    for (let written = 0; written < size; written += block.length) {
      // A fresh head per block keeps the content from repeating every 4 MiB.
      randomBytes(64).copy(block);
      await handle.write(block, 0, Math.min(block.length, size - written));
    }
  } finally {
    await handle.close();
  }
}

/** Plain streamed copy with the same 1 MiB buffers the server reads and writes with. */
async function streamCopy(from: string, to: string): Promise<void> {
  await pipeline(createReadStream(from, { highWaterMark: MiB }), createWriteStream(to, { highWaterMark: MiB }));
}

/** One HTTP request with an optional streamed body; resolves with status and headers once the response ended. */
function send(url: string, method: string, headers: Record<string, string>, body?: NodeJS.ReadableStream, sink?: NodeJS.WritableStream) {
  return new Promise<{ status: number; headers: Record<string, string | string[] | undefined> }>((resolve, reject) => {
    const req = request(url, { method, headers }, (res) => {
      const done = () => resolve({ status: res.statusCode ?? 0, headers: res.headers });
      if (sink) pipeline(res, sink).then(done, reject);
      else {
        res.resume();
        res.on('end', done);
      }
    });
    req.on('error', reject);
    if (body) body.pipe(req);
    else req.end();
  });
}

/** A tus upload of `file` by hand (creation, then PATCHes of `chunk` bytes); returns the file id. */
async function tusUpload(baseUrl: string, token: string, file: string, size: number, chunk: number): Promise<string> {
  const auth = { authorization: `Bearer ${token}`, 'tus-resumable': '1.0.0' };
  const metadata = `filename ${Buffer.from('bench.bin').toString('base64')},purpose ${Buffer.from('attachment').toString('base64')}`;
  const created = await send(`${baseUrl}/api/v1/uploads`, 'POST', { ...auth, 'upload-length': String(size), 'upload-metadata': metadata });
  if (created.status !== 201) throw new Error(`tus creation answered ${created.status}`);
  const location = new URL(String(created.headers.location), baseUrl).toString();
  let fileId = '';
  for (let offset = 0; offset < size; offset += chunk) {
    const end = Math.min(size, offset + chunk);
    const patched = await send(
      location,
      'PATCH',
      { ...auth, 'upload-offset': String(offset), 'content-type': 'application/offset+octet-stream', 'content-length': String(end - offset) },
      createReadStream(file, { start: offset, end: end - 1, highWaterMark: MiB }),
    );
    if (patched.status !== 204) throw new Error(`tus PATCH at ${offset} answered ${patched.status}`);
    fileId = String(patched.headers['parley-file-id'] ?? '');
  }
  if (!fileId) throw new Error('the last PATCH carried no Parley-File-Id');
  return fileId;
}

const mbps = (bytes: number, ms: number) => bytes / MiB / (ms / 1000);

export async function benchFiles(options: FilesBenchOptions): Promise<boolean> {
  const size = options.sizeMiB * MiB;
  const work = makeTempDir('parley-bench-files-');
  const serverDir = path.join(work, 'server');
  const source = path.join(work, 'source.bin');
  const copy = path.join(work, 'copy.bin');
  const downloaded = path.join(work, 'downloaded.bin');
  mkdirSync(serverDir);
  const server = await startParleyProcess(serverDir, { UPLOAD_MAX_BYTES: String(size * 2), UPLOAD_QUOTA_BYTES: String(size * 4) }, 'files');
  try {
    say(`  ${options.sizeMiB} MiB of random bytes, tus PATCHes of ${options.chunkMiB} MiB over loopback HTTP, server pid ${server.pid}\n`);
    await writeRandomFile(source, size);
    const token = (await api<{ accessToken: string }>(server.url, 'POST', '/auth/register', { username: 'filebench', password: 'bench password 1234' })).accessToken;
    const { rss: idleRss, hwm: idleHwm } = memoryMiB(server.pid);

    // The plain copy runs right before the upload, so both meet the same page-cache state.
    let started = performance.now();
    await streamCopy(source, copy);
    const copyMs = performance.now() - started;
    rmSync(copy, { force: true });

    started = performance.now();
    const fileId = await tusUpload(server.url, token, source, size, options.chunkMiB * MiB);
    const uploadMs = performance.now() - started;
    const afterUpload = memoryMiB(server.pid);

    started = performance.now();
    const got = await send(`${server.url}/api/v1/files/${fileId}/content`, 'GET', { authorization: `Bearer ${token}` }, undefined, createWriteStream(downloaded, { highWaterMark: MiB }));
    const downloadMs = performance.now() - started;
    if (got.status !== 200 || statSync(downloaded).size !== size) throw new Error(`download answered ${got.status} with ${statSync(downloaded).size} bytes`);
    const peak = memoryMiB(server.pid).hwm;
    rmSync(downloaded, { force: true });

    // The same bytes through a bare Node HTTP server (one PUT, one GET): what loopback HTTP costs here.
    const bareDir = path.join(work, 'bare');
    mkdirSync(bareDir);
    const bare = await spawnServer({ script: benchFile('files-bare-server.js'), env: { DATA_DIR: bareDir }, cwd: bareDir, readyText: 'bare file server listening' });
    let bareUploadMs = 0;
    let bareDownloadMs = 0;
    try {
      started = performance.now();
      const put = await send(`${bare.url}/x`, 'PUT', { 'content-length': String(size) }, createReadStream(source, { highWaterMark: MiB }));
      bareUploadMs = performance.now() - started;
      started = performance.now();
      const get = await send(`${bare.url}/x`, 'GET', {}, undefined, createWriteStream(downloaded, { highWaterMark: MiB }));
      bareDownloadMs = performance.now() - started;
      if (put.status !== 204 || get.status !== 200) throw new Error(`bare server answered ${put.status}/${get.status}`);
    } finally {
      await bare.stop();
    }

    const copyRate = mbps(size, copyMs);
    const uploadRate = mbps(size, uploadMs);
    const downloadRate = mbps(size, downloadMs);
    const bareUpRate = mbps(size, bareUploadMs);
    const bareDownRate = mbps(size, bareDownloadMs);
    say(
      `  plain copy        ${fixed(copyRate, 0).padStart(6)} MiB/s\n` +
        `  bare HTTP PUT     ${fixed(bareUpRate, 0).padStart(6)} MiB/s  = ${fixed((bareUpRate / copyRate) * 100)} % of the copy (reference: loopback HTTP to disk, no Parley)\n` +
        `  bare HTTP GET     ${fixed(bareDownRate, 0).padStart(6)} MiB/s  = ${fixed((bareDownRate / copyRate) * 100)} % of the copy\n` +
        `  tus upload        ${fixed(uploadRate, 0).padStart(6)} MiB/s  = ${fixed((uploadRate / copyRate) * 100)} % of the copy (includes sniffing and the SHA-256 of the finished file)\n` +
        `  download          ${fixed(downloadRate, 0).padStart(6)} MiB/s  = ${fixed((downloadRate / copyRate) * 100)} % of the copy\n` +
        `  Parley / bare HTTP: upload ${fixed((uploadRate / bareUpRate) * 100)} %, download ${fixed((downloadRate / bareDownRate) * 100)} %\n` +
        `  target: at least 70 % of the copy each way\n` +
        `  server RSS: ${fixed(idleRss, 0)} MiB idle (peak so far ${fixed(idleHwm, 0)} MiB: start-up and an argon2id registration), ` +
        `${fixed(afterUpload.rss, 0)} MiB after the upload (peak so far ${fixed(afterUpload.hwm, 0)} MiB); peak (VmHWM) ${fixed(peak, 0)} MiB over the whole run ` +
        `(${peak < 200 ? 'under' : 'OVER'} the 200 MB limit)\n`,
    );
    return peak < 200;
  } finally {
    await server.stop();
    removeTempDir(work);
  }
}
