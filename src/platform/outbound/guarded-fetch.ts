import { lookup as dnsLookup } from 'node:dns/promises';
import http, { type IncomingHttpHeaders, type IncomingMessage } from 'node:http';
import https from 'node:https';
import type { LookupFunction } from 'node:net';
import { isIP } from 'node:net';
import { type AddressPolicy, publicOnly, publicOrPrivate } from './address-policy.js';

/** Why an outbound request gave no response; callers log it and move on. */
export type OutboundFailure = 'invalid_url' | 'scheme' | 'credentials' | 'dns' | 'address' | 'redirects' | 'timeout' | 'too_large' | 'refused_response' | 'network';

export class OutboundError extends Error {
  override readonly name = 'OutboundError';
  constructor(
    readonly reason: OutboundFailure,
    message: string,
  ) {
    super(message);
  }
}

/** Every address a host name resolves to. */
export type Resolver = (hostname: string) => Promise<Array<{ address: string; family: number }>>;

export interface GuardedFetchOptions {
  /** `OUTBOUND_ALLOW_PRIVATE`: loopback and private networks may be reached (tests, private deployments). */
  allowPrivate: boolean;
  /** DNS resolution; the system resolver unless a test injects one. */
  resolve?: Resolver;
  /** Which resolved addresses may be connected to; replaces the one `allowPrivate` picks (tests). */
  addressAllowed?: AddressPolicy;
  userAgent?: string;
}

export interface OutboundRequest {
  url: string;
  method?: 'GET' | 'POST';
  /** Sent to the first hop only; a redirect (GET only) carries just the fixed headers. */
  headers?: Record<string, string>;
  body?: string | Buffer;
  /** The response body may not exceed this; the download is cut off past it. */
  maxBytes: number;
  /** For the whole request: DNS, connections, every redirect and the body. */
  timeoutMs: number;
  /** Redirects followed (GET only), each checked like the first hop. Default 5. */
  maxRedirects?: number;
  /** Looked at before any byte of the body is read: false drops the response (a content type not wanted). */
  accept?: (response: { status: number; headers: IncomingHttpHeaders }) => boolean;
}

export interface OutboundResponse {
  /** The URL that answered, after redirects. */
  url: string;
  status: number;
  headers: IncomingHttpHeaders;
  body: Buffer;
}

export type GuardedFetch = (request: OutboundRequest) => Promise<OutboundResponse>;

export const OUTBOUND_USER_AGENT = 'ParleyBot/1.0 (+link previews; self-hosted chat)';
const REDIRECTS = new Set([301, 302, 303, 307, 308]);

const systemResolver: Resolver = (hostname) => dnsLookup(hostname, { all: true, verbatim: true });

/**
 * The one way Parley requests a URL a user gave it (link previews, push endpoints, webhooks).
 * It resolves the host itself, checks every address against the policy and connects to the
 * checked address (the socket's `lookup` returns it; no second resolution can swap it, so DNS
 * rebinding does not get through), follows redirects by hand with the same checks on each hop,
 * sends no cookies or credentials, and holds a byte and a time budget.
 */
