import webpush from 'web-push';
import type { GuardedFetch } from '../../platform/outbound/index.js';
import type { VapidKeys } from './push.vapid.js';

/** Where and how to reach one browser: its endpoint and the keys the payload is encrypted for. */
export interface PushTarget {
  endpoint: string;
  p256dh: string;
  auth: string;
}

/** A push service's answer: its HTTP status and, when it sent one, its `Retry-After` in milliseconds. */
export interface PushAnswer {
  status: number;
  retryAfterMs?: number;
}

/** Sends one encrypted push; resolves with the push service's answer, rejects when none came (network error, timeout). */
export type PushSend = (target: PushTarget, payload: string) => Promise<PushAnswer>;

/** `Retry-After` (RFC 9110 §10.2.3): delay-seconds or an HTTP date; undefined when absent or unreadable. */
export function parseRetryAfter(value: string | string[] | undefined, now: number): number | undefined {
  const text = (Array.isArray(value) ? value[0] : value)?.trim();
  if (!text) return undefined;
  if (/^\d+$/.test(text)) return Number(text) * 1000;
  // An HTTP date ends in GMT (IMF-fixdate and the obsolete RFC 850 form); anything else is not one.
  if (!/ GMT$/.test(text)) return undefined;
  const at = Date.parse(text);
  return Number.isNaN(at) ? undefined : Math.max(0, at - now);
}

export interface PushSenderOptions {
  fetch: GuardedFetch;
  vapid: VapidKeys;
  subject: string;
  ttlSec: number;
  timeoutMs: number;
}

/**
 * `web-push` does the cryptography (RFC 8291 aes128gcm payload encryption, the RFC 8292 VAPID
 * JWT); its `generateRequestDetails` hands back the request instead of sending it, and the request
 * goes out through the guarded fetcher like every request to a user-given URL: the endpoint's
 * address is checked after DNS resolution, at connect time, so a subscription cannot point the
 * server at loopback, the private network or the metadata service.
 */
export function createPushSender(options: PushSenderOptions): PushSend {
  return async (target, payload) => {
    const details = webpush.generateRequestDetails({ endpoint: target.endpoint, keys: { p256dh: target.p256dh, auth: target.auth } }, payload, {
      vapidDetails: { subject: options.subject, publicKey: options.vapid.publicKey, privateKey: options.vapid.privateKey },
      TTL: options.ttlSec,
      contentEncoding: 'aes128gcm',
      urgency: 'high',
    });
    const headers: Record<string, string> = {};
    for (const [name, value] of Object.entries(details.headers)) headers[name.toLowerCase()] = String(value);
    const response = await options.fetch({
      url: details.endpoint,
      method: 'POST',
      headers,
      body: details.body ?? undefined,
      // Push services answer with an empty body or a short error document.
      maxBytes: 64 * 1024,
      timeoutMs: options.timeoutMs,
      maxRedirects: 0,
    });
    return { status: response.status, retryAfterMs: parseRetryAfter(response.headers['retry-after'], Date.now()) };
  };
}
