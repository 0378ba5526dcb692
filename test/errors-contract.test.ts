import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { connect } from 'node:net';
import type { Socket } from 'socket.io';
import { io } from 'socket.io-client';
import { afterAll, describe, expect, it } from 'vitest';
import { ERROR_CODES, type ErrorCode } from '../src/contract/errors.js';
import { CLIENT_EVENTS, type ClientToServerEvents, ReadPayload, TypingPayload } from '../src/contract/events.js';
import type { Logger } from '../src/platform/logger.js';
import { onEvent } from '../src/platform/realtime/handlers.js';
import { ERROR_STATUS } from '../src/shared/errors.js';
import { type FakeLlm, startFakeLlm } from './support/fake-llm.js';
import { newUser } from './support/http.js';
import { connectedUser } from './support/realtime.js';
import { storageLabel } from './support/server.js';
import { useTestServer } from './support/suite.js';

/**
 * The error contract: every code the server actually sends, whichever way it leaves (REST body,
 * a response Node writes before Fastify, tus, socket ack, handshake refusal, SSE), is one of the
 * codes exported at runtime, with the HTTP status the contract gives it; and docs/api.md and the
 * OpenAPI document list exactly those codes.
 */

/** Asserts a code the server sent is in the contract and, for HTTP, came with the contract's status. */
function expectContractCode(code: unknown, status?: number): void {
  expect(ERROR_CODES).toContain(code);
  if (status !== undefined) expect(status).toBe(ERROR_STATUS[code as ErrorCode]);
}

/** Writes raw bytes on a fresh connection and resolves with everything the server answers until it closes. */
function raw(url: string, chunks: string[], pauseMs = 0): Promise<{ status: number; body: any }> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve, reject) => {
    const socket = connect(Number(port), hostname);
    let answer = '';
    const done = () => {
      const body = answer.slice(answer.indexOf('\r\n\r\n') + 4);
      resolve({ status: Number(/^HTTP\/1\.1 (\d{3})/.exec(answer)?.[1] ?? 0), body: body ? JSON.parse(body) : null });
    };
    socket.setEncoding('utf8');
    socket.on('data', (data: string) => (answer += data));
    socket.on('close', done);
    socket.on('error', (error: NodeJS.ErrnoException) => (error.code === 'ECONNRESET' || error.code === 'EPIPE' ? done() : reject(error)));
    socket.on('connect', async () => {
      for (const chunk of chunks) {
        if (socket.destroyed) return;
        socket.write(chunk);
        if (pauseMs > 0) await new Promise((resolve) => setTimeout(resolve, pauseMs));
      }
    });
  });
}

/** Every `code` enum in a JSON document (the OpenAPI error schema's `error.code`). */
function codeEnums(node: unknown, found: unknown[][] = []): unknown[][] {
  if (typeof node !== 'object' || node === null) return found;
  const code = (node as { properties?: { code?: { enum?: unknown[] } } }).properties?.code?.enum;
  if (Array.isArray(code)) found.push(code);
  for (const child of Object.values(node)) codeEnums(child, found);
  return found;
}

