import Type from 'typebox';

// The wire types live in the contract, which the SDK shares.
export { AvatarFileIdBody, AvatarUrls } from '../../contract/users.js';

/** OpenAPI description of the multipart form; the plugin parses it, so it is not validated as JSON. */
export const AvatarMultipartBody = Type.Object({
  file: Type.Unsafe<unknown>({ type: 'string', format: 'binary', description: 'a JPEG, PNG, WebP or GIF image, at most 10 MB' }),
});

export const AvatarNameParams = Type.Object({ name: Type.String({ maxLength: 128 }) });

/** Binary WebP bytes, for OpenAPI. */
export const WebpImage = Type.Unsafe<unknown>({ type: 'string', format: 'binary' });
