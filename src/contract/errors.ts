/** Error codes a client can switch on, in REST error bodies and socket acks alike. */
export type ErrorCode =
  | 'VALIDATION_FAILED'
  | 'UNAUTHORIZED'
  | 'FORBIDDEN'
  | 'NOT_FOUND'
  | 'CONFLICT'
  | 'PAYLOAD_TOO_LARGE'
  | 'UNSUPPORTED_MEDIA_TYPE'
  | 'RATE_LIMITED'
  | 'INTERNAL'
  | 'UNAVAILABLE'
  | 'AI_PROVIDER_UNAUTHORIZED'
  | 'AI_PROVIDER_RATE_LIMITED'
  | 'AI_PROVIDER_ERROR'
  | 'AI_BAD_RESPONSE'
  | 'AI_TIMEOUT'
  | 'AI_CANCELLED';

export interface ErrorBody {
  code: ErrorCode;
  message: string;
  details?: unknown;
}

/** Every client-to-server event is acknowledged with one of these. */
export type Ack<T> = { ok: true; data: T } | { ok: false; error: ErrorBody };
