import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { request as httpsRequest } from 'node:https';
import path from 'node:path';
import { io, type Socket } from 'socket.io-client';
import { afterAll, describe, expect, it } from 'vitest';
import type { Ack, Message } from '../src/client/index.js';
import { type Api, uniqueName } from './support/http.js';
import { storageLabel } from './support/server.js';
import { useTestServer } from './support/suite.js';

/**
 * Parley serving HTTPS and WSS itself (TLS_CERT_FILE / TLS_KEY_FILE) with a self-signed certificate
 * made here; clients trust exactly that certificate. And TRUST_PROXY: the client address a
 * TLS-terminating proxy forwards is what login logs and rate limits see, and only when trusted.
 */

interface JsonResponse {
  status: number;
  body: any;
}

/** One HTTPS request trusting only `ca`. */
function httpsJson(url: string, ca: Buffer, method: string, body?: unknown, token?: string): Promise<JsonResponse> {
  return new Promise((resolve, reject) => {
    const payload = body === undefined ? undefined : JSON.stringify(body);
    const req = httpsRequest(
      url,
      {
        method,
        ca,
        headers: {
          ...(payload ? { 'content-type': 'application/json' } : {}),
          ...(token ? { authorization: `Bearer ${token}` } : {}),
        },
      },
      (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => (text += chunk));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: text ? JSON.parse(text) : null }));
      },
    );
    req.on('error', reject);
    req.end(payload);
  });
}

function connectWss(url: string, ca: Buffer, token: string): Promise<Socket> {
  const socket = io(url, { path: '/socket.io', transports: ['websocket'], ca: ca.toString('utf8'), auth: { token }, forceNew: true, reconnection: false });
  return new Promise((resolve, reject) => {
    socket.once('connect', () => resolve(socket));
    socket.once('connect_error', reject);
  });
}

describe(`HTTPS and WSS with a self-signed certificate (${storageLabel})`, () => {
  let ca: Buffer;
  const suite = useTestServer((env) => {
    const certFile = path.join(env.dataDir, 'cert.pem');
    const keyFile = path.join(env.dataDir, 'key.pem');
    execFileSync(
      'openssl',
      [
        'req',
        '-x509',
        '-newkey',
        'rsa:2048',
        '-nodes',
        '-days',
        '1',
        '-keyout',
        keyFile,
        '-out',
        certFile,
        '-subj',
        '/CN=localhost',
        '-addext',
        'subjectAltName=IP:127.0.0.1,DNS:localhost',
      ],
      { stdio: 'ignore' },
    );
    ca = readFileSync(certFile);
    return { TLS_CERT_FILE: certFile, TLS_KEY_FILE: keyFile };
  });
  const sockets: Socket[] = [];
  afterAll(() => {
    for (const socket of sockets) socket.close();
  });

  it('listens on https://', () => {
    expect(suite.server.url).toMatch(/^https:\/\/127\.0\.0\.1:\d+$/);
  });

  it('answers REST over HTTPS to a client trusting the certificate', async () => {
    expect((await httpsJson(`${suite.server.url}/healthz`, ca, 'GET')).body).toEqual({ status: 'ok' });
    const username = uniqueName();
    const registered = await httpsJson(`${suite.server.url}/api/v1/auth/register`, ca, 'POST', { username, password: 'correct horse battery' });
    expect(registered.status).toBe(201);
    const me = await httpsJson(`${suite.server.url}/api/v1/users/me`, ca, 'GET', undefined, registered.body.accessToken);
    expect(me).toMatchObject({ status: 200, body: { username } });
  });

  it('refuses clients that do not trust the certificate, and plain HTTP on the TLS port', async () => {
    await expect(fetch(`${suite.server.url}/healthz`)).rejects.toThrow();
    await expect(fetch(`${suite.server.url.replace('https:', 'http:')}/healthz`)).rejects.toThrow();
  });

  it('carries a chat between two socket.io-client connections over WSS', async () => {
    const register = async () => {
      const res = await httpsJson(`${suite.server.url}/api/v1/auth/register`, ca, 'POST', { username: uniqueName(), password: 'correct horse battery' });
      return { id: res.body.user.id as string, token: res.body.accessToken as string };
    };
    const alice = await register();
    const bob = await register();
    const aliceSocket = await connectWss(suite.server.url, ca, alice.token);
    const bobSocket = await connectWss(suite.server.url, ca, bob.token);
    sockets.push(aliceSocket, bobSocket);
    expect(aliceSocket.io.engine.transport.name).toBe('websocket');
    const conversation = await httpsJson(`${suite.server.url}/api/v1/conversations`, ca, 'POST', { peerId: bob.id }, alice.token);
    expect(conversation.status).toBeLessThan(300);

    const received = new Promise<Message>((resolve) => bobSocket.once('chat', resolve));
    const ack = (await aliceSocket.timeout(5000).emitWithAck('chat', {
      conversationId: conversation.body.id,
      type: 'text',
      content: 'over TLS 🔒',
      clientMsgId: 'tls-1',
    })) as Ack<Message>;
    expect(ack.ok).toBe(true);
    const message = await received;
    expect(message.content).toBe('over TLS 🔒');
    if (ack.ok) expect(message.id).toBe(ack.data.id);
  });
});

describe(`TRUST_PROXY: the client address behind a TLS-terminating proxy (${storageLabel})`, () => {
  const FORWARDED = '203.0.113.77';

  /** What the server made of a client behind the proxy: the address it logged, and whether it rate-limits that address apart. */
  async function loginAddress(api: Api): Promise<{ ip: string; rateLimitedSeparately: boolean }> {
    const headers = { 'x-forwarded-for': FORWARDED, 'x-forwarded-proto': 'https' };
    const username = uniqueName();
    const registered = await api('POST', '/auth/register', { body: { username, password: 'correct horse battery' }, headers });
    const logs = await api('GET', '/users/me/login-logs', { token: registered.body.accessToken, headers });
    // The budget of 3 is spent by requests "from" FORWARDED; another forwarded address still gets in
    // only when the limit is keyed on the forwarded address.
    await api('GET', '/users/me', { token: registered.body.accessToken, headers });
    const limited = await api('GET', '/users/me', { token: registered.body.accessToken, headers });
    const other = await api('GET', '/users/me', { token: registered.body.accessToken, headers: { 'x-forwarded-for': '198.51.100.9' } });
    expect(limited.status).toBe(429);
    return { ip: logs.body.items[0].ip, rateLimitedSeparately: other.status === 200 };
  }

  describe('TRUST_PROXY=true', () => {
    const suite = useTestServer({ TRUST_PROXY: 'true', RATE_LIMIT_MAX: '3', RATE_LIMIT_WINDOW: '60' });

    it('records and rate-limits the forwarded client address when TRUST_PROXY=true', async () => {
      expect(await loginAddress(suite.api)).toEqual({ ip: FORWARDED, rateLimitedSeparately: true });
    });
  });

  describe('TRUST_PROXY off', () => {
    const suite = useTestServer({ RATE_LIMIT_MAX: '3', RATE_LIMIT_WINDOW: '60' });

    it('ignores X-Forwarded-For when TRUST_PROXY is off (clients cannot forge their address)', async () => {
      const seen = await loginAddress(suite.api);
      expect(seen.ip).not.toBe(FORWARDED);
      expect(seen.ip).toMatch(/127\.0\.0\.1/);
      expect(seen.rateLimitedSeparately).toBe(false);
    });
  });
});
