import multipart from '@fastify/multipart';
import type { FastifyRequest, FastifySchemaCompiler } from 'fastify';
import { bearer, NoContent, responses } from '../../platform/http/route-helpers.js';
import { actorOf, type HttpApp } from '../../platform/http/server.js';
import { validatorCompiler } from '../../platform/http/validation.js';
import type { Actor } from '../../shared/actor.js';
import { AppError } from '../../shared/errors.js';
import { AvatarFileIdBody, AvatarMultipartBody, AvatarNameParams, AvatarUrls, WebpImage } from './avatars.schemas.js';
import type { AvatarsService } from './avatars.service.js';

/** Where avatar files are served, below the API prefix. */
export const AVATARS_PATH = '/avatars';

/** The largest avatar upload accepted, before decoding. */
const AVATAR_MAX_BYTES = 10 * 1024 * 1024;
/** Room for the multipart framing (boundaries, part headers, a few small fields) around the file. */
const MULTIPART_OVERHEAD_BYTES = 64 * 1024;
/** Avatar files are named uniquely per upload, so a URL's content never changes. */
const CACHE_FOREVER = 'public, max-age=31536000, immutable';

const FILE_ID_NOT_YET = 'fileId uploads are not available yet; send multipart field `file`';

const missingFile = () => new AppError('VALIDATION_FAILED', 'send the image as multipart/form-data field `file`', [{ field: 'file', message: 'is required' }]);

const fileTooLarge = () => new AppError('PAYLOAD_TOO_LARGE', `the avatar image must be at most ${AVATAR_MAX_BYTES / 1024 / 1024} MB`);

function mediaTypeOf(request: FastifyRequest): string | undefined {
  const header = request.headers['content-type'];
  return header?.split(';')[0]?.trim().toLowerCase() || undefined;
}

/** onRequest: refuses, before any byte of the body is read, what this route can never accept. */
async function screenUpload(request: FastifyRequest): Promise<void> {
  const type = mediaTypeOf(request);
  if (type !== undefined && type !== 'multipart/form-data' && type !== 'application/json') {
    throw new AppError('UNSUPPORTED_MEDIA_TYPE', `unsupported content type ${type}; send the image as multipart/form-data field \`file\``);
  }
  const length = Number(request.headers['content-length']);
  if (Number.isFinite(length) && length > AVATAR_MAX_BYTES + MULTIPART_OVERHEAD_BYTES) throw fileTooLarge();
}

/**
 * The multipart plugin's own errors carry FST_* codes (mapped in platform/http/errors.ts); busboy's
 * parse errors ("Unexpected end of form", "Malformed part header") are plain errors: a bad request.
 */
function multipartFailure(error: unknown): unknown {
  if (error instanceof AppError) return error;
  const code = (error as { code?: unknown } | null)?.code;
  if (code === 'FST_REQ_FILE_TOO_LARGE') return fileTooLarge();
  if (code === 'FST_FILES_LIMIT') return new AppError('PAYLOAD_TOO_LARGE', 'send one file only, in multipart field `file`');
  if (typeof code === 'string' && code.startsWith('FST_')) return error;
  return new AppError('VALIDATION_FAILED', 'the multipart body is malformed');
}

/**
 * The uploaded image's bytes (multipart field `file`, at most AVATAR_MAX_BYTES). Reads every part to
 * the end, so the parser's limit errors (a second file, too many fields) surface instead of being lost.
 */
async function uploadedImage(request: FastifyRequest): Promise<Buffer> {
  if (!request.isMultipart()) {
    // A JSON body reached here only after its schema check: it names a file id.
    if (request.body !== undefined && request.body !== null) {
      throw new AppError('VALIDATION_FAILED', FILE_ID_NOT_YET, [{ field: 'fileId', message: 'not available yet' }]);
    }
    throw missingFile();
  }
  let image: Buffer | undefined;
  try {
    for await (const part of request.parts()) {
      if (part.type !== 'file') continue; // other fields are ignored
      const bytes = await part.toBuffer();
      // toBuffer() does not always throw when the size limit cut the file short: check the flag too.
      if (part.file.truncated) throw fileTooLarge();
      if (part.fieldname === 'file') image = bytes;
    }
  } catch (error) {
    throw multipartFailure(error);
  }
  if (!image) throw missingFile();
  return image;
}

