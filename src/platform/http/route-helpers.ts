import Type, { type TSchema } from 'typebox';

/** The error body of API.md, for OpenAPI. */
export const ErrorBody = Type.Object({
  error: Type.Object({
    code: Type.String(),
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
