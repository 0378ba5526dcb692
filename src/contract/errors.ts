/**
 * Every error code the server sends, in REST error bodies, socket acks, handshake refusals, tus
 * responses and AI error events alike (docs/api.md, Errors, gives each its status and meaning).
 * A runtime list, so tests and docs can enumerate it; `ErrorCode` is derived from it, so a code
 * outside this list does not compile anywhere an error body is built.
 */
export const ERROR_CODES = [
  'VALIDATION_FAILED',
  'UNAUTHORIZED',
  'FORBIDDEN',
  'NOT_FOUND',
  'REQUEST_TIMEOUT',
  'CONFLICT',
  'PAYLOAD_TOO_LARGE',
  'UNSUPPORTED_MEDIA_TYPE',
  'RATE_LIMITED',
  'HEADERS_TOO_LARGE',
  'CHECKSUM_MISMATCH',
  'INTERNAL',
  'UNAVAILABLE',
  'QUERY_TIMEOUT',
  'AI_PROVIDER_UNAUTHORIZED',
  'AI_PROVIDER_RATE_LIMITED',
  'AI_PROVIDER_ERROR',
  'AI_BAD_RESPONSE',
  'AI_TIMEOUT',
  'AI_CANCELLED',
  'PIN_LIMIT_REACHED',
  'INVITE_EXPIRED',
  'INVITE_USED_UP',
  'ACCOUNT_SUSPENDED',
  'WEBHOOK_URL_REFUSED',
] as const;

/** Error codes a client can switch on. */
export type ErrorCode = (typeof ERROR_CODES)[number];

const KNOWN_CODES: ReadonlySet<string> = new Set(ERROR_CODES);

/** True for a code of this contract (for codes read back from storage or another process). */
export function isErrorCode(value: unknown): value is ErrorCode {
  return typeof value === 'string' && KNOWN_CODES.has(value);
}

export interface ErrorBody {
  code: ErrorCode;
  message: string;
  details?: unknown;
}

/** A failed REST response: `{error: {code, message, details?}}`. */
export interface ErrorResponse {
  error: ErrorBody;
}

/** Every client-to-server event is acknowledged with one of these. */
export type Ack<T> = { ok: true; data: T } | { ok: false; error: ErrorBody };
