import { connect } from 'node:net';
import { describe, expect, it } from 'vitest';
import { expectError, newUser } from './support/http.js';
import { storageLabel } from './support/server.js';
import { useTestServer } from './support/suite.js';

/**
 * Requests that are hostile as HTTP rather than as JSON: oversized and deeply nested bodies, bytes
 * that are not UTF-8, huge headers and clients that send too slowly. Each gets the documented
 * status and the API's error format, and the server keeps serving.
 */

/** Writes raw bytes on a fresh connection and resolves with everything the server answers until it closes. */
function raw(url: string, chunks: Array<string | Buffer>, pauseMs = 0): Promise<string> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve, reject) => {
    const socket = connect(Number(port), hostname);
    let answer = '';
    socket.setEncoding('utf8');
    socket.on('data', (data: string) => (answer += data));
    socket.on('close', () => resolve(answer));
    socket.on('error', (error: NodeJS.ErrnoException) => (error.code === 'ECONNRESET' || error.code === 'EPIPE' ? resolve(answer) : reject(error)));
    socket.on('connect', async () => {
      for (const chunk of chunks) {
        if (socket.destroyed) return;
        socket.write(chunk);
        if (pauseMs > 0) await new Promise((resolve) => setTimeout(resolve, pauseMs));
      }
    });
  });
}

function parseRaw(answer: string): { status: number; body: any } {
  const status = Number(/^HTTP\/1\.1 (\d{3})/.exec(answer)?.[1] ?? 0);
  const body = answer.slice(answer.indexOf('\r\n\r\n') + 4);
  return { status, body: body ? JSON.parse(body) : null };
}

describe(`hostile HTTP input (${storageLabel})`, () => {
  const suite = useTestServer({ BODY_LIMIT_BYTES: '65536', HTTP_HEADERS_TIMEOUT: '1', HTTP_REQUEST_TIMEOUT: '2' });
  const { api } = suite;

  it('refuses a body over BODY_LIMIT_BYTES with 413 PAYLOAD_TOO_LARGE', async () => {
    const user = await newUser(api);
    const res = await api('PATCH', '/users/me', { token: user.accessToken, body: { nickname: 'x'.repeat(70_000) } });
    expectError(res, 413, 'PAYLOAD_TOO_LARGE');
    // Also when the length is not announced up front (chunked): the stream is cut at the limit.
    const chunked = await raw(suite.server.url, [
      `POST /api/v1/auth/login HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n`,
      ...Array.from({ length: 20 }, () => `1000\r\n${'a'.repeat(0x1000)}\r\n`),
      '0\r\n\r\n',
    ]);
    expect(parseRaw(chunked)).toMatchObject({ status: 413, body: { error: { code: 'PAYLOAD_TOO_LARGE' } } });
  });

  it('refuses deeply nested JSON with 400 VALIDATION_FAILED before parsing it', async () => {
    const user = await newUser(api);
    for (const depth of [65, 1000, 30_000]) {
      const deep = `${'['.repeat(depth)}${']'.repeat(depth)}`;
      const res = await api('PATCH', '/users/me', { token: user.accessToken, rawBody: `{"nickname":"n","x":${deep}}` });
      const error = expectError(res, 400, 'VALIDATION_FAILED');
      expect(error.message).toMatch(/nests deeper/);
    }
    // Brackets inside strings do not count.
    const fine = await api('PATCH', '/users/me', { token: user.accessToken, rawBody: JSON.stringify({ nickname: '[[[[{{{{'.repeat(20).slice(0, 30) }) });
    expect(fine.status).toBe(200);
  });

  it('refuses a body that is not valid UTF-8 with 400 VALIDATION_FAILED', async () => {
    const user = await newUser(api);
    const body = Buffer.concat([Buffer.from('{"nickname":"'), Buffer.from([0xc3, 0x28, 0xff, 0xfe]), Buffer.from('"}')]);
    const res = await fetch(`${suite.server.url}/api/v1/users/me`, {
      method: 'PATCH',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${user.accessToken}` },
      body,
    });
    expect(res.status).toBe(400);
    expect(((await res.json()) as { error: { code: string; message: string } }).error).toMatchObject({ code: 'VALIDATION_FAILED', message: 'body: is not valid UTF-8' });
    // Overlong encodings and lone surrogates (CESU) are invalid UTF-8 too.
    for (const bytes of [
      [0xc0, 0xaf],
      [0xed, 0xa0, 0x80],
    ]) {
      const again = await fetch(`${suite.server.url}/api/v1/auth/login`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: Buffer.concat([Buffer.from('{"username":"'), Buffer.from(bytes), Buffer.from('","password":"xxxxxxxxxx"}')]),
      });
      expect(again.status).toBe(400);
    }
  });

  it('refuses headers over 16 KiB with 431 HEADERS_TOO_LARGE in the API error format', async () => {
    const answer = await raw(suite.server.url, [`GET /healthz HTTP/1.1\r\nHost: x\r\nX-Big: ${'a'.repeat(20_000)}\r\n\r\n`]);
    expect(parseRaw(answer)).toEqual({ status: 431, body: { error: { code: 'HEADERS_TOO_LARGE', message: expect.any(String) } } });
    // Many small headers add up the same way.
    const many = Array.from({ length: 900 }, (_, i) => `X-H${i}: ${'v'.repeat(20)}\r\n`).join('');
    expect(parseRaw(await raw(suite.server.url, [`GET /healthz HTTP/1.1\r\nHost: x\r\n${many}\r\n`])).status).toBe(431);
  });

  it('closes a client that sends its headers too slowly (slowloris) with 408 REQUEST_TIMEOUT', async () => {
    // One header line every 400 ms: the 1 s headers timeout runs out long before the 40 lines do.
    const lines = ['GET /healthz HTTP/1.1\r\n', 'Host: x\r\n', ...Array.from({ length: 40 }, (_, i) => `X-Slow-${i}: 1\r\n`), '\r\n'];
    const answer = await raw(suite.server.url, lines, 400);
    expect(parseRaw(answer)).toEqual({ status: 408, body: { error: { code: 'REQUEST_TIMEOUT', message: expect.any(String) } } });
  });

  it('closes a client that trickles its body beyond HTTP_REQUEST_TIMEOUT', async () => {
    const body = JSON.stringify({ username: 'slowpoke', password: 'correct horse battery' });
    const head = `POST /api/v1/auth/login HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: ${body.length}\r\n\r\n`;
    // One byte every 300 ms: ~20 s for the body, against a 2 s request timeout.
    const answer = await raw(suite.server.url, [head, ...body.split('')], 300);
    expect(parseRaw(answer).status).toBe(408);
  });

  it('still serves after all of that', async () => {
    expect((await api('GET', '/healthz')).status).toBe(200);
    const user = await newUser(api);
    expect((await api('GET', '/users/me', { token: user.accessToken })).status).toBe(200);
  });
});
