import Type from 'typebox';

// The wire types live in the contract, which the SDK shares.
export { FileRecord as FileRecordSchema, SignedUrl, SignedUrlQuery } from '../../contract/files.js';

export const FileParams = Type.Object({ id: Type.String({ minLength: 1, maxLength: 64 }) });

/** Either nothing (the bearer token authorises) or a signed URL's two parameters. */
export const ContentQuery = Type.Object({
  expires: Type.Optional(Type.Integer({ minimum: 0 })),
  signature: Type.Optional(Type.String({ minLength: 1, maxLength: 128 })),
  download: Type.Optional(Type.Boolean({ description: 'always answer with Content-Disposition: attachment' })),
});

export const FileBytes = Type.Unsafe<unknown>({ type: 'string', format: 'binary' });
