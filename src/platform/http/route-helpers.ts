import Type, { type TSchema } from 'typebox';
import { ERROR_CODES } from '../../contract/errors.js';

/** The error body of docs/api.md (Errors), for OpenAPI: `code` lists every code the server sends. */
export const ErrorBody = Type.Object({
  error: Type.Object({
    code: Type.Enum([...ERROR_CODES], { description: 'stable error code (docs/api.md, Errors)' }),
    message: Type.String(),
    details: Type.Optional(Type.Unknown()),
  }),
});

/** Response schemas for a route: the success shape plus the error body for each listed status. */
export function responses(success: Record<number, TSchema>, errors: number[] = []): Record<number, TSchema> {
  const result: Record<number, TSchema> = { ...success };
  for (const status of [400, 500, ...errors]) result[status] = ErrorBody;
  return result;
}

/** OpenAPI marker for routes that need `Authorization: Bearer <accessToken>`. */
export const bearer = [{ bearerAuth: [] }];

/** Response schema of a 204. */
export const NoContent = Type.Null({ description: 'no content' });
