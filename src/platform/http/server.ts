import { isUtf8 } from 'node:buffer';
import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { STATUS_CODES } from 'node:http';
import cors from '@fastify/cors';
import helmet from '@fastify/helmet';
import rateLimit from '@fastify/rate-limit';
import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import Fastify, { type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import type { Config } from '../../config.js';
import type { Actor, RequestOrigin } from '../../shared/actor.js';
import { AppError, errorResponse } from '../../shared/errors.js';
import type { Cache } from '../cache/cache.js';
import { type Logger, scrubUrl } from '../logger.js';
import { registerErrorHandling } from './errors.js';
import { cacheRateLimitStore } from './rate-limit-store.js';
import { closeObjects, NoQuery, validatorCompiler } from './validation.js';

declare module 'fastify' {
  interface FastifyInstance {
    /** preValidation hook (after the rate limit's onRequest): rejects the request with 401 unless it carries a valid access token. */
    authenticate: (request: FastifyRequest, reply: FastifyReply) => Promise<void>;
  }
  interface FastifyRequest {
    actor: Actor | null;
  }
}

export type HttpApp = FastifyInstance<import('node:http').Server, import('node:http').IncomingMessage, import('node:http').ServerResponse, Logger, TypeBoxTypeProvider>;

export interface HttpDeps {
  config: Config;
  logger: Logger;
  cache: Cache;
  verifyAccessToken: (token: string) => Promise<Actor>;
  /** Named checks for `/readyz`; each throws when its dependency is unreachable. */
  readiness: Record<string, () => Promise<void>>;
}

const REQUEST_ID = /^[A-Za-z0-9._-]{1,64}$/;

/** Largest request head (request line and headers); bigger ones get 431. Node's default. */
const MAX_HEADER_BYTES = 16 * 1024;
/** No Parley body nests more than a few levels; 64 leaves room and keeps validators' recursion shallow. */
const MAX_JSON_DEPTH = 64;

/** How deep brackets nest in a JSON text (outside strings), stopping early once past the limit. */
function nestingDepth(body: Buffer): number {
  let depth = 0;
  let deepest = 0;
  let inString = false;
  for (let i = 0; i < body.length; i++) {
    const byte = body[i];
    if (inString) {
      if (byte === 0x5c)
        i++; // backslash: skip the escaped character
      else if (byte === 0x22) inString = false;
    } else if (byte === 0x22) inString = true;
    else if (byte === 0x7b || byte === 0x5b) {
      depth++;
      if (depth > deepest) deepest = depth;
      if (deepest > MAX_JSON_DEPTH) return deepest;
    } else if (byte === 0x7d || byte === 0x5d) depth--;
  }
  return deepest;
}

/**
 * Requests Node refuses before they reach Fastify (headers too large, too slow, malformed) get the
 * API's error format too: 431, 408 or 400 with `{error: {code, message}}`, then the socket closes.
 */
function refuseBrokenRequest(error: Error & { code?: string }, socket: import('node:net').Socket): void {
  if (error.code === 'ECONNRESET' || socket.destroyed) return;
  const refusal =
    error.code === 'HPE_HEADER_OVERFLOW'
      ? new AppError('HEADERS_TOO_LARGE', `request headers exceed ${MAX_HEADER_BYTES} bytes`)
      : error.code === 'ERR_HTTP_REQUEST_TIMEOUT'
        ? new AppError('REQUEST_TIMEOUT', 'the request was not received in time')
        : new AppError('VALIDATION_FAILED', 'malformed HTTP request');
  const { status } = refusal;
  const body = JSON.stringify(errorResponse(refusal));
  if (socket.writable) {
    socket.write(
      `HTTP/1.1 ${status} ${STATUS_CODES[status]}\r\nContent-Length: ${Buffer.byteLength(body)}\r\nContent-Type: application/json; charset=utf-8\r\nConnection: close\r\n\r\n${body}`,
    );
  }
  socket.destroy();
}

export function createHttpApp(deps: HttpDeps): HttpApp {
  const { config } = deps;
  // Slow clients: a request must send its headers within HTTP_HEADERS_TIMEOUT and all of it within
  // HTTP_REQUEST_TIMEOUT (408 otherwise); Node checks every second rather than every 30.
  const serverOptions = {
    headersTimeout: config.http.headersTimeoutSec * 1000,
    connectionsCheckingInterval: 1000,
    maxHeaderSize: MAX_HEADER_BYTES,
  };
  const https = config.tls ? { key: readFileSync(config.tls.keyFile), cert: readFileSync(config.tls.certFile), ...serverOptions } : undefined;
  const app = Fastify({
    loggerInstance: deps.logger,
    ...(https ? { https } : { http: serverOptions }),
    requestTimeout: config.http.requestTimeoutSec * 1000,
    clientErrorHandler: refuseBrokenRequest,
    // URLs the router refuses itself (malformed escapes, a path parameter over 100 characters).
    frameworkErrors: (error, _request, reply) => {
      const message = error.code === 'FST_ERR_MAX_PARAM_LENGTH' ? 'a path parameter is too long' : 'malformed URL';
      void (reply as unknown as FastifyReply).status(400).send(errorResponse(new AppError('VALIDATION_FAILED', message)));
    },
    trustProxy: config.trustProxy,
    bodyLimit: config.bodyLimitBytes,
    // genReqId reads x-request-id itself, to accept only sane values.
    requestIdHeader: false,
    genReqId: (req) => {
      const given = req.headers['x-request-id'];
      return typeof given === 'string' && REQUEST_ID.test(given) ? given : randomUUID();
    },
    // Keep-alive sockets would hold a graceful shutdown open: close idle ones when closing.
    forceCloseConnections: 'idle',
    return503OnClosing: true,
  }).withTypeProvider<TypeBoxTypeProvider>() as unknown as HttpApp;
  app.setValidatorCompiler(validatorCompiler);
  // JSON bodies are read as bytes so invalid UTF-8 and absurd nesting are refused before parsing.
  const parseJson = app.getDefaultJsonParser('error', 'error');
  app.removeContentTypeParser('application/json');
  app.addContentTypeParser('application/json', { parseAs: 'buffer' }, (request, body: Buffer, done) => {
    if (!isUtf8(body)) return done(AppError.validation('body', 'is not valid UTF-8'), undefined);
    if (nestingDepth(body) > MAX_JSON_DEPTH) return done(AppError.validation('body', `nests deeper than ${MAX_JSON_DEPTH} levels`), undefined);
    parseJson(request, body.toString('utf8'), done);
  });

  app.decorateRequest('actor', null);
  app.decorate('authenticate', async (request: FastifyRequest) => {
    const header = request.headers.authorization;
    const match = typeof header === 'string' ? /^Bearer\s+(\S+)$/i.exec(header) : null;
    if (!match?.[1]) throw new AppError('UNAUTHORIZED', 'missing bearer token');
    request.actor = await deps.verifyAccessToken(match[1]);
  });

  app.addHook('onSend', async (request, reply) => {
    reply.header('x-request-id', request.id);
  });

  registerErrorHandling(app as unknown as FastifyInstance);
  return app;
}

/** Plugins every Parley HTTP app carries; registered before the routes. */
export async function registerPlatformPlugins(app: HttpApp, deps: HttpDeps): Promise<void> {
  const { config } = deps;
  await app.register(helmet, {
    // The API serves JSON; /docs needs Swagger UI's own script and styles from this origin.
    contentSecurityPolicy: {
      directives: {
        defaultSrc: ["'self'"],
        scriptSrc: ["'self'"],
        styleSrc: ["'self'", "'unsafe-inline'"],
        imgSrc: ["'self'", 'data:', 'blob:'],
        // The web client plays call streams and uploaded media; 'self' covers its ws:/wss: socket too.
        mediaSrc: ["'self'", 'data:', 'blob:'],
        connectSrc: ["'self'"],
        frameAncestors: ["'none'"],
        // Without TLS there is no https to upgrade to: the header would break the app on a LAN address.
        ...(config.tls ? {} : { upgradeInsecureRequests: null }),
      },
    },
    crossOriginResourcePolicy: { policy: 'cross-origin' },
  });
  const allowAll = config.corsOrigins.includes('*');
  await app.register(cors, {
    origin: allowAll ? true : config.corsOrigins,
    credentials: !allowAll,
    exposedHeaders: ['x-request-id', 'retry-after', 'x-ratelimit-limit', 'x-ratelimit-remaining', 'x-ratelimit-reset'],
    maxAge: 600,
  });
  await app.register(rateLimit, {
    global: true,
    max: config.rateLimit.max,
    timeWindow: config.rateLimit.windowSec * 1000,
    store: cacheRateLimitStore(deps.cache),
    // When the cache is down, serve rather than refuse everyone.
    skipOnError: true,
    allowList: (request) => request.url === '/healthz' || request.url === '/readyz',
    errorResponseBuilder: (_request, context) => new AppError('RATE_LIMITED', `too many requests; retry in ${context.after}`, undefined, Math.ceil(context.ttl / 1000)),
  });
  await app.register(swagger, {
    // The document shows bodies as the validator enforces them: closed to undeclared fields.
    transform: ({ schema, url }) => ({ schema: schema?.body === undefined ? schema : { ...schema, body: closeObjects(schema.body) as typeof schema.body }, url }),
    openapi: {
      openapi: '3.0.3',
      info: {
        title: 'Parley API',
        version: '1.0.0',
        description: 'REST half of the Parley chat backend. Realtime events are documented in docs/protocol.md.',
      },
      components: {
        securitySchemes: { bearerAuth: { type: 'http', scheme: 'bearer', bearerFormat: 'JWT' } },
      },
    },
  });
  await app.register(swaggerUi, { routePrefix: '/docs', staticCSP: false });

  app.get('/openapi.json', { schema: { hide: true } }, async () => app.swagger());
  app.get('/healthz', { schema: { hide: true } }, async () => ({ status: 'ok' }));
  app.get('/readyz', { schema: { hide: true } }, async (_request, reply) => {
    const checks: Record<string, 'ok' | 'down'> = {};
    await Promise.all(
      Object.entries(deps.readiness).map(async ([name, check]) => {
        checks[name] = await withTimeout(check(), 2000).then(
          () => 'ok' as const,
          () => 'down' as const,
        );
      }),
    );
    const ready = Object.values(checks).every((state) => state === 'ok');
    return reply.status(ready ? 200 : 503).send({ status: ready ? 'ready' : 'unavailable', checks });
  });
}

function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('timeout')), ms);
    promise.then(
      (value) => {
        clearTimeout(timer);
        resolve(value);
      },
      (error: unknown) => {
        clearTimeout(timer);
        reject(error);
      },
    );
  });
}

/**
 * Gives every route registered from now on in `scope` (and its children) a query schema: those
 * that declare none accept no parameter at all, so an unknown or misspelt one is refused with
 * VALIDATION_FAILED naming it, like on routes that declare theirs.
 */
export function refuseUndeclaredQuery(scope: FastifyInstance): void {
  scope.addHook('onRoute', (route) => {
    if (route.schema?.querystring === undefined) route.schema = { ...route.schema, querystring: NoQuery };
  });
}

/** Where a request came from, for sessions and login logs. */
export function originOf(request: FastifyRequest): RequestOrigin {
  const agent = request.headers['user-agent'];
  return { ip: request.ip, userAgent: typeof agent === 'string' ? agent.slice(0, 512) : '' };
}

/** The authenticated caller; routes that call this are registered with `preValidation: app.authenticate`. */
export function actorOf(request: FastifyRequest): Actor {
  if (!request.actor) throw new AppError('UNAUTHORIZED', 'authentication required');
  return request.actor;
}

export { scrubUrl };
