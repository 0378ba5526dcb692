import { createHash } from 'node:crypto';
import type { Message } from '../../contract/messages.js';
import type { Cache } from '../../platform/cache/cache.js';
import type { Logger } from '../../platform/logger.js';
import { type GuardedFetch, OutboundError } from '../../platform/outbound/index.js';
import type { Clock } from '../../shared/clock.js';
import { firstUrl } from '../../shared/links.js';
import { decodeHtml, isHtml, parsePage } from './previews.parse.js';
import type { LinkPreviewRow, PreviewsRepository } from './previews.repository.js';

export interface PreviewSettings {
  enabled: boolean;
  timeoutMs: number;
  maxBytes: number;
  ttlSec: number;
  perUserPerMinute: number;
}

/** What the previews module needs from messaging: send the stored message again once its preview is there. */
export interface PreviewTarget {
  /** Sends `message_updated` when the message is still there, not recalled and still links `url` first; false otherwise. */
  announcePreview(messageId: string, url: string): Promise<boolean>;
}

/** How one message's preview ended: shown, or why not. Logged at debug; tests wait on it. */
export type PreviewOutcome = { messageId: string; url: string } & (
  | { result: 'preview'; fetched: boolean }
  | { result: 'none'; reason: string; fetched: boolean }
  | { result: 'rate_limited' | 'stale' }
);

export interface PreviewsServiceDeps {
  repository: PreviewsRepository;
  fetch: GuardedFetch;
  target: PreviewTarget;
  cache: Cache;
  clock: Clock;
  settings: PreviewSettings;
  log: Logger;
}

/** A failed fetch is remembered for this long at most, so a link that was down is tried again soon. */
const FAILURE_TTL_MS = 10 * 60_000;

const hashOf = (url: string) => createHash('sha256').update(url).digest('hex');

export function createPreviewsService(deps: PreviewsServiceDeps) {
  const { repository, cache, clock, settings, log } = deps;
  /** Fetches under way in this process, by URL hash: messages repeating a link wait for the one fetch. */
  const inFlight = new Map<string, Promise<LinkPreviewRow>>();
  const settledListeners: Array<(outcome: PreviewOutcome) => void> = [];

  function settle(outcome: PreviewOutcome): void {
    log.debug({ messageId: outcome.messageId, result: outcome.result, reason: 'reason' in outcome ? outcome.reason : undefined }, 'link preview settled');
    for (const listener of settledListeners) listener(outcome);
  }

  /** Fetches the page and stores what it says (or that it said nothing usable) for the TTL. */
  async function fetchAndStore(url: string, urlHash: string): Promise<{ row: LinkPreviewRow; reason?: string }> {
    const now = clock.now().getTime();
    let reason: string | undefined;
    let meta = { title: null, description: null, image: null, siteName: null } as ReturnType<typeof parsePage>;
    try {
      const response = await deps.fetch({
        url,
        headers: { accept: 'text/html,application/xhtml+xml;q=0.9' },
        maxBytes: settings.maxBytes,
        timeoutMs: settings.timeoutMs,
        accept: ({ status, headers }) => status >= 200 && status < 300 && isHtml(headers['content-type']),
      });
      meta = parsePage(decodeHtml(response.body, response.headers['content-type']), response.url);
      if (meta.title === null && meta.description === null) reason = 'nothing_to_show';
    } catch (error) {
      reason = error instanceof OutboundError ? error.reason : 'error';
      if (!(error instanceof OutboundError)) log.warn({ err: error }, 'link preview fetch failed unexpectedly');
    }
    const ok = reason === undefined ? 1 : 0;
    const row: LinkPreviewRow = {
      url_hash: urlHash,
      url,
      ok,
      title: meta.title,
      description: meta.description,
      image: meta.image,
      site_name: meta.siteName,
      fetched_at: now,
      expires_at: now + (ok ? settings.ttlSec * 1000 : Math.min(settings.ttlSec * 1000, FAILURE_TTL_MS)),
    };
    await repository.save(row);
    return { row, reason };
  }

  /** The stored preview of a URL while it is fresh; otherwise one fetch (shared by concurrent callers). */
  async function previewOf(url: string, urlHash: string, userId: string): Promise<{ row: LinkPreviewRow; fetched: boolean; reason?: string } | 'rate_limited'> {
    const stored = await repository.find(urlHash);
    if (stored && Number(stored.expires_at) > clock.now().getTime()) return { row: stored, fetched: false, reason: stored.ok ? undefined : 'cached_failure' };
    const running = inFlight.get(urlHash);
    if (running) return { row: await running, fetched: false };
    // Only real fetches count against the sender: a cached link costs nothing.
    const { count } = await cache.incr(`preview:${userId}`, 60_000);
    if (count > settings.perUserPerMinute) return 'rate_limited';
    const fetching = fetchAndStore(url, urlHash);
    const shared = fetching.then((result) => result.row);
    // The fetch's own caller sees a failure; waiters that never came must not make it unhandled.
    shared.catch(() => {});
    inFlight.set(urlHash, shared);
    try {
      const { row, reason } = await fetching;
      return { row, fetched: true, reason };
    } finally {
      inFlight.delete(urlHash);
    }
  }

  async function preview(message: Message, url: string): Promise<void> {
    const urlHash = hashOf(url);
    const found = await previewOf(url, urlHash, message.senderId);
    if (found === 'rate_limited') return settle({ messageId: message.id, url, result: 'rate_limited' });
    if (!found.row.ok) return settle({ messageId: message.id, url, result: 'none', reason: found.reason ?? 'cached_failure', fetched: found.fetched });
    await repository.link(Number(message.id), urlHash, clock.now().getTime());
    if (!(await deps.target.announcePreview(message.id, url))) return settle({ messageId: message.id, url, result: 'stale' });
    settle({ messageId: message.id, url, result: 'preview', fetched: found.fetched });
  }

  /** Runs in the background: a failure is logged, never thrown into the send or edit that started it. */
  function start(work: Promise<void>, messageId: string): void {
    work.catch((error: unknown) => log.warn({ err: error, messageId }, 'link preview failed'));
  }

  return {
    enabled: settings.enabled,

    /** After a text message was stored and delivered: preview its first link, in the background. */
    messageSent(message: Message): void {
      if (!settings.enabled || message.type !== 'text') return;
      const url = firstUrl(message.content);
      if (url) start(preview(message, url), message.id);
    },

    /** After an edit: keep the preview when the first link is the same, else drop it and preview the new link. */
    messageEdited(message: Message): void {
      if (message.type !== 'text') return;
      const url = settings.enabled ? firstUrl(message.content) : null;
      start(
        (async () => {
          const linked = await repository.linkedHash(Number(message.id));
          if (url && linked === hashOf(url)) return;
          if (linked !== undefined) await repository.unlink(Number(message.id));
          if (url) await preview(message, url);
        })(),
        message.id,
      );
    },

    /** A recalled message loses its preview with its content. */
    messageRecalled(messageId: string): void {
      start(repository.unlink(Number(messageId)), messageId);
    },

    /** Calls `listener` with how each preview attempt ended (tests wait on it; nothing else needs it). */
    onSettled(listener: (outcome: PreviewOutcome) => void): () => void {
      settledListeners.push(listener);
      return () => settledListeners.splice(settledListeners.indexOf(listener), 1);
    },
  };
}

export type PreviewsService = ReturnType<typeof createPreviewsService>;