describe(`error codes the server sends are the contract's (${storageLabel})`, () => {
  let fake: FakeLlm | undefined;
  const suite = useTestServer(async () => {
    fake = await startFakeLlm();
    return {
      BODY_LIMIT_BYTES: '65536',
      HTTP_HEADERS_TIMEOUT: '1',
      HTTP_REQUEST_TIMEOUT: '2',
      DEEPSEEK_API_KEY: 'deepseek-test-key',
      DEEPSEEK_BASE_URL: fake.openaiBaseUrl,
      AI_DEFAULT_MODEL: 'deepseek/deepseek-chat',
    };
  });
  const { api } = suite;
  afterAll(async () => {
    await fake?.close();
  });

  it('REST refusals (401, 404, 413) carry contract codes with their statuses', async () => {
    const user = await newUser(api);
    const refusals = [
      await api('GET', '/users/me'),
      await api('GET', '/no-such-route', { token: user.accessToken }),
      await api('PATCH', '/users/me', { token: user.accessToken, body: { nickname: 'x'.repeat(70_000) } }),
    ];
    expect(refusals.map((res) => res.body.error.code)).toEqual(['UNAUTHORIZED', 'NOT_FOUND', 'PAYLOAD_TOO_LARGE']);
    for (const res of refusals) expectContractCode(res.body.error.code, res.status);
  });

  it('requests Node refuses before Fastify (431 headers too large, 408 too slow) carry contract codes', async () => {
    const large = await raw(suite.server.url, [`GET /healthz HTTP/1.1\r\nHost: x\r\nX-Big: ${'a'.repeat(20_000)}\r\n\r\n`]);
    expect(large.body.error.code).toBe('HEADERS_TOO_LARGE');
    expectContractCode(large.body.error.code, large.status);
    // One header line every 400 ms: the 1 s headers timeout runs out first.
    const slow = await raw(suite.server.url, ['GET /healthz HTTP/1.1\r\n', 'Host: x\r\n', ...Array.from({ length: 40 }, (_, i) => `X-Slow-${i}: 1\r\n`), '\r\n'], 400);
    expect(slow.body.error.code).toBe('REQUEST_TIMEOUT');
    expectContractCode(slow.body.error.code, slow.status);
  });

  it('a tus chunk with a wrong Upload-Checksum is refused with a contract code (460 CHECKSUM_MISMATCH)', async () => {
    const user = await newUser(api);
    const tus = { authorization: `Bearer ${user.accessToken}`, 'tus-resumable': '1.0.0' };
    const created = await fetch(`${suite.server.url}/api/v1/uploads`, {
      method: 'POST',
      headers: { ...tus, 'upload-length': '4', 'upload-metadata': `filename ${Buffer.from('a.bin').toString('base64')},purpose ${Buffer.from('attachment').toString('base64')}` },
    });
    expect(created.status).toBe(201);
    const uploadUrl = new URL(created.headers.get('location') ?? '', suite.server.url).href;
    const wrongDigest = `sha1 ${createHash('sha1').update('other').digest('base64')}`;
    const res = await fetch(uploadUrl, {
      method: 'PATCH',
      headers: { ...tus, 'upload-offset': '0', 'content-type': 'application/offset+octet-stream', 'upload-checksum': wrongDigest },
      body: Buffer.from('abcd'),
    });
    const body = (await res.json()) as { error: { code: string } };
    expect(body.error.code).toBe('CHECKSUM_MISMATCH');
    expectContractCode(body.error.code, res.status);
  });

  it('a refused socket event acks a contract code, and a refused handshake carries an error body', async () => {
    const alice = await connectedUser(suite.server.url);
    const ack = await alice.client.emitRaw('typing', { conversationId: '', typing: true });
    if (ack.ok) throw new Error('an empty conversationId was accepted');
    expect(ack.error.code).toBe('VALIDATION_FAILED');
    expectContractCode(ack.error.code);
    alice.client.disconnect();

    const socket = io(suite.server.url, { path: '/socket.io', transports: ['websocket'], auth: { token: 'not-a-token' }, reconnection: false, forceNew: true });
    const refusal = await new Promise<Error & { data?: { code?: unknown; message?: unknown } }>((resolve) => socket.once('connect_error', resolve));
    socket.close();
    expect(refusal.message).toBe('UNAUTHORIZED');
    expect(refusal.data).toEqual({ code: 'UNAUTHORIZED', message: expect.any(String) });
    expectContractCode(refusal.data?.code);
  });

  it('an AI reply that fails mid-stream sends an SSE error event with a contract code', async () => {
    const user = await newUser(api);
    const conversation = await api('POST', '/ai/conversations', { token: user.accessToken, body: {} });
    expect(conversation.status).toBe(201);
    fake!.enqueue({ kind: 'fail', status: 401 });
    const response = await fetch(`${suite.server.url}/api/v1/ai/conversations/${conversation.body.id}/messages`, {
      method: 'POST',
      headers: { authorization: `Bearer ${user.accessToken}`, 'content-type': 'application/json', accept: 'text/event-stream' },
      body: JSON.stringify({ content: 'hello' }),
    });
    const text = await response.text();
    const errorEvent = /event: error\ndata: (.*)\n/.exec(text)?.[1];
    if (!errorEvent) throw new Error(`no SSE error event in ${text}`);
    const data = JSON.parse(errorEvent) as { code: string; message: string; messageId: string };
    expect(data).toMatchObject({ code: 'AI_PROVIDER_UNAUTHORIZED', message: expect.any(String), messageId: expect.any(String) });
    expectContractCode(data.code);
  });

  it('the OpenAPI error schema enumerates exactly the contract codes', async () => {
    const res = await fetch(`${suite.server.url}/openapi.json`);
    expect(res.status).toBe(200);
    const enums = codeEnums(await res.json());
    expect(enums.length).toBeGreaterThan(0);
    for (const codes of enums) expect(codes).toEqual([...ERROR_CODES]);
  });
});

