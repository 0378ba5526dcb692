import { createHash, timingSafeEqual } from 'node:crypto';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { AppError, errorResponse } from '../../shared/errors.js';
import type { HttpApp } from '../http/server.js';
import type { PrometheusMetrics } from './prometheus.js';

/** Where and how `/metrics` is served; neither a token nor a port: not at all. */
export interface MetricsServing {
  /** Bearer token scrapers must send (required on the main port, optional on the metrics port). */
  token?: string;
  /** A separate listener just for `/metrics`, instead of the main port. */
  port?: number;
  host: string;
}

export const METRICS_PATH = '/metrics';

/**
 * True when the Authorization header carries `Bearer <token>`. Both sides are hashed first so the
 * comparison is constant-time whatever the lengths (timingSafeEqual needs equal-length inputs).
 */
export function bearerMatches(header: string | string[] | undefined, token: string): boolean {
  const given = typeof header === 'string' ? /^Bearer\s+(\S+)$/i.exec(header)?.[1] : undefined;
  const digest = (value: string) => createHash('sha256').update(value).digest();
  return timingSafeEqual(digest(given ?? ''), digest(token)) && given !== undefined;
}

/** GET /metrics on the main HTTP app, behind the bearer token (registered only when METRICS_TOKEN is set and METRICS_PORT is not). */
export function registerMetricsRoute(app: HttpApp, metrics: PrometheusMetrics, token: string): void {
  // Hidden from OpenAPI like /healthz: an operator endpoint, not part of the client API.
  app.get(METRICS_PATH, { schema: { hide: true } }, async (request, reply) => {
    if (!bearerMatches(request.headers.authorization, token)) {
      void reply.header('www-authenticate', 'Bearer realm="metrics"');
      throw new AppError('UNAUTHORIZED', 'a valid metrics bearer token is required');
    }
    const { contentType, body } = await metrics.render();
    return reply.type(contentType).send(body);
  });
}

/** Counts an answered request in the HTTP histogram, by route pattern (unmatched URLs share one label). */
export function observeHttp(app: HttpApp, metrics: PrometheusMetrics): void {
  app.addHook('onResponse', async (request, reply) => {
    metrics.httpRequest(request.method, request.routeOptions.url ?? 'unmatched', reply.statusCode, reply.elapsedTime / 1000);
  });
}

export interface MetricsServer {
  /** The bound port (METRICS_PORT=0 picks a free one). */
  port: number;
  close(): Promise<void>;
}

/**
 * A listener of its own for `/metrics` (METRICS_PORT), bound to METRICS_HOST (127.0.0.1 by
 * default: reachable by a Prometheus on the same machine, not from outside). Anything else: 404.
 */
export async function startMetricsServer(metrics: PrometheusMetrics, serving: MetricsServing & { port: number }): Promise<MetricsServer> {
  const server: Server = createServer((request, response) => {
    const refuse = (status: number, error: AppError, headers: Record<string, string> = {}) => {
      response.writeHead(status, { 'content-type': 'application/json; charset=utf-8', ...headers });
      response.end(JSON.stringify(errorResponse(error)));
    };
    if (request.method !== 'GET' || pathOf(request) !== METRICS_PATH) return refuse(404, new AppError('NOT_FOUND', 'not found'));
    if (serving.token !== undefined && !bearerMatches(request.headers.authorization, serving.token)) {
      return refuse(401, new AppError('UNAUTHORIZED', 'a valid metrics bearer token is required'), { 'www-authenticate': 'Bearer realm="metrics"' });
    }
    metrics.render().then(
      ({ contentType, body }) => {
        response.writeHead(200, { 'content-type': contentType });
        response.end(body);
      },
      () => refuse(500, new AppError('INTERNAL', 'internal error')),
    );
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(serving.port, serving.host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  return {
    port: (server.address() as AddressInfo).port,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

function pathOf(request: IncomingMessage): string {
  return (request.url ?? '').split('?')[0] ?? '';
}
