import Type, { type Static } from 'typebox';

export const AvatarUrls = Type.Object({
  avatarUrl: Type.String({
    description: 'the 256×256 WebP, as a path relative to the server (`/api/v1/avatars/<name>`); also the user\'s `avatarUrl`',
  }),
  avatarSmallUrl: Type.String({ description: 'the 64×64 WebP, relative like `avatarUrl`' }),
});
export type AvatarUrls = Static<typeof AvatarUrls>;

/** The `{fileId}` form of `PUT /users/me/avatar` (a finished tus upload); not available yet. */
export const AvatarFileIdBody = Type.Object({ fileId: Type.String({ minLength: 1, maxLength: 64 }) });
export type AvatarFileIdBody = Static<typeof AvatarFileIdBody>;

/** OpenAPI description of the multipart form; the plugin parses it, so it is not validated as JSON. */
export const AvatarMultipartBody = Type.Object({
  file: Type.Unsafe<unknown>({ type: 'string', format: 'binary', description: 'a JPEG, PNG, WebP or GIF image, at most 10 MB' }),
});

export const AvatarNameParams = Type.Object({ name: Type.String({ maxLength: 128 }) });

/** Binary WebP bytes, for OpenAPI. */
export const WebpImage = Type.Unsafe<unknown>({ type: 'string', format: 'binary' });
