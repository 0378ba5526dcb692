import Type from 'typebox';

export const FileRecordSchema = Type.Object({
  id: Type.String(),
  filename: Type.String({ description: 'sanitised original name' }),
  contentType: Type.String({ description: 'sniffed from the bytes; application/octet-stream when unknown' }),
  size: Type.Integer(),
  sha256: Type.String(),
  purpose: Type.Union([Type.Literal('attachment'), Type.Literal('avatar')]),
  width: Type.Optional(Type.Integer()),
  height: Type.Optional(Type.Integer()),
  thumbnailUrl: Type.Optional(Type.String({ description: 'relative URL of a WebP thumbnail (needs the bearer token, or use /files/:id/url?variant=thumbnail)' })),
  createdAt: Type.String({ format: 'date-time' }),
});

export const FileParams = Type.Object({ id: Type.String({ minLength: 1, maxLength: 64 }) });

/** Either nothing (the bearer token authorises) or a signed URL's two parameters. */
export const ContentQuery = Type.Object({
  expires: Type.Optional(Type.Integer({ minimum: 0 })),
  signature: Type.Optional(Type.String({ minLength: 1, maxLength: 128 })),
  download: Type.Optional(Type.Boolean({ description: 'always answer with Content-Disposition: attachment' })),
});

export const SignedUrlQuery = Type.Object({
  variant: Type.Optional(Type.Union([Type.Literal('content'), Type.Literal('thumbnail')], { default: 'content' })),
});

export const SignedUrl = Type.Object({
  url: Type.String({ description: 'relative URL that works without the Authorization header until expiresAt' }),
  expiresAt: Type.String({ format: 'date-time' }),
});

export const FileBytes = Type.Unsafe<unknown>({ type: 'string', format: 'binary' });
