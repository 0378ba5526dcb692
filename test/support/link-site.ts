import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { App } from '../../src/app.js';
import type { PreviewOutcome } from '../../src/modules/previews/index.js';

type Handler = (request: IncomingMessage, response: ServerResponse) => void;

/** A local web site for link previews: pages by path, and a count of the requests each path got. */
export interface LinkSite {
  /** http://<host>:<port> */
  origin: string;
  port: number;
  page(path: string, handler: Handler): void;
  hits(path: string): number;
  close(): Promise<void>;
}

export async function startLinkSite(host = '127.0.0.1'): Promise<LinkSite> {
  const handlers = new Map<string, Handler>();
  const counts = new Map<string, number>();
  const server: Server = createServer((request, response) => {
    const path = new URL(request.url ?? '/', 'http://site').pathname;
    counts.set(path, (counts.get(path) ?? 0) + 1);
    const handler = handlers.get(path);
    if (handler) handler(request, response);
    else response.writeHead(404).end();
  });
  await new Promise<void>((resolve) => server.listen(0, host, resolve));
  const { port } = server.address() as AddressInfo;
  return {
    origin: `http://${host}:${port}`,
    port,
    page: (path, handler) => handlers.set(path, handler),
    hits: (path) => counts.get(path) ?? 0,
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** An HTML page with Open Graph tags. */
export function ogPage(meta: { title: string; description?: string; image?: string; siteName?: string }): Handler {
  const tags = [
    `<meta property="og:title" content="${meta.title}">`,
    meta.description === undefined ? '' : `<meta property="og:description" content="${meta.description}">`,
    meta.image === undefined ? '' : `<meta property="og:image" content="${meta.image}">`,
    meta.siteName === undefined ? '' : `<meta property="og:site_name" content="${meta.siteName}">`,
  ].join('\n');
  return (_request, response) => {
    response.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
    response.end(`<!doctype html><html><head><title>plain title</title>\n${tags}\n</head><body><p>page</p></body></html>`);
  };
}

/**
 * Records how every link preview attempt of a server process ended, so a test can wait for the
 * outcome of one message (the preview work runs in the background, after the send was answered).
 */
export function previewOutcomes(app: App) {
  const seen: PreviewOutcome[] = [];
  const waiting: Array<{ messageId: string; resolve: (outcome: PreviewOutcome) => void }> = [];
  app.services.previews.onSettled((outcome) => {
    const waiter = waiting.find((w) => w.messageId === outcome.messageId);
    if (!waiter) return void seen.push(outcome);
    waiting.splice(waiting.indexOf(waiter), 1);
    waiter.resolve(outcome);
  });
  return {
    /** The next outcome for this message (one already recorded and not yet taken counts). */
    of(messageId: string): Promise<PreviewOutcome> {
      const index = seen.findIndex((o) => o.messageId === messageId);
      if (index >= 0) return Promise.resolve(seen.splice(index, 1)[0] as PreviewOutcome);
      return new Promise((resolve) => waiting.push({ messageId, resolve }));
    },
  };
}