/** The multipart form is read by the plugin in the handler, so only the JSON form is validated as a body. */
const skipMultipartBody: FastifySchemaCompiler<object> = (route) =>
  route.httpPart === 'body' && route.contentType === 'multipart/form-data' ? () => true : validatorCompiler(route);

/** Where the `{fileId}` form finds the bytes of a finished tus upload (the files module). */
export interface AvatarUploadSource {
  /** The caller's own finished avatar upload; NOT_FOUND for any other id. */
  avatarUpload(actor: Actor, fileId: string): Promise<Buffer>;
}

/** The `fileId` of a JSON body (already checked against AvatarFileIdBody), if this is that form. */
function fileIdOf(request: FastifyRequest): string | undefined {
  if (request.isMultipart()) return undefined;
  const body = request.body as { fileId?: unknown } | null | undefined;
  return typeof body?.fileId === 'string' ? body.fileId : undefined;
}

/** `PUT /users/me/avatar`, with multipart parsing registered for this route's scope only. */
function uploadRoute(avatars: AvatarsService, uploads?: AvatarUploadSource) {
  return async (app: HttpApp) => {
    await app.register(multipart, {
      limits: { files: 1, fileSize: AVATAR_MAX_BYTES, fields: 10, fieldSize: 1024, parts: 11, headerPairs: 100 },
    });

    app.put(
      '/users/me/avatar',
      {
        onRequest: screenUpload,
        preValidation: app.authenticate,
        validatorCompiler: skipMultipartBody,
        schema: {
          tags: ['users'],
          security: bearer,
          summary: "Set the caller's avatar from multipart field `file` or from `{fileId}` of a finished tus upload (purpose avatar)",
          description:
            'Send a JPEG, PNG, WebP or GIF image (at most 10 MB, at most 40 megapixels) as multipart/form-data field `file`. ' +
            'The type is read from the bytes; anything else is refused with 415. The server stores 256×256 and 64×64 WebP ' +
            "versions (cropped to cover, centred, first frame, metadata removed), sets the user's `avatarUrl` to the 256 " +
            'version and removes the previous avatar. URLs are relative to the server and served publicly by ' +
            '`GET /api/v1/avatars/{name}`. The JSON form `{fileId}` names a finished tus upload of the caller with ' +
            "`purpose` `avatar` (the same checks and rendering apply; another user's or an unknown id is 404).",
          body: {
            content: {
              'multipart/form-data': { schema: AvatarMultipartBody },
              'application/json': { schema: AvatarFileIdBody },
            },
          },
          response: responses({ 200: AvatarUrls }, [401, 413, 415, 429]),
        },
      },
      async (request) => {
        const actor = actorOf(request);
        const fileId = uploads ? fileIdOf(request) : undefined;
        if (uploads && fileId !== undefined) return avatars.setFromUpload(actor, await uploads.avatarUpload(actor, fileId));
        return avatars.setFromUpload(actor, await uploadedImage(request));
      },
    );
  };
}

export function avatarsRoutes(avatars: AvatarsService, uploads?: AvatarUploadSource) {
  return async (app: HttpApp) => {
    await app.register(uploadRoute(avatars, uploads));

    app.delete(
      '/users/me/avatar',
      {
        preValidation: app.authenticate,
        schema: { tags: ['users'], security: bearer, summary: "Remove the caller's avatar (avatarUrl becomes null)", response: responses({ 204: NoContent }, [401, 429]) },
      },
      async (request, reply) => {
        await avatars.remove(actorOf(request));
        return reply.status(204).send();
      },
    );

    app.get(
      `${AVATARS_PATH}/:name`,
      {
        schema: {
          tags: ['users'],
          summary: 'An avatar image (WebP); public, no token needed, cacheable forever',
          params: AvatarNameParams,
          response: {
            ...responses({}, [404]),
            200: { description: 'the WebP image', content: { 'image/webp': { schema: WebpImage } } },
          },
        },
      },
      async (request, reply) => {
        const bytes = await avatars.read(request.params.name);
        return reply.header('content-type', 'image/webp').header('cache-control', CACHE_FOREVER).header('x-content-type-options', 'nosniff').send(bytes);
      },
    );
  };
}
