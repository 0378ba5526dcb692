import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { AppError, ERROR_STATUS, type ErrorCode, errorResponse, type FieldProblem } from '../../shared/errors.js';
import { POOL_QUEUE_FULL } from '../db/errors.js';

const CODE_BY_STATUS = new Map<number, ErrorCode>(Object.entries(ERROR_STATUS).map(([code, status]) => [status, code as ErrorCode]));

/** Driver errors that mean "the database or cache is unreachable right now", not "bad request". */
const UNAVAILABLE_ERRNOS = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'EPIPE',
  'PROTOCOL_CONNECTION_LOST',
  'PROTOCOL_SEQUENCE_TIMEOUT',
  'SQLITE_BUSY',
  'ER_CON_COUNT_ERROR',
  POOL_QUEUE_FULL,
  // pg: a connection-level failure (see database.ts), and the SQLSTATEs of a server that is going
  // away or full: admin_shutdown, crash_shutdown, cannot_connect_now, too_many_connections, connection_failure.
  'PG_CONNECTION_ERROR',
  '57P01',
  '57P02',
  '57P03',
  '53300',
  '08006',
]);

/**
 * PostgreSQL text cannot hold U+0000: a request carrying it (in a value to store or to look up)
 * fails with character_not_in_repertoire or untranslatable_character. That is the request's
 * fault, not the server's, so it is answered as invalid rather than INTERNAL.
 */
const UNSTORABLE_TEXT_SQLSTATES = new Set(['22021', '22P05']);

interface ValidationIssue {
  instancePath?: string;
  params?: Record<string, unknown>;
  message?: string;
}

/** The dotted path of the field an Ajv issue is about: a missing or unknown property is named itself. */
function fieldOf(issue: ValidationIssue, context: string | undefined): string {
  const named = issue.params?.missingProperty ?? issue.params?.additionalProperty;
  const pathPart = (issue.instancePath ?? '').replace(/^\//, '').replaceAll('/', '.');
  const field = [pathPart, typeof named === 'string' ? named : ''].filter(Boolean).join('.');
  if (field) return field;
  return context ?? 'body';
}

function messageOf(issue: ValidationIssue): string {
  if (typeof issue.params?.additionalProperty === 'string') return 'is not a known field';
  return issue.message ?? 'is invalid';
}

function validationError(error: FastifyError): AppError {
  const issues = (error.validation ?? []) as ValidationIssue[];
  const problems: FieldProblem[] = issues.map((issue) => ({
    field: fieldOf(issue, error.validationContext),
    message: messageOf(issue),
  }));
  const first = problems[0];
  return new AppError('VALIDATION_FAILED', first ? `${first.field}: ${first.message}` : 'invalid request', problems);
}

/** Turns anything thrown by a route or plugin into an AppError with a stable code. */
export function toAppError(error: unknown): AppError {
  if (error instanceof AppError) return error;
  const fastifyError = error as FastifyError & { errno?: string | number; code?: string };
  if (fastifyError?.validation) return validationError(fastifyError);
  switch (fastifyError?.code) {
    case 'FST_ERR_CTP_INVALID_JSON_BODY':
    case 'FST_ERR_CTP_EMPTY_JSON_BODY':
    case 'FST_ERR_CTP_INVALID_CONTENT_LENGTH':
      return new AppError('VALIDATION_FAILED', 'the request body is not valid JSON', [{ field: 'body', message: fastifyError.message }]);
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
      return new AppError('PAYLOAD_TOO_LARGE', 'the request body is too large');
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
      return new AppError('UNSUPPORTED_MEDIA_TYPE', 'unsupported content type; send application/json');
    // @fastify/multipart, on the routes that register it.
    case 'FST_REQ_FILE_TOO_LARGE':
      return new AppError('PAYLOAD_TOO_LARGE', 'the uploaded file is too large');
    case 'FST_FILES_LIMIT':
    case 'FST_PARTS_LIMIT':
    case 'FST_FIELDS_LIMIT':
      return new AppError('PAYLOAD_TOO_LARGE', 'the multipart body has too many parts');
    case 'FST_INVALID_MULTIPART_CONTENT_TYPE':
      return new AppError('UNSUPPORTED_MEDIA_TYPE', 'the request is not multipart/form-data');
    case 'FST_INVALID_JSON_FIELD_ERROR':
    case 'FST_PROTO_VIOLATION':
    case 'FST_MP_PREMATURE_CLOSE':
      return new AppError('VALIDATION_FAILED', 'the multipart body is malformed', [{ field: 'body', message: fastifyError.message }]);
  }
  if (fastifyError?.code && UNSTORABLE_TEXT_SQLSTATES.has(fastifyError.code)) {
    return new AppError('VALIDATION_FAILED', 'the request holds text the database cannot store (the NUL character, U+0000)');
  }
  if (fastifyError?.code && UNAVAILABLE_ERRNOS.has(fastifyError.code)) {
    return new AppError('UNAVAILABLE', 'a backing service is unavailable; retry shortly');
  }
  const status = fastifyError?.statusCode;
  if (typeof status === 'number' && status >= 400 && status < 500) {
    const code = CODE_BY_STATUS.get(status) ?? 'VALIDATION_FAILED';
    return new AppError(code, fastifyError.message || code);
  }
  return new AppError('INTERNAL', 'internal error');
}

function send(reply: FastifyReply, error: AppError): FastifyReply {
  if (error.retryAfterSec !== undefined) reply.header('retry-after', String(Math.max(1, Math.ceil(error.retryAfterSec))));
  return reply.status(error.status).send(errorResponse(error));
}

/** One place maps every failure to the error format of docs/api.md: `{error: {code, message, details?}}`. */
export function registerErrorHandling(app: FastifyInstance): void {
  app.setErrorHandler((error: unknown, request: FastifyRequest, reply: FastifyReply) => {
    const appError = toAppError(error);
    if (appError.status >= 500) {
      request.log.error({ err: error }, 'request failed');
    } else {
      request.log.info({ code: appError.code }, 'request refused');
    }
    return send(reply, appError);
  });
  app.setNotFoundHandler((request, reply) => send(reply, new AppError('NOT_FOUND', `no route for ${request.method} ${request.url.split('?')[0]}`)));
}