export function createGuardedFetch(options: GuardedFetchOptions): GuardedFetch {
  const resolve = options.resolve ?? systemResolver;
  const allowed = options.addressAllowed ?? (options.allowPrivate ? publicOrPrivate : publicOnly);
  const userAgent = options.userAgent ?? OUTBOUND_USER_AGENT;

  async function checkedAddress(url: URL, signal: AbortSignal): Promise<{ address: string; family: number }> {
    const host = url.hostname.startsWith('[') ? url.hostname.slice(1, -1) : url.hostname;
    const literal = isIP(host);
    const addresses = literal ? [{ address: host, family: literal }] : await abortable(resolve(host), signal).catch(rethrowAs('dns', `${host} did not resolve`));
    if (addresses.length === 0) throw new OutboundError('dns', `${host} did not resolve`);
    // Every address must pass: a name that resolves to one public and one private address is refused.
    for (const { address } of addresses) if (!allowed(address)) throw new OutboundError('address', `${host} resolves to an address outbound requests may not reach`);
    return addresses[0] as { address: string; family: number };
  }

  function requestOnce(url: URL, target: { address: string; family: number }, request: OutboundRequest, first: boolean, signal: AbortSignal): Promise<IncomingMessage> {
    const pinned: LookupFunction = (_hostname, lookupOptions, callback) => {
      // Node asks for every address (`all`) when it may race IPv4 and IPv6; either way it gets the checked one.
      if ((lookupOptions as { all?: boolean }).all) (callback as unknown as (e: null, a: Array<{ address: string; family: number }>) => void)(null, [target]);
      else callback(null, target.address, target.family);
    };
    const headers: Record<string, string> = {
      ...(first ? request.headers : {}),
      'user-agent': userAgent,
      // Compressed bodies would let a small download expand past the byte budget.
      'accept-encoding': 'identity',
    };
    const transport = url.protocol === 'https:' ? https : http;
    return new Promise((resolveResponse, reject) => {
      const outgoing = transport.request(
        {
          protocol: url.protocol,
          host: url.hostname.startsWith('[') ? url.hostname.slice(1, -1) : url.hostname,
          port: url.port || undefined,
          path: `${url.pathname}${url.search}`,
          method: first ? (request.method ?? 'GET') : 'GET',
          headers,
          lookup: pinned,
          // A fresh connection per request: a pooled socket could lead to an address not checked for this hop.
          agent: false,
          signal,
        },
        resolveResponse,
      );
      outgoing.on('error', reject);
      outgoing.end(first ? request.body : undefined);
    });
  }

  async function readBody(response: IncomingMessage, maxBytes: number): Promise<Buffer> {
    const declared = Number(response.headers['content-length']);
    if (Number.isFinite(declared) && declared > maxBytes) {
      response.destroy();
      throw new OutboundError('too_large', `response declares ${declared} bytes, more than ${maxBytes}`);
    }
    const chunks: Buffer[] = [];
    let size = 0;
    for await (const chunk of response as AsyncIterable<Buffer>) {
      size += chunk.length;
      if (size > maxBytes) {
        response.destroy();
        throw new OutboundError('too_large', `response is larger than ${maxBytes} bytes`);
      }
      chunks.push(chunk);
    }
    return Buffer.concat(chunks);
  }

  async function run(request: OutboundRequest, signal: AbortSignal): Promise<OutboundResponse> {
    let url = parseUrl(request.url);
    const maxRedirects = request.maxRedirects ?? 5;
    for (let hop = 0; ; hop++) {
      const target = await checkedAddress(url, signal);
      const response = await requestOnce(url, target, request, hop === 0, signal);
      const status = response.statusCode ?? 0;
      const location = response.headers.location;
      if (REDIRECTS.has(status) && location && (request.method ?? 'GET') === 'GET') {
        response.resume();
        if (hop >= maxRedirects) throw new OutboundError('redirects', `more than ${maxRedirects} redirects`);
        url = parseUrl(location, url);
        continue;
      }
      if (request.accept && !request.accept({ status, headers: response.headers })) {
        response.destroy();
        throw new OutboundError('refused_response', `response ${status} (${response.headers['content-type'] ?? 'no type'}) not wanted`);
      }
      return { url: url.toString(), status, headers: response.headers, body: await readBody(response, request.maxBytes) };
    }
  }

  return async (request) => {
    const controller = new AbortController();
    const timer = setTimeout(() => controller.abort(), request.timeoutMs);
    try {
      return await run(request, controller.signal);
    } catch (error) {
      if (controller.signal.aborted) throw new OutboundError('timeout', `no complete response within ${request.timeoutMs} ms`);
      if (error instanceof OutboundError) throw error;
      throw new OutboundError('network', error instanceof Error ? error.message : String(error));
    } finally {
      clearTimeout(timer);
    }
  };
}

/**
 * Checks a URL the way the fetcher would before connecting (scheme, credentials, DNS, address
 * policy) without sending anything: for URLs stored now and requested later (webhooks), so a
 * refused target is reported when it is given. The fetcher checks again on every request.
 */
export function createOutboundUrlCheck(options: Pick<GuardedFetchOptions, 'allowPrivate' | 'resolve' | 'addressAllowed'>): (url: string) => Promise<void> {
  const resolve = options.resolve ?? systemResolver;
  const allowed = options.addressAllowed ?? (options.allowPrivate ? publicOrPrivate : publicOnly);
  return async (text) => {
    const url = parseUrl(text);
    const host = url.hostname.startsWith('[') ? url.hostname.slice(1, -1) : url.hostname;
    const literal = isIP(host);
    const addresses = literal ? [{ address: host, family: literal }] : await resolve(host).catch(rethrowAs('dns', `${host} did not resolve`));
    if (addresses.length === 0) throw new OutboundError('dns', `${host} did not resolve`);
    for (const { address } of addresses) if (!allowed(address)) throw new OutboundError('address', `${host} resolves to an address outbound requests may not reach`);
  };
}

/** http(s) only, and no user:password in the URL: credentials are never sent anywhere. */
function parseUrl(text: string, base?: URL): URL {
  let url: URL;
  try {
    url = new URL(text, base);
  } catch {
    throw new OutboundError('invalid_url', 'not a URL');
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new OutboundError('scheme', `${url.protocol} is not http or https`);
  if (url.username !== '' || url.password !== '') throw new OutboundError('credentials', 'URLs with credentials are not requested');
  url.hash = '';
  return url;
}

function abortable<T>(promise: Promise<T>, signal: AbortSignal): Promise<T> {
  return new Promise((resolve, reject) => {
    const onAbort = () => reject(new OutboundError('timeout', 'aborted'));
    if (signal.aborted) return onAbort();
    signal.addEventListener('abort', onAbort, { once: true });
    promise.then(resolve, reject).finally(() => signal.removeEventListener('abort', onAbort));
  });
}

function rethrowAs(reason: OutboundFailure, message: string) {
  return (error: unknown): never => {
    if (error instanceof OutboundError) throw error;
    throw new OutboundError(reason, message);
  };
}
