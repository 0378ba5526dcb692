import type { FastifyReply, FastifyRequest } from 'fastify';
import { bearer, responses } from '../../platform/http/route-helpers.js';
import type { HttpApp } from '../../platform/http/server.js';
import { actorOf } from '../../platform/http/server.js';
import { AppError } from '../../shared/errors.js';
import { contentDisposition } from './files.names.js';
import type { FileRow } from './files.repository.js';
import { ContentQuery, FileBytes, FileParams, FileRecordSchema, SignedUrl, SignedUrlQuery } from './files.schemas.js';
import type { FilesService, FileVariant } from './files.service.js';
import type { FileStorage } from './files.storage.js';

/**
 * Served bytes never run as a page: no scripts, no plugins, no framing, a sandbox for anything a
 * browser might still render. Media may load from the response itself.
 */
const DOWNLOAD_CSP = "default-src 'none'; img-src 'self' data:; media-src 'self'; style-src 'unsafe-inline'; sandbox; frame-ancestors 'none'";

type Range = { start: number; end: number };

/**
 * One `bytes=` range (RFC 9110 §14.1.2). Several ranges are answered with the whole file (allowed);
 * null means unsatisfiable (416), undefined means no usable Range header (200).
 */
function parseRange(header: string | undefined, size: number): Range | null | undefined {
  if (!header) return undefined;
  const match = /^bytes=(\d*)-(\d*)$/.exec(header.trim());
  if (!match) return undefined;
  const [, first = '', last = ''] = match;
  if (first === '' && last === '') return undefined;
  if (first === '') {
    const suffix = Number(last);
    if (suffix === 0 || size === 0) return null;
    return { start: Math.max(0, size - suffix), end: size - 1 };
  }
  const start = Number(first);
  const end = last === '' ? size - 1 : Math.min(Number(last), size - 1);
  if (start >= size || end < start) return null;
  return { start, end };
}

/** An If-None-Match list holds the ETag (or `*`). */
const matchesEtag = (header: string | undefined, etag: string) =>
  header?.split(',').some((tag) => {
    const value = tag.trim().replace(/^W\//, '');
    return value === '*' || value === etag;
  });

function sendFile(request: FastifyRequest, reply: FastifyReply, storage: FileStorage, row: FileRow, variant: FileVariant, download: boolean) {
  const thumbnail = variant === 'thumbnail';
  const key = thumbnail ? (row.thumbnail_key as string) : row.storage_key;
  const contentType = thumbnail ? 'image/webp' : row.content_type;
  const etag = thumbnail ? `"${row.sha256}-thumb"` : `"${row.sha256}"`;
  reply
    .header('etag', etag)
    .header('accept-ranges', 'bytes')
    .header('cache-control', 'private, max-age=300')
    .header('x-content-type-options', 'nosniff')
    .header('content-security-policy', DOWNLOAD_CSP)
    .header('cross-origin-resource-policy', 'same-site')
    .header('content-disposition', contentDisposition(thumbnail ? `${row.filename}.webp` : row.filename, contentType, download));
  if (matchesEtag(request.headers['if-none-match'], etag)) return reply.status(304).send();
  return storage.size(key).then((size) => {
    if (size === null) throw new AppError('NOT_FOUND', 'file not found');
    const ifRange = request.headers['if-range'];
    const rangeHeader = ifRange === undefined || ifRange === etag ? request.headers.range : undefined;
    const range = parseRange(rangeHeader, size);
    reply.header('content-type', contentType);
    if (range === null) return reply.status(416).header('content-range', `bytes */${size}`).send();
    if (range) {
      return reply
        .status(206)
        .header('content-range', `bytes ${range.start}-${range.end}/${size}`)
        .header('content-length', String(range.end - range.start + 1))
        .send(storage.open(key, range));
    }
    if (request.method === 'HEAD') return reply.header('content-length', String(size)).send();
    return reply.header('content-length', String(size)).send(storage.open(key));
  });
}

export function filesRoutes(files: FilesService, storage: FileStorage) {
  return async (app: HttpApp) => {
    app.get(
      '/files/:id',
      {
        preValidation: app.authenticate,
        schema: {
          tags: ['files'],
          security: bearer,
          summary: "A file's metadata (uploader, members of a conversation it was sent to; avatars: anyone)",
          params: FileParams,
          response: responses({ 200: FileRecordSchema }, [401, 404]),
        },
      },
      async (request) => files.describe(actorOf(request), request.params.id),
    );

    app.get(
      '/files/:id/url',
      {
        preValidation: app.authenticate,
        schema: {
          tags: ['files'],
          security: bearer,
          summary: 'A signed URL for the file (or its thumbnail) that works without the Authorization header for SIGNED_URL_TTL seconds',
          params: FileParams,
          querystring: SignedUrlQuery,
          response: responses({ 200: SignedUrl }, [401, 404]),
        },
      },
      async (request) => files.signedUrl(actorOf(request), request.params.id, request.query.variant ?? 'content'),
    );

    for (const variant of ['content', 'thumbnail'] as const) {
      app.get(
        `/files/:id/${variant}`,
        {
          // A signed URL stands in for the token; without one the bearer token is required.
          preValidation: async (request, reply) => {
            const query = request.query as { signature?: string };
            if (query.signature === undefined) await app.authenticate(request, reply);
          },
          schema: {
            tags: ['files'],
            security: bearer,
            summary: variant === 'content' ? "The file's bytes, with Range, ETag and Content-Disposition" : "The file's WebP thumbnail (images and videos)",
            description: 'Authorise with the bearer token, or with the `expires` and `signature` of a URL from `GET /files/{id}/url`.',
            params: FileParams,
            querystring: ContentQuery,
            response: { ...responses({}, [401, 403, 404, 416]), 200: { description: 'the bytes', content: { 'application/octet-stream': { schema: FileBytes } } } },
          },
        },
        async (request, reply) => {
          const { expires, signature, download } = request.query;
          const row =
            signature !== undefined
              ? await files.readableBySignature(request.params.id, variant, expires ?? 0, signature)
              : await files.readable(actorOf(request), request.params.id, variant);
          return sendFile(request, reply, storage, row, variant, download === true);
        },
      );
    }
  };
}
