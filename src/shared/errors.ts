import type { ErrorBody, ErrorCode, ErrorResponse } from '../contract/errors.js';

export type { ErrorBody, ErrorCode, ErrorResponse } from '../contract/errors.js';

/**
 * The HTTP status of each stable error code (docs/api.md, Errors). `satisfies` makes a code of the
 * contract without a status, or a status for a code outside it, a compile error.
 */
export const ERROR_STATUS = {
  VALIDATION_FAILED: 400,
  UNAUTHORIZED: 401,
  FORBIDDEN: 403,
  NOT_FOUND: 404,
  /** Node's request timeouts (slow headers or body), answered before the request reaches a route. */
  REQUEST_TIMEOUT: 408,
  CONFLICT: 409,
  PAYLOAD_TOO_LARGE: 413,
  UNSUPPORTED_MEDIA_TYPE: 415,
  RATE_LIMITED: 429,
  /** Request headers over Node's `maxHeaderSize`. */
  HEADERS_TOO_LARGE: 431,
  /** tus checksum extension: the status it defines for a chunk whose digest does not match. */
  CHECKSUM_MISMATCH: 460,
  INTERNAL: 500,
  UNAVAILABLE: 503,
  /** A long read (search) ran out of SEARCH_TIMEOUT_MS; the server is fine, that query was too costly now. */
  QUERY_TIMEOUT: 503,
  // AI provider failures (docs/protocol.md, AI). Statuses unique to them or 5xx, so the
  // status → code map used for framework errors keeps its 4xx meanings.
  AI_PROVIDER_UNAUTHORIZED: 502,
  AI_PROVIDER_RATE_LIMITED: 502,
  AI_PROVIDER_ERROR: 502,
  AI_BAD_RESPONSE: 502,
  AI_TIMEOUT: 504,
  /** The client cancelled the reply (ai_cancel, closed SSE connection); 499 as nginx logs it. */
  AI_CANCELLED: 499,
  /** The conversation already holds MAX_PINS_PER_CONVERSATION pinned messages: unpin one first. */
  PIN_LIMIT_REACHED: 409,
  /** An invite link past its expiry: it existed (410 Gone), ask for a new one. */
  INVITE_EXPIRED: 410,
  /** An invite link whose use limit is reached. */
  INVITE_USED_UP: 410,
  /** An admin suspended the account: login and refresh are refused until it is unsuspended. */
  ACCOUNT_SUSPENDED: 403,
  /** A webhook URL the guarded fetcher would refuse (not http(s), credentials, private or loopback address, no DNS). */
  WEBHOOK_URL_REFUSED: 422,
} as const satisfies Record<ErrorCode, number>;

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

/**
 * The one builder of the wire error body, for HTTP responses, socket acks and handshake refusals,
 * tus responses and AI error events: it takes an AppError, whose code the type system keeps inside
 * the contract's `ErrorCode`.
 */
export function errorBody(error: AppError): ErrorBody {
  const body: ErrorBody = { code: error.code, message: error.message };
  if (error.details !== undefined) body.details = error.details;
  return body;
}

/** A failed REST response's body: `{error: {code, message, details?}}` (docs/api.md, Errors). */
export function errorResponse(error: AppError): ErrorResponse {
  return { error: errorBody(error) };
}
