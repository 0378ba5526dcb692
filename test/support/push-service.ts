import { createDecipheriv, createECDH, createPublicKey, hkdfSync, randomBytes, randomUUID, verify } from 'node:crypto';
import http, { type IncomingHttpHeaders } from 'node:http';
import type { AddressInfo } from 'node:net';

/**
 * A browser's side of a push subscription, made as a browser makes it: a P-256 ECDH key pair and
 * a 16-byte authentication secret (RFC 8291 §2), and an endpoint at the local push service.
 */
export interface BrowserSubscription {
  endpoint: string;
  keys: { p256dh: string; auth: string };
  /** The private half, kept by the "browser" to decrypt what arrives. */
  ecdh: ReturnType<typeof createECDH>;
  authSecret: Buffer;
}

/** A push as the local service received it, decrypted and with its VAPID header checked. */
export interface ReceivedPush {
  endpoint: string;
  headers: IncomingHttpHeaders;
  /** The decrypted payload, parsed as JSON. */
  payload: Record<string, unknown>;
  /** The VAPID JWT's claims (aud, exp, sub) and the key it was signed with. */
  vapid: { claims: { aud: string; exp: number; sub: string }; publicKey: string };
  /** The status it was answered with, and when it arrived (epoch ms). */
  status: number;
  at: number;
}

/** A scripted answer: a status (with an optional `Retry-After` header), or `reset`: the connection is cut with no answer. */
export type ScriptedAnswer = { status: number; retryAfter?: string } | 'reset';

export interface FakePushService {
  url: string;
  /** A new browser subscription with an endpoint here. */
  subscription(): BrowserSubscription;
  /** Every push received so far, in order. */
  received: ReceivedPush[];
  /** Requests that could not be decrypted or verified, with why: a test expects none. */
  rejected: string[];
  /** The status this endpoint answers from now on (default 201; 410: the subscription is gone). */
  answer(endpoint: string, status: number): void;
  /** The next requests to this endpoint get these answers, in order; then `answer`'s status again. */
  script(endpoint: string, answers: ScriptedAnswer[]): void;
  /** Resolves with the first push to `endpoint` matching `predicate` (already received ones count). */
  next(endpoint: string, predicate?: (push: ReceivedPush) => boolean, timeoutMs?: number): Promise<ReceivedPush>;
  /** How many requests reached `endpoint` (decrypted or not). */
  hits(endpoint: string): number;
  close(): Promise<void>;
}

const b64u = (bytes: Buffer) => bytes.toString('base64url');

/**
 * RFC 8291 (Message Encryption for Web Push) over RFC 8188 (aes128gcm): the body is
 * salt(16) | rs(4) | idlen(1) | keyid = the application server's ephemeral public key | records.
 * The browser derives the content key from ECDH(its private key, that public key) and its auth secret.
 */
export function decryptPush(body: Buffer, subscription: Pick<BrowserSubscription, 'ecdh' | 'authSecret'>): Buffer {
  const salt = body.subarray(0, 16);
  const recordSize = body.readUInt32BE(16);
  const idLength = body.readUInt8(20);
  const serverPublic = body.subarray(21, 21 + idLength);
  const records = body.subarray(21 + idLength);
  if (idLength !== 65) throw new Error(`keyid is ${idLength} bytes, not a P-256 public key`);
  if (records.length > recordSize) throw new Error('more than one record (the server sends one)');
  const ecdhSecret = subscription.ecdh.computeSecret(serverPublic);
  const uaPublic = subscription.ecdh.getPublicKey();
  const keyInfo = Buffer.concat([Buffer.from('WebPush: info\0'), uaPublic, serverPublic]);
  const ikm = Buffer.from(hkdfSync('sha256', ecdhSecret, subscription.authSecret, keyInfo, 32));
  const cek = Buffer.from(hkdfSync('sha256', ikm, salt, Buffer.from('Content-Encoding: aes128gcm\0'), 16));
  const nonce = Buffer.from(hkdfSync('sha256', ikm, salt, Buffer.from('Content-Encoding: nonce\0'), 12));
  const decipher = createDecipheriv('aes-128-gcm', cek, nonce);
  decipher.setAuthTag(records.subarray(records.length - 16));
  const padded = Buffer.concat([decipher.update(records.subarray(0, records.length - 16)), decipher.final()]);
  // The last record ends with the delimiter 0x02, then zero padding (RFC 8188 §2).
  let end = padded.length - 1;
  while (end >= 0 && padded[end] === 0) end--;
  if (padded[end] !== 2) throw new Error('last record delimiter missing');
  return padded.subarray(0, end);
}

/**
 * Checks the VAPID authorization (RFC 8292 §3): `vapid t=<JWT>, k=<public key>`, an ES256 JWT
 * signed with k, whose `aud` is the endpoint's origin and whose `exp` is in the future (at most 24 h).
 */
