import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import fastifyStatic from '@fastify/static';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { Logger } from '../logger.js';
import type { HttpApp } from './server.js';

/** Paths that belong to the server: never answered with the web client's page. */
const SERVER_PATHS = /^\/(api|socket\.io|docs|openapi\.json|healthz|readyz|web-config\.json)(\/|$|\?)/;

/** dist/web next to the package root, whether this file runs from src/ (tests) or dist/src/ (built). */
export function defaultWebDir(): string {
  let dir = path.dirname(fileURLToPath(import.meta.url));
  while (!existsSync(path.join(dir, 'package.json'))) {
    const parent = path.dirname(dir);
    if (parent === dir) break;
    dir = parent;
  }
  return path.join(dir, 'dist', 'web');
}

/**
 * Serves the built web client at `/`: hashed assets cached for a year, the page itself revalidated,
 * and the page for any other GET that asks for HTML (client-side routes such as /chats/123).
 * API, socket, docs and health paths keep their own answers, 404s included.
 */
export interface WebClientOptions {
  webDir?: string;
  /** Optional features this server has configured (AI needs a provider key), for the client to show or hide. */
  features?: () => Record<string, boolean>;
}

export async function registerWebClient(app: HttpApp, logger: Logger, options: WebClientOptions = {}): Promise<void> {
  const webDir = options.webDir ?? defaultWebDir();
  // Answered even without a build, so a client served elsewhere (vite dev server) can read it.
  app.get('/web-config.json', { schema: { hide: true } }, async (_request, reply) => reply.header('cache-control', 'no-cache').send({ features: options.features?.() ?? {} }));
  if (!existsSync(path.join(webDir, 'index.html'))) {
    logger.warn({ webDir }, 'web client not built: `npm run build` builds it; the API works without it');
    return;
  }
  await app.register(fastifyStatic, {
    root: webDir,
    prefix: '/',
    // One route per built file, so unknown paths fall through to the handler below.
    wildcard: false,
    index: ['index.html'],
    setHeaders(reply, filePath) {
      const immutable = filePath.includes(`${path.sep}assets${path.sep}`);
      reply.header('cache-control', immutable ? 'public, max-age=31536000, immutable' : 'no-cache');
    },
  });
  const page = async (request: FastifyRequest, reply: FastifyReply) => {
    const accept = request.headers.accept ?? '';
    if (SERVER_PATHS.test(request.url) || !accept.includes('text/html')) return reply.callNotFound();
    return reply.header('cache-control', 'no-cache').sendFile('index.html');
  };
  app.get('/*', { schema: { hide: true } }, page);
}
