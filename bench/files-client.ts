// One timed transfer for bench/files.ts, in a process of its own, the way a real client is: run
// inside the bench's own process, the HTTP client's buffers met a bigger heap and turned every
// external-memory GC into a full mark-compact (over 200 of them per GiB), so the bench measured
// its own garbage collector rather than the server.
//
// Usage: files-client.js <job JSON>; prints {"ms": ..., "fileId"?: ...} on stdout.
import { createReadStream, createWriteStream } from 'node:fs';
import { request } from 'node:http';
import { pipeline } from 'node:stream/promises';

export type FilesClientJob =
  | { kind: 'tus-upload'; baseUrl: string; token: string; file: string; size: number; chunk: number }
  | { kind: 'put'; url: string; file: string; size: number }
  | { kind: 'get'; url: string; headers: Record<string, string>; file: string };

const MiB = 1024 * 1024;

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
async function tusUpload(job: Extract<FilesClientJob, { kind: 'tus-upload' }>): Promise<string> {
  const { baseUrl, token, file, size, chunk } = job;
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

async function run(job: FilesClientJob): Promise<{ ms: number; fileId?: string }> {
  const started = performance.now();
  if (job.kind === 'tus-upload') {
    const fileId = await tusUpload(job);
    return { ms: performance.now() - started, fileId };
  }
  if (job.kind === 'put') {
    const put = await send(job.url, 'PUT', { 'content-length': String(job.size) }, createReadStream(job.file, { highWaterMark: MiB }));
    if (put.status !== 204) throw new Error(`PUT answered ${put.status}`);
  } else {
    const got = await send(job.url, 'GET', job.headers, undefined, createWriteStream(job.file, { highWaterMark: MiB }));
    if (got.status !== 200) throw new Error(`GET answered ${got.status}`);
  }
  return { ms: performance.now() - started };
}

run(JSON.parse(process.argv[2] ?? '{}') as FilesClientJob).then(
  (result) => process.stdout.write(`${JSON.stringify(result)}\n`),
  (error: unknown) => {
    process.stderr.write(`${error instanceof Error ? error.message : String(error)}\n`);
    process.exit(1);
  },
);