export function verifyVapid(authorization: string | undefined, endpoint: string): ReceivedPush['vapid'] {
  const match = /^vapid t=([A-Za-z0-9_.-]+),\s*k=([A-Za-z0-9_-]+)$/.exec(authorization ?? '');
  if (!match?.[1] || !match[2]) throw new Error(`not a VAPID authorization: ${authorization}`);
  const [token, publicKey] = [match[1], match[2]];
  const [header, claims, signature] = token.split('.');
  if (!header || !claims || !signature) throw new Error('JWT is not three parts');
  if (JSON.parse(Buffer.from(header, 'base64url').toString()).alg !== 'ES256') throw new Error('JWT is not ES256');
  const point = Buffer.from(publicKey, 'base64url');
  if (point.length !== 65 || point[0] !== 4) throw new Error('k is not an uncompressed P-256 point');
  const key = createPublicKey({ key: { kty: 'EC', crv: 'P-256', x: b64u(point.subarray(1, 33)), y: b64u(point.subarray(33)) }, format: 'jwk' });
  if (!verify('sha256', Buffer.from(`${header}.${claims}`), { key, dsaEncoding: 'ieee-p1363' }, Buffer.from(signature, 'base64url')))
    throw new Error('JWT signature does not verify with k');
  const parsed = JSON.parse(Buffer.from(claims, 'base64url').toString()) as { aud: string; exp: number; sub: string };
  if (parsed.aud !== new URL(endpoint).origin) throw new Error(`aud ${parsed.aud} is not the endpoint's origin`);
  const now = Date.now() / 1000;
  if (!(parsed.exp > now) || parsed.exp > now + 24 * 3600 + 60) throw new Error(`exp ${parsed.exp} is not within the next 24 hours`);
  if (!/^(mailto:|https:)/.test(parsed.sub)) throw new Error('sub is not a mailto: or https: URL');
  return { claims: parsed, publicKey };
}

/** A local HTTP server acting as a push service (RFC 8030 §5): it accepts, decrypts and checks pushes. */
export async function startFakePushService(): Promise<FakePushService> {
  const browsers = new Map<string, BrowserSubscription>();
  const statuses = new Map<string, number>();
  const scripts = new Map<string, ScriptedAnswer[]>();
  const hitCounts = new Map<string, number>();
  const received: ReceivedPush[] = [];
  const rejected: string[] = [];
  const waiters: Array<() => void> = [];
  const server = http.createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      const endpoint = `${service.url}${request.url}`;
      hitCounts.set(endpoint, (hitCounts.get(endpoint) ?? 0) + 1);
      const browser = browsers.get(endpoint);
      try {
        if (request.method !== 'POST') throw new Error(`${request.method} is not POST`);
        if (!browser) throw new Error(`unknown endpoint ${endpoint}`);
        if (request.headers['content-encoding'] !== 'aes128gcm') throw new Error(`content-encoding ${request.headers['content-encoding']}`);
        if (!request.headers.ttl) throw new Error('no TTL header');
        const vapid = verifyVapid(request.headers.authorization, endpoint);
        const payload = JSON.parse(decryptPush(Buffer.concat(chunks), browser).toString('utf8')) as Record<string, unknown>;
        const scripted = scripts.get(endpoint)?.shift() ?? { status: statuses.get(endpoint) ?? 201 };
        if (scripted === 'reset') {
          request.socket.destroy();
          return;
        }
        received.push({ endpoint, headers: request.headers, payload, vapid, status: scripted.status, at: Date.now() });
        for (const wake of waiters.splice(0)) wake();
        response.writeHead(scripted.status, scripted.retryAfter === undefined ? {} : { 'retry-after': scripted.retryAfter }).end();
      } catch (error) {
        rejected.push(error instanceof Error ? error.message : String(error));
        response.writeHead(400).end();
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const service: FakePushService = {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    received,
    rejected,
    subscription() {
      const ecdh = createECDH('prime256v1');
      ecdh.generateKeys();
      const authSecret = randomBytes(16);
      const endpoint = `${service.url}/push/${randomUUID()}`;
      const browser = { endpoint, keys: { p256dh: b64u(ecdh.getPublicKey()), auth: b64u(authSecret) }, ecdh, authSecret };
      browsers.set(endpoint, browser);
      return browser;
    },
    answer(endpoint, status) {
      statuses.set(endpoint, status);
    },
    script(endpoint, answers) {
      scripts.set(endpoint, [...answers]);
    },
    hits: (endpoint) => hitCounts.get(endpoint) ?? 0,
    next(endpoint, predicate = () => true, timeoutMs = 5000) {
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`no push at ${endpoint} within ${timeoutMs} ms (rejected: ${rejected.join('; ') || 'none'})`)), timeoutMs);
        const look = () => {
          const found = received.find((push) => push.endpoint === endpoint && predicate(push));
          if (found) {
            clearTimeout(timer);
            resolve(found);
          } else waiters.push(look);
        };
        look();
      });
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
  return service;
}
