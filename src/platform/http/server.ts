import { readFileSync } from 'node:fs';
import { randomUUID } from 'node:crypto';
import cors from '@fastify/cors';
import helmet from '@fastify/helmet';
import rateLimit from '@fastify/rate-limit';
import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import Fastify, { type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import type { Config } from '../../config.js';
import type { Actor, RequestOrigin } from '../../shared/actor.js';
import { AppError } from '../../shared/errors.js';
import type { Cache } from '../cache/cache.js';
import { type Logger, scrubUrl } from '../logger.js';
import { registerErrorHandling } from './errors.js';
import { cacheRateLimitStore } from './rate-limit-store.js';
import { validatorCompiler } from './validation.js';

declare module 'fastify' {
  interface FastifyInstance {
    /** preValidation hook (after the rate limit's onRequest): rejects the request with 401 unless it carries a valid access token. */
    authenticate: (request: FastifyRequest, reply: FastifyReply) => Promise<void>;
  }
  interface FastifyRequest {
    actor: Actor | null;
  }
}

export type HttpApp = FastifyInstance<
  import('node:http').Server,
  import('node:http').IncomingMessage,
  import('node:http').ServerResponse,
  Logger,
  TypeBoxTypeProvider
>;

export interface HttpDeps {
  config: Config;
  logger: Logger;
  cache: Cache;
  verifyAccessToken: (token: string) => Promise<Actor>;
  /** Named checks for `/readyz`; each throws when its dependency is unreachable. */
  readiness: Record<string, () => Promise<void>>;
}

const REQUEST_ID = /^[A-Za-z0-9._-]{1,64}$/;

export function createHttpApp(deps: HttpDeps): HttpApp {
  const { config } = deps;
  const https = config.tls
    ? { key: readFileSync(config.tls.keyFile), cert: readFileSync(config.tls.certFile) }
    : undefined;
  const app = Fastify({
    loggerInstance: deps.logger,
    ...(https ? { https } : {}),
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
        connectSrc: ["'self'"],
        frameAncestors: ["'none'"],
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
    errorResponseBuilder: (_request, context) =>
      new AppError('RATE_LIMITED', `too many requests; retry in ${context.after}`, undefined, Math.ceil(context.ttl / 1000)),
  });
  await app.register(swagger, {
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
