import { AsyncLocalStorage } from 'node:async_hooks';
import { createHash, type Hash } from 'node:crypto';
import { once } from 'node:events';
import { createWriteStream, promises as fsp } from 'node:fs';
import type { IncomingMessage } from 'node:http';
import path from 'node:path';
import { type Readable, Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { FileStore } from '@tus/file-store';
import { ERRORS, EVENTS, Metadata, Server as TusServer, type Upload } from '@tus/server';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { HttpApp } from '../../platform/http/server.js';
import { actorOf } from '../../platform/http/server.js';
import type { UploadMetrics } from '../../platform/metrics/metrics.js';
import { AppError, ERROR_STATUS, errorResponse } from '../../shared/errors.js';
import type { FilesService, UploadMetadata } from './files.service.js';
import type { FileStorage } from './files.storage.js';

/** Where tus clients point `endpoint`, below the API prefix. */
export const UPLOADS_PATH = '/uploads';

/** Bytes buffered per upload between the socket and the disk. */
const WRITE_BUFFER_BYTES = 1024 * 1024;

/** What the Fastify side decided about a request before tus sees it, keyed by the request tus gets. */
const decided = new WeakMap<Request, { uploadId: string }>();

/** tus checksum extension: algorithms a client may name in `Upload-Checksum` (advertised on OPTIONS). */
const CHECKSUM_ALGORITHMS = ['sha1', 'sha256', 'md5'] as const;
type ChecksumAlgorithm = (typeof CHECKSUM_ALGORITHMS)[number];
const DIGEST_BYTES: Record<ChecksumAlgorithm, number> = { sha1: 20, sha256: 32, md5: 16 };

/** A request's `Upload-Checksum`: the digest its body must have. */
interface ExpectedChecksum {
  algorithm: ChecksumAlgorithm;
  digest: Buffer;
}

/**
 * The `Upload-Checksum` of the request tus is handling, for the store's `write()` (which only gets
 * the body stream). Request-scoped rather than a map by upload id, so two requests for one upload
 * cannot see each other's checksum.
 */
const requestChecksum = new AsyncLocalStorage<ExpectedChecksum | undefined>();

/** Chunk bytes queued between the socket and the disk writer per request. */
const BODY_QUEUE_BYTES = 1024 * 1024;

/**
 * The request body as a web stream with a byte-sized queue. (@tus/server's own Node adapter queues
 * one 64 KiB chunk at a time, pausing the socket after each: a fraction of loopback speed.) A
 * client that drops the connection mid-chunk errors the stream; tus keeps what was written.
 */
function bodyStream(raw: IncomingMessage): ReadableStream<Uint8Array> {
  return new ReadableStream<Uint8Array>(
    {
      start(controller) {
        let ended = false;
        raw.on('data', (chunk: Buffer) => {
          controller.enqueue(new Uint8Array(chunk.buffer, chunk.byteOffset, chunk.byteLength));
          if ((controller.desiredSize ?? 1) <= 0) raw.pause();
        });
        raw.once('end', () => {
          ended = true;
          controller.close();
        });
        raw.once('close', () => {
          if (!ended) controller.error(new Error('the client closed the connection'));
        });
      },
      pull() {
        raw.resume();
      },
      cancel() {
        raw.destroy();
      },
    },
    new ByteLengthQueuingStrategy({ highWaterMark: BODY_QUEUE_BYTES }),
  );
}

/**
 * A web Request for tus over Fastify's raw Node request (only POST and PATCH carry bodies). Its URL
 * is rebuilt from `pathname` (the endpoint, plus the upload id the route authorized), never copied
 * from the client: tus takes the id from the last `/`-segment of the whole URL, query string
 * included, so `/uploads/<own>?x=/<victim>` would otherwise reach the victim's upload.
 */
function webRequestOf(raw: IncomingMessage, pathname: string): Request {
  const headers = new Headers();
  for (const [name, value] of Object.entries(raw.headers)) {
    if (value !== undefined) headers.set(name, Array.isArray(value) ? value.join(', ') : value);
  }
  const withBody = raw.method === 'PATCH' || raw.method === 'POST';
  const init: RequestInit & { duplex?: 'half' } = { method: raw.method, headers, body: withBody ? bodyStream(raw) : null };
  if (withBody) init.duplex = 'half';
  return new Request(new URL(pathname, `http://${raw.headers.host ?? 'localhost'}`), init);
}

/**
 * A failure thrown into tus (from a hook or the store): tus sends `body` with `status_code`, so the
 * client gets Parley's JSON error with the code's own status.
 */
function tusError(error: unknown): { status_code: number; body: string } {
  const appError = error instanceof AppError ? error : new AppError('INTERNAL', 'internal error');
  return { status_code: appError.status, body: JSON.stringify(errorResponse(appError)) };
}

/**
 * FileStore that hashes bytes as they stream in (so a finished upload needs no second read of a
 * possibly huge file) and reports each chunk's end offset (progress between fast loopback PATCHes).
 * The running hash lives in this process only: after a restart, or if a chunk failed half-way, the
 * finished file is hashed from disk instead.
 *
 * Also the tus checksum extension: a request's `Upload-Checksum` is checked after its chunk has
 * streamed to disk, and a chunk that does not match is rolled back by truncating the file to the
 * offset it started at (the offset tus reports is the file's size). So no chunk is buffered in
 * memory, and the next `HEAD` shows the offset from before the request.
 */
class HashingFileStore extends FileStore {
  onWritten: (uploadId: string, offset: number) => void = () => {};
  /** Bytes of a request body that reached the disk (kept or not), for the upload metric. */
  onReceived: (bytes: number) => void = () => {};
  private readonly running = new Map<string, { hash: Hash; offset: number }>();

  constructor(options: ConstructorParameters<typeof FileStore>[0]) {
    super(options);
    // @tus/server builds `Tus-Extension` from this list.
    this.extensions = [...this.extensions, 'checksum'];
  }

  override async write(readable: IncomingMessage | Readable, fileId: string, offset: number): Promise<number> {
    let state = this.running.get(fileId);
    if (offset === 0) {
      state = { hash: createHash('sha256'), offset: 0 };
      this.running.set(fileId, state);
    }
    const hashing = state && state.offset === offset ? state : undefined;
    if (!hashing) this.running.delete(fileId);
    const expected = requestChecksum.getStore();
    const chunkHash = expected ? createHash(expected.algorithm) : undefined;
    // The whole-file hash as it was before this chunk, to roll back to if the chunk is discarded.
    const hashBefore = chunkHash && hashing ? hashing.hash.copy() : undefined;
    // FileStore.write, with one counting-and-hashing stage and a 1 MiB write buffer: the default
    // 16 KiB one turns every 64 KiB socket read into a wait for the disk.
    let received = 0;
    const tap = new Transform({
      transform(chunk: Buffer, _encoding, callback) {
        received += chunk.length;
        hashing?.hash.update(chunk);
        chunkHash?.update(chunk);
        callback(null, chunk);
      },
    });
    const filePath = path.join(this.directory, fileId);
    const target = createWriteStream(filePath, { flags: 'r+', start: offset, highWaterMark: WRITE_BUFFER_BYTES });
    try {
      await pipeline(readable, tap, target);
    } catch {
      this.onReceived(received);
      this.running.delete(fileId);
      // Without a checksum tus keeps what was written; with one, a partial chunk cannot be verified,
      // so it goes too (the client resends it from the old offset).
      if (expected) {
        if (!target.closed) await once(target, 'close').catch(() => {});
        await fsp.truncate(filePath, offset).catch(() => {});
      }
      throw ERRORS.FILE_WRITE_ERROR;
    }
    this.onReceived(received);
    if (chunkHash && expected && !chunkHash.digest().equals(expected.digest)) {
      try {
        await fsp.truncate(filePath, offset);
      } catch {
        this.running.delete(fileId);
        throw ERRORS.FILE_WRITE_ERROR;
      }
      if (hashing && hashBefore) hashing.hash = hashBefore;
      throw tusError(new AppError('CHECKSUM_MISMATCH', `Upload-Checksum: the ${expected.algorithm} digest of the request body does not match; the chunk was discarded`));
    }
    const end = offset + received;
    if (hashing) hashing.offset = end;
    this.onWritten(fileId, end);
    return end;
  }

  /** The SHA-256 of the whole upload when every byte passed through this process, else undefined. */
  takeDigest(fileId: string, size: number): string | undefined {
    const state = this.running.get(fileId);
    this.running.delete(fileId);
    return state && state.offset === size ? state.hash.digest('hex') : undefined;
  }

  override async remove(fileId: string): Promise<void> {
    this.running.delete(fileId);
    await super.remove(fileId);
  }

  /** Drops the running hash of an upload removed elsewhere (clean-up, user deletion), which tus never hears of. */
  forget(fileId: string): void {
    this.running.delete(fileId);
  }

  /** Running hashes held (one per upload whose bytes are still streaming in); for tests and metrics. */
  get hashesHeld(): number {
    return this.running.size;
  }
}

/** The tus server with the store behind it exposed (its `hashesHeld` shows the per-upload state). */
export type ParleyTusServer = TusServer & { datastore: HashingFileStore };

export interface TusOptions {
  files: FilesService;
  storage: FileStorage;
  /** Full path of the endpoint, e.g. `/api/v1/uploads`. */
  endpointPath: string;
  maxBytes: number;
  expiryHours: number;
  /** CORS_ORIGINS: hijacked tus responses carry their own CORS headers. */
  corsOrigins: readonly string[];
  /** Counts the bytes uploads bring in (metrics on). */
  metrics?: UploadMetrics;
}

/** The tus 1.0 server (@tus/server) over Parley's storage and rules. */
export function createTusServer({ files, storage, endpointPath, maxBytes, expiryHours, corsOrigins, metrics }: TusOptions): ParleyTusServer {
  const datastore = new HashingFileStore({ directory: storage.tusDir, expirationPeriodInMilliseconds: expiryHours * 3_600_000 });
  datastore.onWritten = (uploadId, offset) => files.progress(uploadId, offset);
  if (metrics) datastore.onReceived = (bytes) => metrics.uploadBytes(bytes);
  // Uploads the service removes behind tus's back (expired, owner deleted) take their running hash along.
  files.onUploadRemoved((uploadId) => datastore.forget(uploadId));
  const server = new TusServer({
    path: endpointPath,
    datastore,
    relativeLocation: true,
    ...(corsOrigins.includes('*') ? {} : { allowedOrigins: [...corsOrigins], allowedCredentials: true }),
    allowedHeaders: ['authorization', 'upload-checksum'],
    // The id tus acts on is the one the Fastify route authorized, never one parsed from the URL
    // (the rebuilt URL carries the same id; this is the second lock on the same door).
    getFileIdFromRequest: (req) => decided.get(req as unknown as Request)?.uploadId,
    // Upload ids never come from the client: the Fastify route made one after its checks.
    namingFunction: (req) => {
      const uploadId = decided.get(req as unknown as Request)?.uploadId;
      if (!uploadId) throw new Error('upload created without the creation checks');
      return uploadId;
    },
    maxSize: maxBytes,
    postReceiveInterval: 250,
    disableTerminationForFinishedUploads: true,
    exposedHeaders: ['Parley-File-Id', 'Tus-Checksum-Algorithm'],
    onUploadFinish: async (_req, upload: Upload) => {
      try {
        const record = await files.finishUpload(upload.id, datastore.takeDigest(upload.id, upload.size ?? -1));
        return { headers: { 'Parley-File-Id': record.id } };
      } catch (error) {
        throw tusError(error);
      }
    },
  });
  server.on(EVENTS.POST_RECEIVE, (_req: unknown, upload: Upload) => files.progress(upload.id, upload.offset));
  server.on(EVENTS.POST_TERMINATE, (_req: unknown, _res: unknown, uploadId: string) => {
    void files.uploadTerminated(uploadId).catch(() => {});
  });
  return server as ParleyTusServer;
}

function headerOf(request: FastifyRequest, name: string): string | undefined {
  const value = request.headers[name];
  return typeof value === 'string' ? value : undefined;
}

/** `Upload-Checksum: <algorithm> <base64 digest>`, refused with 400 before any byte is read. */
function parseChecksum(header: string | undefined): ExpectedChecksum | undefined {
  if (header === undefined) return undefined;
  const match = /^\s*(\S+) +([A-Za-z0-9+/]+={0,2})\s*$/.exec(header);
  if (!match) throw AppError.validation('Upload-Checksum', 'must be "<algorithm> <base64 digest>"');
  const algorithm = match[1]?.toLowerCase() as ChecksumAlgorithm;
  if (!CHECKSUM_ALGORITHMS.includes(algorithm)) {
    throw AppError.validation('Upload-Checksum', `unsupported algorithm (supported: ${CHECKSUM_ALGORITHMS.join(', ')})`);
  }
  const digest = Buffer.from(match[2] ?? '', 'base64');
  if (digest.length !== DIGEST_BYTES[algorithm]) throw AppError.validation('Upload-Checksum', `is not a base64 ${algorithm} digest`);
  return { algorithm, digest };
}

function parseMetadata(header: string | undefined): UploadMetadata {
  if (!header) return {};
  try {
    const parsed = Metadata.parse(header);
    return {
      filename: parsed.filename ?? parsed.name,
      contentType: parsed.contentType,
      filetype: parsed.filetype ?? parsed.type,
      purpose: parsed.purpose,
      conversationId: parsed.conversationId,
    };
  } catch {
    throw AppError.validation('Upload-Metadata', 'is not valid tus metadata (comma-separated key and base64 value pairs)');
  }
}

/**
 * Routes `/uploads` to tus once Parley has authenticated the caller and, for creation, applied its
 * rules (size, quota, purpose): those refusals use the JSON error shape, before a byte is read.
 */
export function tusRoutes(files: FilesService, tus: TusServer) {
  const endpointPath = tus.options.path;
  /**
   * `uploadId`: for POST the id the server made, for HEAD/PATCH/DELETE the authorized `:id`; the
   * only id tus will see.
   */
  async function handOver(request: FastifyRequest, reply: FastifyReply, { uploadId, checksum }: { uploadId?: string; checksum?: ExpectedChecksum } = {}): Promise<void> {
    reply.hijack();
    try {
      const target = request.method === 'POST' || !uploadId ? endpointPath : `${endpointPath}/${uploadId}`;
      const webRequest = webRequestOf(request.raw, target);
      if (uploadId) decided.set(webRequest, { uploadId });
      const response = await requestChecksum.run(checksum, () => tus.handleWeb(webRequest));
      const body = response.body ? Buffer.from(await response.arrayBuffer()) : undefined;
      const headers = Object.fromEntries(response.headers);
      // @tus/server's OPTIONS handler has no place for this checksum-extension header.
      if (request.method === 'OPTIONS') headers['tus-checksum-algorithm'] = CHECKSUM_ALGORITHMS.join(',');
      // A refused or aborted chunk leaves unread bytes: close the connection rather than read them.
      const unread = !request.raw.complete;
      if (unread) headers.connection = 'close';
      // Node knows no reason phrase for 460 ("unknown" otherwise).
      if (response.status === ERROR_STATUS.CHECKSUM_MISMATCH) reply.raw.statusMessage = 'Checksum Mismatch';
      reply.raw.writeHead(response.status, headers);
      reply.raw.end(body, () => {
        if (unread) request.raw.destroy();
      });
    } catch (error) {
      request.log.error({ err: error }, 'tus request failed');
      if (!reply.raw.headersSent) reply.raw.writeHead(500, { 'content-type': 'application/json' });
      reply.raw.end(JSON.stringify(errorResponse(new AppError('INTERNAL', 'internal error'))));
    }
  }

  return async (app: HttpApp) => {
    // The chunk bodies go to tus as a stream: this parser leaves them unread (and unbounded by
    // BODY_LIMIT_BYTES; tus bounds each PATCH by the upload's declared length instead).
    app.addContentTypeParser('application/offset+octet-stream', (_request, _payload, done) => done(null));
    const hidden = { hide: true };
    // Chunks of one authenticated upload are bounded by its declared size, not by the request rate limit.
    const unlimited = { rateLimit: false } as const;

    app.post(UPLOADS_PATH, { preValidation: app.authenticate, schema: hidden }, async (request, reply) => {
      const actor = actorOf(request);
      if (headerOf(request, 'upload-defer-length') !== undefined) throw AppError.validation('Upload-Length', 'is required (deferred lengths are not accepted)');
      const lengthHeader = headerOf(request, 'upload-length');
      if (lengthHeader === undefined || !/^[0-9]{1,16}$/.test(lengthHeader)) throw AppError.validation('Upload-Length', 'must be the file size in bytes');
      // Checked before the upload exists (creation-with-upload may carry a checksummed first chunk).
      const checksum = parseChecksum(headerOf(request, 'upload-checksum'));
      const upload = await files.beginUpload(actor, { size: Number(lengthHeader), metadata: parseMetadata(headerOf(request, 'upload-metadata')) });
      await handOver(request, reply, { uploadId: upload.id, checksum });
    });

    for (const method of ['HEAD', 'PATCH', 'DELETE'] as const) {
      app.route({
        method,
        url: `${UPLOADS_PATH}/:id`,
        preValidation: app.authenticate,
        config: method === 'DELETE' ? {} : unlimited,
        schema: hidden,
        handler: async (request, reply) => {
          const { id } = request.params as { id: string };
          const upload = await files.requireOwnUpload(actorOf(request), id);
          // Before the hijack, so a bad header gets Parley's JSON 400 and no byte is written.
          const checksum = method === 'PATCH' ? parseChecksum(headerOf(request, 'upload-checksum')) : undefined;
          await handOver(request, reply, { uploadId: upload.id, checksum });
        },
      });
    }

    // Protocol discovery (Tus-Version, Tus-Extension, Tus-Max-Size); no account needed.
    // tus answers it (with its own CORS headers), so the CORS plugin's strict preflight check stays out.
    app.options(UPLOADS_PATH, { schema: hidden, config: { cors: false } }, async (request, reply) => handOver(request, reply));
  };
}
