/** Stable error codes clients switch on (API.md, Conventions). */
export const ERROR_STATUS = {
  VALIDATION_FAILED: 400,
  UNAUTHORIZED: 401,
  FORBIDDEN: 403,
  NOT_FOUND: 404,
  CONFLICT: 409,
  PAYLOAD_TOO_LARGE: 413,
  UNSUPPORTED_MEDIA_TYPE: 415,
  RATE_LIMITED: 429,
  INTERNAL: 500,
  UNAVAILABLE: 503,
} as const;

export type ErrorCode = keyof typeof ERROR_STATUS;

export interface FieldProblem {
  field: string;
  message: string;
}

/** A failure the caller can act on; mapped to HTTP in one place and to socket acks in another. */
export class AppError extends Error {
  override readonly name = 'AppError';

  constructor(
    readonly code: ErrorCode,
    message: string,
    readonly details?: unknown,
    /** Seconds a client should wait before retrying (sent as `Retry-After`). */
    readonly retryAfterSec?: number,
  ) {
    super(message);
  }

  get status(): number {
    return ERROR_STATUS[this.code];
  }

  static validation(field: string, message: string): AppError {
    return new AppError('VALIDATION_FAILED', `${field}: ${message}`, [{ field, message }] satisfies FieldProblem[]);
  }
}

export function isAppError(value: unknown): value is AppError {
  return value instanceof AppError;
}