describe('docs/api.md lists the error contract', () => {
  it('gives every code exactly once, with the status the server sends it with', () => {
    const doc = readFileSync(new URL('../docs/api.md', import.meta.url), 'utf8');
    const section = doc.slice(doc.indexOf('\n## Errors'), doc.indexOf('\n## ', doc.indexOf('\n## Errors') + 1));
    const rows = [...section.matchAll(/^\| `([A-Z_]+)` \| (\d{3}) \| (.+) \|$/gm)].map(([, code, status, meaning]) => ({ code, status: Number(status), meaning: meaning ?? '' }));
    expect(rows.map((row) => row.code).sort()).toEqual([...ERROR_CODES].sort());
    for (const row of rows) {
      expect(row.status, row.code).toBe(ERROR_STATUS[row.code as ErrorCode]);
      expect(row.meaning.trim().length, row.code).toBeGreaterThan(10);
    }
  });
});

describe('contributor docs name what exists', () => {
  it('every repository path docs/api.md and docs/architecture.md name is there', () => {
    for (const doc of ['docs/api.md', 'docs/architecture.md']) {
      const text = readFileSync(new URL(`../${doc}`, import.meta.url), 'utf8');
      const paths = [...text.matchAll(/`((?:src|test|docs|web|sql)\/[\w./-]+?)`/g)].map(([, path]) => path ?? '').filter((path) => !path.includes('<'));
      expect(paths.length, doc).toBeGreaterThan(0);
      for (const path of paths) expect(existsSync(new URL(`../${path}`, import.meta.url)), `${doc} names ${path}`).toBe(true);
    }
  });
});

describe('socket handlers are typed by event name', () => {
  it('a misspelt event, a schema of another payload or a wrong ack type does not compile', () => {
    // Never called: the type check (`tsc`, `.ci/run`) fails when a line marked @ts-expect-error
    // compiles, i.e. when onEvent stops taking names, payloads and acks from the contract.
    const registrations = (socket: Socket, log: Logger) => {
      onEvent(socket, 'typing', TypingPayload, log, async (payload) => (payload.typing ? null : null));
      // @ts-expect-error 'typo' is not an event of ClientToServerEvents
      onEvent(socket, 'typo', TypingPayload, log, async () => null);
      // @ts-expect-error ReadPayload does not validate typing's payload
      onEvent(socket, 'typing', ReadPayload, log, async () => null);
      // @ts-expect-error typing is acked with null
      onEvent(socket, 'typing', TypingPayload, log, async () => 'done');
    };
    expect(registrations).toBeTypeOf('function');
  });

  it('CLIENT_EVENTS (which the fuzzers walk) lists every event of ClientToServerEvents', () => {
    // A compile-time check: an event typed in the map but missing from the list fails `tsc` here.
    type Unlisted = Exclude<keyof ClientToServerEvents, (typeof CLIENT_EVENTS)[number]>;
    const everyEventListed: [Unlisted] extends [never] ? true : Unlisted = true;
    expect(everyEventListed).toBe(true);
    expect(new Set(CLIENT_EVENTS).size).toBe(CLIENT_EVENTS.length);
  });
});
