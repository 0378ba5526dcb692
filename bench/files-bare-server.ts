// Reference for bench/files.ts: a bare Node HTTP server that streams a PUT body to a file and a
// GET back from it, with the same 1 MiB buffers as Parley; no auth, no tus, no hashing.
import { createReadStream, createWriteStream } from 'node:fs';
import { createServer } from 'node:http';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';

const dir = process.env.DATA_DIR ?? process.cwd();
const file = path.join(dir, 'bare.bin');

const server = createServer((req, res) => {
  const done = (status: number) => {
    res.statusCode = status;
    res.end();
  };
  if (req.method === 'PUT') {
    pipeline(req, createWriteStream(file, { highWaterMark: 1 << 20 })).then(
      () => done(204),
      () => done(500),
    );
    return;
  }
  if (req.method === 'GET') {
    res.setHeader('content-type', 'application/octet-stream');
    pipeline(createReadStream(file, { highWaterMark: 1 << 20 }), res).catch(() => res.destroy());
    return;
  }
  done(405);
});
server.listen(0, '127.0.0.1', () => {
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : 0;
  process.stdout.write(`${JSON.stringify({ url: `http://127.0.0.1:${port}`, msg: 'bare file server listening' })}\n`);
});
process.on('SIGTERM', () => server.close(() => process.exit(0)));
