import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type AiChunkEvent, type AiConversation, type AiErrorEvent, type AiMessage, type Message, ParleyError, streamAiReply } from '../src/client/index.js';
import { estimateTokens } from '../src/modules/ai/ai.tokens.js';
import { type FakeBehaviour, type FakeLlm, type RecordedRequest, signal, startFakeLlm } from './support/fake-llm.js';
import { type Api, type ApiResponse, apiClient, expectError, newUser, type TestUser } from './support/http.js';
import { collect, connectedUser, nextEvent, registerClient, secondDevice } from './support/realtime.js';
import { type Overrides, storageLabel } from './support/server.js';
import { useTestServer } from './support/suite.js';

// ---- helpers ----

interface SseEvent {
  event: string;
  data: any;
}

/** Reads Server-Sent Events from a fetch response as they arrive. */
async function* sseEvents(response: Response): AsyncGenerator<SseEvent> {
  const reader = (response.body as ReadableStream<Uint8Array>).getReader();
  const decoder = new TextDecoder();
  let buffer = '';
  for (;;) {
    const { value, done } = await reader.read();
    if (done) return;
    buffer += decoder.decode(value, { stream: true });
    for (let end = buffer.indexOf('\n\n'); end >= 0; end = buffer.indexOf('\n\n')) {
      const block = buffer.slice(0, end);
      buffer = buffer.slice(end + 2);
      let event = 'message';
      const data: string[] = [];
      for (const line of block.split('\n')) {
        if (line.startsWith('event: ')) event = line.slice(7);
        else if (line.startsWith('data: ')) data.push(line.slice(6));
      }
      if (data.length > 0) yield { event, data: JSON.parse(data.join('\n')) };
    }
  }
}

function askStream(url: string, token: string, conversationId: string, body: unknown, signal?: AbortSignal, path = `/conversations/${conversationId}/messages`): Promise<Response> {
  return fetch(`${url}/api/v1/ai${path}`, {
    method: 'POST',
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json', accept: 'text/event-stream' },
    body: JSON.stringify(body),
    signal,
  });
}

/** Every SSE event of a request until the stream ends. */
async function askAll(url: string, token: string, conversationId: string, body: unknown, path?: string): Promise<{ response: Response; events: SseEvent[] }> {
  const response = await askStream(url, token, conversationId, body, undefined, path);
  const events: SseEvent[] = [];
  if (response.headers.get('content-type')?.startsWith('text/event-stream')) for await (const event of sseEvents(response)) events.push(event);
  return { response, events };
}

async function newConversation(api: Api, user: TestUser, body: Record<string, unknown> = {}): Promise<string> {
  const res = await api('POST', '/ai/conversations', { token: user.accessToken, body });
  expect(res.status).toBe(201);
  return res.body.id;
}

async function eventually<T>(read: () => Promise<T>, accept: (value: T) => boolean, timeoutMs = 5000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await read();
    if (accept(value)) return value;
    if (Date.now() > deadline) throw new Error(`condition not met; last value ${JSON.stringify(value)}`);
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

function aiEnv(fake: FakeLlm, extra: Overrides = {}): Overrides {
  return {
    DEEPSEEK_API_KEY: 'deepseek-test-key',
    DEEPSEEK_BASE_URL: fake.openaiBaseUrl,
    GROK_API_KEY: 'grok-test-key',
    GROK_BASE_URL: fake.openaiBaseUrl,
    DOUBAO_API_KEY: 'doubao-test-key',
    DOUBAO_BASE_URL: fake.openaiBaseUrl,
    DOUBAO_MODEL: 'doubao-test',
    GEMINI_API_KEY: 'gemini-test-key',
    GEMINI_BASE_URL: fake.geminiBaseUrl,
    AI_PROVIDERS: JSON.stringify([{ name: 'local', baseUrl: fake.openaiBaseUrl, apiKey: 'local-key', models: ['m1', 'm2'] }]),
    // A provider name alone: its default model, deepseek/deepseek-chat.
    AI_DEFAULT_MODEL: 'deepseek',
    AI_CONTEXT_TOKENS: '300',
    AI_MODEL_CONTEXT_TOKENS: JSON.stringify({ 'grok/grok-3-mini': 260 }),
    AI_TIMEOUT: '2',
    AI_RATE_LIMIT_MAX: '10000',
    ...extra,
  };
}

// ---- suites ----

describe(`AI without any provider configured (${storageLabel})`, () => {
  const suite = useTestServer();
  const { api } = suite;

  it('answers every AI route with 503 UNAVAILABLE naming the variables to set', async () => {
    const user = await newUser(api);
    const calls: Array<[string, string, unknown?]> = [
      ['GET', '/ai/models'],
      ['POST', '/ai/conversations', {}],
      ['GET', '/ai/conversations'],
      ['GET', '/ai/conversations/abc'],
      ['DELETE', '/ai/conversations/abc'],
      ['POST', '/ai/conversations/abc/messages', { content: 'hi' }],
      ['POST', '/ai/conversations/abc/messages/1/retry', {}],
      ['POST', '/ai/suggestions', { conversationId: 'd.a.b' }],
      ['GET', '/ai/assistant'],
    ];
    for (const [method, path, body] of calls) {
      const error = expectError(await api(method, path, { token: user.accessToken, body }), 503, 'UNAVAILABLE');
      expect(error.message).toContain('DEEPSEEK_API_KEY');
      expect(error.message).toContain('GEMINI_API_KEY');
    }
    // Still authenticated first.
    expectError(await api('GET', '/ai/models'), 401, 'UNAUTHORIZED');
  });

  it('answers ai_chat with UNAVAILABLE over the socket', async () => {
    const user = await connectedUser(suite.server.url);
    const ack = await user.client.emitRaw('ai_chat', { content: 'hello' });
    expect(ack).toMatchObject({ ok: false, error: { code: 'UNAVAILABLE' } });
    user.client.disconnect();
  });
});

describe(`AI with providers pointed at a fake (${storageLabel})`, () => {
  let fake: FakeLlm;
  let alice: TestUser;
  const suite = useTestServer(async () => {
    fake = await startFakeLlm();
    return aiEnv(fake);
  });
  const { api } = suite;
  beforeAll(async () => {
    alice = await newUser(api);
  });
  afterAll(async () => {
    await fake?.close();
  });

  it('lists the configured models as provider/model with the default marked', async () => {
    const res = await api('GET', '/ai/models', { token: alice.accessToken });
    expect(res.status).toBe(200);
    expect(res.body.default).toBe('deepseek/deepseek-chat');
    expect(res.body.items.map((m: { id: string }) => m.id)).toEqual([
      'doubao/doubao-test',
      'gemini/gemini-2.5-flash',
      'deepseek/deepseek-chat',
      'grok/grok-3-mini',
      'local/m1',
      'local/m2',
    ]);
    expect(res.body.items.find((m: { id: string }) => m.id === 'deepseek/deepseek-chat')).toMatchObject({ provider: 'deepseek', model: 'deepseek-chat', default: true });
    expect(res.body.items.filter((m: { default: boolean }) => m.default)).toHaveLength(1);
    // Documented in the OpenAPI description like every route.
    const openapi = await api('GET', '/openapi.json');
    expect(openapi.status).toBe(200);
    for (const path of [
      '/api/v1/ai/models',
      '/api/v1/ai/conversations/{id}/messages',
      '/api/v1/ai/conversations/{id}/messages/{messageId}/retry',
      '/api/v1/ai/suggestions',
      '/api/v1/ai/assistant',
    ]) {
      expect(Object.keys(openapi.body.paths)).toContain(path);
    }
  });

  for (const [model, format, key] of [
    ['deepseek/deepseek-chat', 'openai', 'deepseek-test-key'],
    ['grok/grok-3-mini', 'openai', 'grok-test-key'],
    ['doubao/doubao-test', 'openai', 'doubao-test-key'],
    ['local/m2', 'openai', 'local-key'],
    ['gemini/gemini-2.5-flash', 'gemini', 'gemini-test-key'],
  ] as const) {
    it(`streams ${model} over SSE: deltas in order, then done with the stored message and usage`, async () => {
      const conversationId = await newConversation(api, alice, { model });
      fake.enqueue({ kind: 'reply', chunks: ['你好', '，', 'Parley', ' 👋', '!'], usage: { input: 17, output: 5 } });
      const requested = fake.nextRequest();
      const { response, events } = await askAll(suite.server.url, alice.accessToken, conversationId, { content: '打个招呼' });
      expect(response.status).toBe(201);
      expect(response.headers.get('content-type')).toBe('text/event-stream; charset=utf-8');
      expect(response.headers.get('cache-control')).toBe('no-cache, no-transform');
      expect(response.headers.get('x-accel-buffering')).toBe('no');
      expect(response.headers.get('x-request-id')).toBeTruthy();
      expect(events.map((e) => e.event)).toEqual(['start', 'delta', 'delta', 'delta', 'delta', 'delta', 'done']);
      expect(events.filter((e) => e.event === 'delta').map((e) => e.data.text)).toEqual(['你好', '，', 'Parley', ' 👋', '!']);
      const done = events.at(-1)?.data;
      expect(done.message).toMatchObject({ role: 'assistant', status: 'complete', content: '你好，Parley 👋!', model, conversationId, error: null });
      expect(done.usage).toEqual({ inputTokens: 17, outputTokens: 5, totalTokens: 22, estimated: false });

      const request = await requested;
      expect(request.format).toBe(format);
      if (format === 'openai') {
        expect(request.headers.authorization).toBe(`Bearer ${key}`);
        expect(request.body).toMatchObject({ model: model.split('/')[1], stream: true });
      } else {
        expect(request.headers['x-goog-api-key']).toBe(key);
        expect(request.path).toBe('/v1beta/models/gemini-2.5-flash:streamGenerateContent?alt=sse');
      }
      expect(request.turns.at(-1)).toEqual({ role: 'user', content: '打个招呼' });
      expect(request.turns[0]).toEqual({ role: 'system', content: 'You are Parley Assistant, a helpful, concise assistant inside a chat app.' });

      const stored = await api('GET', `/ai/conversations/${conversationId}`, { token: alice.accessToken });
      expect(stored.body.messages.map((m: { role: string; status: string; content: string }) => [m.role, m.status, m.content])).toEqual([
        ['user', 'complete', '打个招呼'],
        ['assistant', 'complete', '你好，Parley 👋!'],
      ]);
      expect(stored.body.messages[1].usage).toMatchObject({ inputTokens: 17, outputTokens: 5 });
    });
  }

  it('streams through the SDK (streamAiReply), which surfaces AI errors with their code and retries', async () => {
    const { client } = await registerClient(suite.server.url);
    const conversation = await client.request<{ id: string }>('POST', '/ai/conversations', {});
    const deltas: string[] = [];
    const starts: string[] = [];
    fake.enqueue({ kind: 'reply', chunks: ['S', 'D', 'K'] });
    const result = await streamAiReply(client, conversation.id, { content: 'sdk?' }, { onStart: (e) => starts.push(e.messageId), onDelta: (text) => deltas.push(text) });
    expect(deltas).toEqual(['S', 'D', 'K']);
    expect(result.message).toMatchObject({ id: starts[0], content: 'SDK', status: 'complete' });
    fake.enqueue({ kind: 'fail', status: 429 });
    const failure = await streamAiReply(client, conversation.id, { content: 'again' }).catch((error: unknown) => error);
    expect(failure).toBeInstanceOf(ParleyError);
    expect(failure).toMatchObject({ code: 'AI_PROVIDER_RATE_LIMITED', details: { messageId: expect.any(String) } });
    const retried = await streamAiReply(client, conversation.id, { retryMessageId: (failure as ParleyError & { details: { messageId: string } }).details.messageId });
    expect(retried.message).toMatchObject({ content: 'Hello, world!', status: 'complete' });
    await expect(streamAiReply(client, 'no-such-conversation', { content: 'x' })).rejects.toMatchObject({ code: 'NOT_FOUND', status: 404 });
  });

  it('lists each provider with its default model and the models it offers', async () => {
    const res = await api('GET', '/ai/models', { token: alice.accessToken });
    expect(res.body.providers).toEqual([
      { name: 'doubao', defaultModel: 'doubao/doubao-test', models: ['doubao/doubao-test'] },
      { name: 'gemini', defaultModel: 'gemini/gemini-2.5-flash', models: ['gemini/gemini-2.5-flash'] },
      { name: 'deepseek', defaultModel: 'deepseek/deepseek-chat', models: ['deepseek/deepseek-chat'] },
      { name: 'grok', defaultModel: 'grok/grok-3-mini', models: ['grok/grok-3-mini'] },
      // An AI_PROVIDERS entry's default is the first model it lists.
      { name: 'local', defaultModel: 'local/m1', models: ['local/m1', 'local/m2'] },
    ]);
  });

  it('streams a reply for "model": "deepseek" through the SDK, stored as the provider default deepseek/deepseek-chat', async () => {
    const { client } = await registerClient(suite.server.url);
    // A provider name alone when creating the conversation is stored resolved too.
    const conversation = await client.request<AiConversation>('POST', '/ai/conversations', { model: 'local' });
    expect(conversation.model).toBe('local/m1');
    fake.enqueue({ kind: 'reply', chunks: ['Deep', 'Seek'] });
    const requested = fake.nextRequest();
    const deltas: string[] = [];
    const starts: string[] = [];
    const result = await streamAiReply(
      client,
      conversation.id,
      { content: 'which model?', model: 'deepseek' },
      { onStart: (e) => starts.push(e.model), onDelta: (text) => deltas.push(text) },
    );
    expect(starts).toEqual(['deepseek/deepseek-chat']);
    expect(deltas).toEqual(['Deep', 'Seek']);
    expect(result.message).toMatchObject({ role: 'assistant', content: 'DeepSeek', status: 'complete', model: 'deepseek/deepseek-chat' });
    const request = await requested;
    expect(request.headers.authorization).toBe('Bearer deepseek-test-key');
    expect(request.body).toMatchObject({ model: 'deepseek-chat', stream: true });
    const stored = await client.request<AiConversation & { messages: AiMessage[] }>('GET', `/ai/conversations/${conversation.id}`);
    expect(stored.model).toBe('local/m1');
    expect(stored.messages.map((m) => [m.role, m.model])).toEqual([
      ['user', null],
      ['assistant', 'deepseek/deepseek-chat'],
    ]);
  });

  it('takes a provider name alone on ai_chat, retry and suggestions, and refuses an unknown one with VALIDATION_FAILED', async () => {
    const user = await connectedUser(suite.server.url);
    const done = nextEvent(user.socket, 'ai_done');
    const ack = await user.client.emit('ai_chat', { content: 'hello gemini', model: 'gemini' });
    expect((await done).message).toMatchObject({ id: ack.messageId, status: 'complete', model: 'gemini/gemini-2.5-flash' });
    const chat = await user.client.request<AiConversation>('GET', `/ai/conversations/${ack.conversationId}`);
    expect(chat.model).toBe('gemini/gemini-2.5-flash');

    fake.enqueue({ kind: 'fail', status: 500 });
    const failed = await streamAiReply(user.client, ack.conversationId, { content: 'fail once' }).catch((error: ParleyError) => error);
    expect(failed).toMatchObject({ code: 'AI_PROVIDER_ERROR' });
    const failedId = (failed as ParleyError & { details: { messageId: string } }).details.messageId;
    const beforeRefusal = fake.requests.length;
    expectError(
      await api('POST', `/ai/conversations/${ack.conversationId}/messages/${failedId}/retry`, { token: user.client.accessToken as string, body: { model: 'nope' } }),
      400,
      'VALIDATION_FAILED',
    );
    expect(fake.requests.length).toBe(beforeRefusal);
    const viaGrok = fake.nextRequest();
    const retried = await streamAiReply(user.client, ack.conversationId, { retryMessageId: failedId, model: 'grok' });
    expect(retried.message).toMatchObject({ id: failedId, status: 'complete', model: 'grok/grok-3-mini' });
    expect((await viaGrok).headers.authorization).toBe('Bearer grok-test-key');

    const peer = await registerClient(suite.server.url);
    const { id: chatId } = await user.client.request<{ id: string }>('POST', '/conversations', { peerId: peer.id });
    await peer.client.connect();
    await peer.client.emit('chat', { conversationId: chatId, type: 'text', content: 'lunch?', clientMsgId: 'provider-alone-1' });
    await user.client.request('PATCH', '/users/me', { smartReplies: true });
    const viaLocal = fake.nextRequest();
    const suggested = await user.client.request<{ suggestions: string[] }>('POST', '/ai/suggestions', { conversationId: chatId, model: 'local' });
    expect(suggested.suggestions).toHaveLength(3);
    expect((await viaLocal).body).toMatchObject({ model: 'm1' });

    // Unknown providers and models are refused before anything reaches a provider.
    const sent = fake.requests.length;
    const token = user.client.accessToken as string;
    const unknownProvider = expectError(await api('POST', '/ai/conversations', { token, body: { model: 'nope' } }), 400, 'VALIDATION_FAILED');
    expect(unknownProvider.message).toContain('"nope"');
    expect(unknownProvider.message).toContain('deepseek');
    expect(unknownProvider.details).toEqual([expect.objectContaining({ field: 'model' })]);
    const unknownModel = expectError(
      await api('POST', `/ai/conversations/${ack.conversationId}/messages`, { token, body: { content: 'hi', model: 'deepseek/nope' } }),
      400,
      'VALIDATION_FAILED',
    );
    expect(unknownModel.message).toContain('deepseek/deepseek-chat');
    expectError(await api('POST', '/ai/suggestions', { token, body: { conversationId: chatId, model: 'nope' } }), 400, 'VALIDATION_FAILED');
    expect(await user.client.emitRaw('ai_chat', { content: 'hi', model: 'nope' })).toMatchObject({ ok: false, error: { code: 'VALIDATION_FAILED' } });
    expect(fake.requests.length).toBe(sent);
    user.client.disconnect();
    peer.client.disconnect();
  });

  it('returns the whole reply as JSON without Accept: text/event-stream', async () => {
    const conversationId = await newConversation(api, alice);
    const res = await api('POST', `/ai/conversations/${conversationId}/messages`, { token: alice.accessToken, body: { content: 'hi', model: 'grok/grok-3-mini' } });
    expect(res.status).toBe(201);
    expect(res.body.userMessage).toMatchObject({ role: 'user', content: 'hi', status: 'complete' });
    expect(res.body.message).toMatchObject({ role: 'assistant', content: 'Hello, world!', status: 'complete', model: 'grok/grok-3-mini' });
    expect(res.body.usage.totalTokens).toBeGreaterThan(0);
  });

  it('delivers the first SSE event before the provider has finished (streamed, not buffered)', async () => {
    const conversationId = await newConversation(api, alice);
    const release = signal();
    fake.enqueue({ kind: 'reply', chunks: ['first', ' second', ' third'], holdAfter: 1, release: release.promise });
    const requested = fake.nextRequest();
    const response = await askStream(suite.server.url, alice.accessToken, conversationId, { content: 'stream please' });
    // next() by hand: breaking out of for-await would close the stream.
    const events = sseEvents(response);
    let first: SseEvent | undefined;
    while (!first) {
      const { value, done } = await events.next();
      if (done) break;
      if (value.event === 'delta') first = value;
    }
    const request = await requested;
    // The fake is still holding the rest of its answer: it only goes on once we say so.
    expect(first?.data.text).toBe('first');
    expect(request.finished).toBe(false);
    release.fire();
    const rest: SseEvent[] = [];
    for (let next = await events.next(); !next.done; next = await events.next()) rest.push(next.value);
    expect(rest.map((e) => e.event)).toEqual(['delta', 'delta', 'done']);
    expect(rest.at(-1)?.data.message.content).toBe('first second third');
    expect(request.finished).toBe(true);
  });

  it('streams ai_chat over Socket.IO: ack, then ai_chunk in order to every device, then ai_done', async () => {
    const user = await connectedUser(suite.server.url);
    const other = await secondDevice(suite.server.url, user);
    const chunks = collect(user.socket, 'ai_chunk');
    const otherChunks = collect(other.socket as NonNullable<typeof other.socket>, 'ai_chunk');
    fake.enqueue({ kind: 'reply', chunks: ['one', ' two', ' three', ' four'] });
    const done = nextEvent(user.socket, 'ai_done');
    const otherDone = nextEvent(other.socket as NonNullable<typeof other.socket>, 'ai_done');
    const ack = await user.client.emit('ai_chat', { content: 'count to four', model: 'gemini/gemini-2.5-flash' });
    expect(ack.requestId).toBeTruthy();
    expect(ack.conversationId).toBeTruthy();
    expect(ack.userMessage).toMatchObject({ role: 'user', content: 'count to four' });
    const finished = await done;
    await otherDone;
    expect(finished).toMatchObject({
      requestId: ack.requestId,
      message: { id: ack.messageId, content: 'one two three four', status: 'complete', model: 'gemini/gemini-2.5-flash' },
    });
    for (const received of [chunks, otherChunks]) {
      expect(received.map((c: AiChunkEvent) => c.delta)).toEqual(['one', ' two', ' three', ' four']);
      expect(new Set(received.map((c: AiChunkEvent) => c.requestId))).toEqual(new Set([ack.requestId]));
    }
    // The conversation was created and titled from the question; a follow-up continues it.
    const listed = await user.client.request<{ items: Array<{ id: string; title: string }> }>('GET', '/ai/conversations');
    expect(listed.items).toEqual([expect.objectContaining({ id: ack.conversationId, title: 'count to four' })]);
    const requested = fake.nextRequest();
    const followUp = nextEvent(user.socket, 'ai_done');
    await user.client.emit('ai_chat', { conversationId: ack.conversationId, content: 'and five?' });
    await followUp;
    expect((await requested).turns.slice(1)).toEqual([
      { role: 'user', content: 'count to four' },
      { role: 'assistant', content: 'one two three four' },
      { role: 'user', content: 'and five?' },
    ]);
    user.client.disconnect();
    other.disconnect();
  });

  it('sends the system prompt and as much recent history as fits the token budget, oldest dropped first', async () => {
    const conversationId = await newConversation(api, alice, { systemPrompt: 'Be brief.' });
    // 240 ASCII characters ≈ 80 tokens (+4 per message); replies "Hello, world!" ≈ 5 (+4).
    const question = (n: number) => `m${n} ${'x'.repeat(236)}`;
    for (let n = 1; n <= 4; n++) {
      const res = await api('POST', `/ai/conversations/${conversationId}/messages`, { token: alice.accessToken, body: { content: question(n) } });
      expect(res.status).toBe(201);
    }
    const requested = fake.nextRequest();
    await api('POST', `/ai/conversations/${conversationId}/messages`, { token: alice.accessToken, body: { content: question(5) } });
    const { turns } = await requested;
    // Budget 300: system 7 + m5 84 + reply 9 + m4 84 + reply 9 + m3 84 = 277; m2 would pass it.
    expect(turns).toEqual([
      { role: 'system', content: 'Be brief.' },
      { role: 'user', content: question(3) },
      { role: 'assistant', content: 'Hello, world!' },
      { role: 'user', content: question(4) },
      { role: 'assistant', content: 'Hello, world!' },
      { role: 'user', content: question(5) },
    ]);
    const estimate = turns.reduce((sum, turn) => sum + estimateTokens(turn.content) + 4, 0);
    expect(estimate).toBeLessThanOrEqual(300);
    // A model with its own, smaller budget (AI_MODEL_CONTEXT_TOKENS: grok 260) gets less history:
    // system 7 + m6 84 + reply 9 + m5 84 + reply 9 = 193, m4 would make it 277. With the default
    // budget (300) m4 and its reply would still be sent.
    const smaller = fake.nextRequest();
    await api('POST', `/ai/conversations/${conversationId}/messages`, { token: alice.accessToken, body: { content: question(6), model: 'grok/grok-3-mini' } });
    expect((await smaller).turns.map((t) => t.content.slice(0, 2))).toEqual(['Be', 'm5', 'He', 'm6']);
    const larger = fake.nextRequest();
    await api('POST', `/ai/conversations/${conversationId}/messages`, { token: alice.accessToken, body: { content: question(7) } });
    expect((await larger).turns.map((t) => t.content.slice(0, 2))).toEqual(['Be', 'm5', 'He', 'm6', 'He', 'm7']);
    // CJK characters count one token each: 290 of them cannot fit next to the system prompt.
    expect(estimateTokens('王'.repeat(290))).toBe(290);
    const before = fake.requests.length;
    expectError(await api('POST', `/ai/conversations/${conversationId}/messages`, { token: alice.accessToken, body: { content: '王'.repeat(290) } }), 413, 'PAYLOAD_TOO_LARGE');
    expect(fake.requests.length).toBe(before);
    const stored = await api('GET', `/ai/conversations/${conversationId}`, { token: alice.accessToken });
    expect(stored.body.messages.some((m: { content: string }) => m.content.startsWith('王'))).toBe(false);
  });

  it('ai_cancel stops the reply: the upstream request is closed and the message is stored as failed', async () => {
    const user = await connectedUser(suite.server.url);
    fake.enqueue({ kind: 'stall', chunks: ['partial'] });
    const requested = fake.nextRequest();
    const firstChunk = nextEvent(user.socket, 'ai_chunk');
    const failed = nextEvent(user.socket, 'ai_error');
    const ack = await user.client.emit('ai_chat', { content: 'write a long essay' });
    expect((await firstChunk).delta).toBe('partial');
    const request = await requested;
    expect(await user.client.emit('ai_cancel', { requestId: ack.requestId })).toEqual({ cancelled: true });
    await request.aborted;
    expect(request.wasAborted).toBe(true);
    const error: AiErrorEvent = await failed;
    expect(error).toMatchObject({ requestId: ack.requestId, messageId: ack.messageId, error: { code: 'AI_CANCELLED' } });
    const stored = await user.client.request<{ messages: Array<{ id: string; status: string; content: string; error: { code: string } | null }> }>(
      'GET',
      `/ai/conversations/${ack.conversationId}`,
    );
    expect(stored.messages.at(-1)).toMatchObject({ id: ack.messageId, status: 'failed', content: 'partial', error: { code: 'AI_CANCELLED' } });
    // Someone else's request id cancels nothing.
    const stranger = await connectedUser(suite.server.url);
    expect(await stranger.client.emit('ai_cancel', { requestId: ack.requestId })).toEqual({ cancelled: false });
    user.client.disconnect();
    stranger.client.disconnect();
  });

  it('a closed SSE connection closes the upstream request and stores the reply as failed', async () => {
    const conversationId = await newConversation(api, alice);
    fake.enqueue({ kind: 'stall', chunks: ['half an ans'] });
    const requested = fake.nextRequest();
    const client = new AbortController();
    const response = await askStream(suite.server.url, alice.accessToken, conversationId, { content: 'tell me' }, client.signal);
    let messageId = '';
    for await (const event of sseEvents(response)) {
      if (event.event === 'start') messageId = event.data.messageId;
      if (event.event === 'delta') break;
    }
    client.abort();
    const request = await requested;
    await request.aborted;
    expect(request.wasAborted).toBe(true);
    const stored = await eventually(
      () => api('GET', `/ai/conversations/${conversationId}`, { token: alice.accessToken }),
      (res) => res.body.messages.at(-1)?.status === 'failed',
    );
    expect(stored.body.messages.at(-1)).toMatchObject({ id: messageId, status: 'failed', content: 'half an ans', error: { code: 'AI_CANCELLED' } });
  });

  const errorCases: Array<[FakeBehaviour, string, number]> = [
    [{ kind: 'fail', status: 401 }, 'AI_PROVIDER_UNAUTHORIZED', 502],
    [{ kind: 'fail', status: 403 }, 'AI_PROVIDER_UNAUTHORIZED', 502],
    [{ kind: 'fail', status: 429 }, 'AI_PROVIDER_RATE_LIMITED', 502],
    [{ kind: 'fail', status: 500 }, 'AI_PROVIDER_ERROR', 502],
    [{ kind: 'fail', status: 503 }, 'AI_PROVIDER_ERROR', 502],
    [{ kind: 'malformed', chunks: ['ok so far'] }, 'AI_BAD_RESPONSE', 502],
  ];
  for (const [behaviour, code, status] of errorCases) {
    const label = behaviour.kind === 'fail' ? `HTTP ${behaviour.status}` : 'a malformed stream';
    for (const model of ['deepseek/deepseek-chat', 'gemini/gemini-2.5-flash']) {
      it(`maps ${label} from ${model} to ${code} (SSE error event, JSON status ${status}, socket ai_error)`, async () => {
        const conversationId = await newConversation(api, alice, { model });
        fake.enqueue(behaviour);
        const { events } = await askAll(suite.server.url, alice.accessToken, conversationId, { content: 'hi' });
        const last = events.at(-1);
        expect(last?.event).toBe('error');
        expect(last?.data).toMatchObject({ code, messageId: expect.any(String) });
        expect(typeof last?.data.message).toBe('string');

        fake.enqueue(behaviour);
        expectError(await api('POST', `/ai/conversations/${conversationId}/messages`, { token: alice.accessToken, body: { content: 'hi again' } }), status, code);

        const user = await connectedUser(suite.server.url);
        fake.enqueue(behaviour);
        const failed = nextEvent(user.socket, 'ai_error');
        const ack = await user.client.emit('ai_chat', { content: 'hi socket', model });
        expect(await failed).toMatchObject({ requestId: ack.requestId, error: { code } });
        user.client.disconnect();
      });
    }
  }

  it('gives up with AI_TIMEOUT when the provider stalls, and stores the reply as failed', async () => {
    const conversationId = await newConversation(api, alice);
    fake.enqueue({ kind: 'stall' });
    const requested = fake.nextRequest();
    const { events } = await askAll(suite.server.url, alice.accessToken, conversationId, { content: 'are you there?' });
    expect(events.at(-1)).toMatchObject({ event: 'error', data: { code: 'AI_TIMEOUT' } });
    const request = await requested;
    await request.aborted;
    expect(request.wasAborted).toBe(true);
    const stored = await api('GET', `/ai/conversations/${conversationId}`, { token: alice.accessToken });
    expect(stored.body.messages.at(-1)).toMatchObject({ status: 'failed', error: { code: 'AI_TIMEOUT' } });
  });

  it('retries a failed reply in place with the same history', async () => {
    const conversationId = await newConversation(api, alice);
    await api('POST', `/ai/conversations/${conversationId}/messages`, { token: alice.accessToken, body: { content: 'first question' } });
    fake.enqueue({ kind: 'malformed', chunks: ['Half'] });
    const { events } = await askAll(suite.server.url, alice.accessToken, conversationId, { content: 'second question' });
    const failedId = events.at(-1)?.data.messageId as string;
    expect(events.at(-1)).toMatchObject({ event: 'error', data: { code: 'AI_BAD_RESPONSE' } });
    const before = await api('GET', `/ai/conversations/${conversationId}`, { token: alice.accessToken });
    expect(before.body.messages.at(-1)).toMatchObject({ id: failedId, status: 'failed', content: 'Half', error: { code: 'AI_BAD_RESPONSE' } });

    fake.enqueue({ kind: 'reply', chunks: ['Second', ' answer'] });
    const requested = fake.nextRequest();
    const retried = await askAll(suite.server.url, alice.accessToken, conversationId, { model: 'grok/grok-3-mini' }, `/conversations/${conversationId}/messages/${failedId}/retry`);
    expect(retried.response.status).toBe(200);
    expect(retried.events.at(-1)).toMatchObject({
      event: 'done',
      data: { message: { id: failedId, status: 'complete', content: 'Second answer', model: 'grok/grok-3-mini', error: null } },
    });
    expect((await requested).turns.slice(1)).toEqual([
      { role: 'user', content: 'first question' },
      { role: 'assistant', content: 'Hello, world!' },
      { role: 'user', content: 'second question' },
    ]);
    const after = await api('GET', `/ai/conversations/${conversationId}`, { token: alice.accessToken });
    expect(after.body.messages.map((m: { id: string; status: string }) => m.status)).toEqual(['complete', 'complete', 'complete', 'complete']);
    expect(after.body.messages.at(-1).id).toBe(failedId);
    // A complete reply is not retried; an unknown one is not found.
    expectError(await api('POST', `/ai/conversations/${conversationId}/messages/${failedId}/retry`, { token: alice.accessToken, body: {} }), 409, 'CONFLICT');
    expectError(await api('POST', `/ai/conversations/${conversationId}/messages/999999/retry`, { token: alice.accessToken, body: {} }), 404, 'NOT_FOUND');
  });

  it('marks replies left streaming by a stopped process as failed at start, so they can be retried', async () => {
    const conversationId = await newConversation(api, alice);
    await api('POST', `/ai/conversations/${conversationId}/messages`, { token: alice.accessToken, body: { content: 'before the crash' } });
    // What a process killed mid-reply leaves behind: a question and a reply still `streaming`.
    const { db } = suite.server.app.database;
    const startedAt = Date.now() - 3_600_000;
    await db
      .insertInto('ai_messages')
      .values({ conversation_id: conversationId, role: 'user', content: 'during the crash', status: 'complete', created_at: startedAt, completed_at: startedAt })
      .execute();
    await db
      .insertInto('ai_messages')
      .values({ conversation_id: conversationId, role: 'assistant', content: 'half', status: 'streaming', model: 'deepseek/deepseek-chat', created_at: startedAt })
      .execute();
    expect(await suite.server.app.services.ai.recoverInterrupted()).toBe(1);
    const stored = await api('GET', `/ai/conversations/${conversationId}`, { token: alice.accessToken });
    const interrupted = stored.body.messages.at(-1);
    expect(interrupted).toMatchObject({ status: 'failed', content: 'half', error: { code: 'AI_CANCELLED' } });
    const retried = await api('POST', `/ai/conversations/${conversationId}/messages/${interrupted.id}/retry`, { token: alice.accessToken, body: {} });
    expect(retried.status).toBe(200);
    expect(retried.body.message).toMatchObject({ id: interrupted.id, status: 'complete', content: 'Hello, world!' });
    // A reply that is streaming right now is left alone.
    fake.enqueue({ kind: 'stall', chunks: ['still going'] });
    const client = new AbortController();
    const response = await askStream(suite.server.url, alice.accessToken, conversationId, { content: 'and now?' }, client.signal);
    const events = sseEvents(response);
    for (let next = await events.next(); next.value?.event !== 'delta'; next = await events.next()) if (next.done) throw new Error('stream ended early');
    expect(await suite.server.app.services.ai.recoverInterrupted()).toBe(0);
    const live = await api('GET', `/ai/conversations/${conversationId}`, { token: alice.accessToken });
    expect(live.body.messages.at(-1)).toMatchObject({ status: 'streaming' });
    client.abort();
    await eventually(
      () => api('GET', `/ai/conversations/${conversationId}`, { token: alice.accessToken }),
      (res) => res.body.messages.at(-1)?.status === 'failed',
    );
  });

  it('keeps AI conversations private to their owner', async () => {
    const conversationId = await newConversation(api, alice);
    const mallory = await newUser(api);
    expectError(await api('GET', `/ai/conversations/${conversationId}`, { token: mallory.accessToken }), 404, 'NOT_FOUND');
    expectError(await api('POST', `/ai/conversations/${conversationId}/messages`, { token: mallory.accessToken, body: { content: 'hi' } }), 404, 'NOT_FOUND');
    expectError(await api('DELETE', `/ai/conversations/${conversationId}`, { token: mallory.accessToken }), 404, 'NOT_FOUND');
    expect((await api('GET', '/ai/conversations', { token: mallory.accessToken })).body).toEqual({ items: [], nextCursor: null });
    expectError(await api('POST', '/ai/conversations', { token: alice.accessToken, body: { model: 'nope/none' } }), 400, 'VALIDATION_FAILED');
    expect((await api('DELETE', `/ai/conversations/${conversationId}`, { token: alice.accessToken })).status).toBe(204);
    expectError(await api('GET', `/ai/conversations/${conversationId}`, { token: alice.accessToken }), 404, 'NOT_FOUND');
  });

  it("pages a conversation's messages newest first with cursor, to the end and none twice, to its owner only", async () => {
    const conversationId = await newConversation(api, alice);
    for (let i = 0; i < 3; i++)
      expect((await api('POST', `/ai/conversations/${conversationId}/messages`, { token: alice.accessToken, body: { content: `question ${i}` } })).status).toBe(201);
    const everything = (await api('GET', `/ai/conversations/${conversationId}`, { token: alice.accessToken })).body.messages as Array<{ id: string }>;
    expect(everything).toHaveLength(6);
    const seen: string[] = [];
    const sizes: number[] = [];
    let cursor: string | null = null;
    do {
      const res: ApiResponse<{ items: Array<{ id: string }>; nextCursor: string | null }> = await api(
        'GET',
        `/ai/conversations/${conversationId}/messages?limit=4${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`,
        { token: alice.accessToken },
      );
      expect(res.status).toBe(200);
      sizes.push(res.body.items.length);
      seen.push(...res.body.items.map((m) => m.id));
      cursor = res.body.nextCursor;
    } while (cursor !== null && sizes.length < 5);
    expect(sizes).toEqual([4, 2]);
    expect(seen).toEqual(everything.map((m) => m.id).reverse());
    expectError(await api('GET', `/ai/conversations/${conversationId}/messages?cursor=garbage`, { token: alice.accessToken }), 400, 'VALIDATION_FAILED');
    const mallory = await newUser(api);
    expectError(await api('GET', `/ai/conversations/${conversationId}/messages`, { token: mallory.accessToken }), 404, 'NOT_FOUND');
  });

  it('suggests exactly 3 short replies from the last chat messages, to members who turned smart replies on only', async () => {
    const li = await connectedUser(suite.server.url);
    const wang = await connectedUser(suite.server.url);
    const { id: chatId } = await li.client.request<{ id: string }>('POST', '/conversations', { peerId: wang.id });
    await wang.client.emit('chat', { conversationId: chatId, type: 'text', content: '明天一起吃午饭吗？', clientMsgId: 'lunch-1' });
    await li.client.emit('chat', { conversationId: chatId, type: 'text', content: '几点？', clientMsgId: 'lunch-2' });
    await wang.client.emit('chat', { conversationId: chatId, type: 'text', content: '十二点半，老地方', clientMsgId: 'lunch-3' });

    // Smart replies are off until the user turns them on: refused, and nothing reaches the model.
    const before = fake.requests.length;
    expectError(await api('POST', '/ai/suggestions', { token: li.client.accessToken as string, body: { conversationId: chatId } }), 403, 'FORBIDDEN');
    expect(fake.requests.length).toBe(before);
    const me = await li.client.request<{ profile: { smartReplies: boolean } }>('PATCH', '/users/me', { smartReplies: true });
    expect(me.profile.smartReplies).toBe(true);

    fake.enqueue({ kind: 'reply', chunks: ['Sure:\n```json\n["好的，', '到时见", "没问题！", "我可能会晚到一点", "第四个"]\n```'] });
    const requested = fake.nextRequest();
    const res = await li.client.request<{ suggestions: string[] }>('POST', '/ai/suggestions', { conversationId: chatId });
    expect(res.suggestions).toEqual(['好的，到时见', '没问题！', '我可能会晚到一点']);
    const prompt = (await requested).turns.map((t: RecordedRequest['turns'][number]) => t.content).join('\n');
    expect(prompt).toContain('Them: 明天一起吃午饭吗？');
    expect(prompt).toContain('Me: 几点？');
    expect(prompt).toContain('Them: 十二点半，老地方');
    expect(prompt).toContain('language');

    // Numbered lines instead of JSON, and too few of them: still exactly 3 strings.
    fake.enqueue({ kind: 'reply', chunks: ['Here are some replies:\n1. "好啊"\n2. 好啊\n'] });
    const viaGemini = fake.nextRequest();
    const fewer = await li.client.request<{ suggestions: string[] }>('POST', '/ai/suggestions', { conversationId: chatId, model: 'gemini/gemini-2.5-flash' });
    expect((await viaGemini).format).toBe('gemini');
    expect(fewer.suggestions).toHaveLength(3);
    expect(fewer.suggestions[0]).toBe('好啊');
    expect(new Set(fewer.suggestions).size).toBe(3);
    for (const suggestion of fewer.suggestions) expect(suggestion.trim()).not.toBe('');

    // Someone outside the conversation learns nothing, and nothing is sent to the model.
    const outsider = await newUser(api);
    await api('PATCH', '/users/me', { token: outsider.accessToken, body: { smartReplies: true } });
    const sent = fake.requests.length;
    expectError(await api('POST', '/ai/suggestions', { token: outsider.accessToken, body: { conversationId: chatId } }), 404, 'NOT_FOUND');
    expect(fake.requests.length).toBe(sent);
    li.client.disconnect();
    wang.client.disconnect();
  });

  it('runs an assistant bot in chat: its reply streams in as chat then message_updated events', async () => {
    const user = await connectedUser(suite.server.url);
    const info = await user.client.request<{ user: { id: string; username: string; nickname: string }; conversationId: string }>('GET', '/ai/assistant');
    expect(info.user).toMatchObject({ username: 'assistant', nickname: 'Parley Assistant', isGuest: false });
    expect(info.conversationId).toContain(info.user.id);
    // Nobody can log in as the bot.
    expectError(await api('POST', '/auth/login', { body: { username: 'assistant', password: 'correct horse battery' } }), 401, 'UNAUTHORIZED');
    // It is a contact like any other: the conversation shows up with the bot as peer.
    const conversations = await user.client.request<{ items: Array<{ id: string; peer?: { id: string } }> }>('GET', '/conversations');
    expect(conversations.items.find((c) => c.id === info.conversationId)?.peer?.id).toBe(info.user.id);
    // A friend request to it is refused at once (it would stay pending forever): people chat with it directly.
    const friendRequest = await api('POST', '/friend-requests', { token: user.client.accessToken ?? '', body: { toUserId: info.user.id } });
    expect(expectError(friendRequest, 403, 'FORBIDDEN').details).toEqual([{ field: 'toUserId', message: 'is the assistant: open a chat with it instead' }]);
    expect((await user.client.request<{ items: unknown[] }>('GET', '/friend-requests?direction=outgoing')).items).toEqual([]);

    const release = signal();
    fake.enqueue({ kind: 'reply', chunks: ['The answer', ' is', ' 42.'], holdAfter: 1, release: release.promise });
    const requested = fake.nextRequest();
    const botMessage = nextEvent(user.socket, 'chat', (m: Message) => m.senderId === info.user.id);
    const updates = collect(user.socket, 'message_updated');
    const firstUpdate = nextEvent(user.socket, 'message_updated', (e) => e.message.content === 'The answer');
    await user.client.emit('chat', { conversationId: info.conversationId, type: 'text', content: 'What is the answer?', clientMsgId: 'q-1' });
    const placeholder = await botMessage;
    expect(placeholder).toMatchObject({ conversationId: info.conversationId, senderId: info.user.id, type: 'text' });
    // The first piece is shown while the model is still writing.
    await firstUpdate;
    const request = await requested;
    expect(request.finished).toBe(false);
    expect(request.turns[0]?.role).toBe('system');
    expect(request.turns.at(-1)).toEqual({ role: 'user', content: 'What is the answer?' });
    release.fire();
    const final = await nextEvent(user.socket, 'message_updated', (e) => e.message.content === 'The answer is 42.');
    expect(final.message.id).toBe(placeholder.id);
    expect(updates.every((e) => e.message.id === placeholder.id)).toBe(true);
    const history = await user.client.request<{ items: Message[] }>('GET', `/conversations/${info.conversationId}/messages`);
    expect(history.items.map((m) => [m.senderId, m.content])).toEqual([
      [info.user.id, 'The answer is 42.'],
      [user.id, 'What is the answer?'],
    ]);

    // The next question carries the earlier exchange as context.
    const next = fake.nextRequest();
    const second = nextEvent(user.socket, 'message_updated', (e) => e.message.content === 'Hello, world!');
    await user.client.emit('chat', { conversationId: info.conversationId, type: 'text', content: 'Thanks', clientMsgId: 'q-2' });
    await second;
    expect((await next).turns.slice(1)).toEqual([
      { role: 'user', content: 'What is the answer?' },
      { role: 'assistant', content: 'The answer is 42.' },
      { role: 'user', content: 'Thanks' },
    ]);

    // A provider failure shows up in the chat, not as silence.
    fake.enqueue({ kind: 'fail', status: 500 });
    const failure = nextEvent(user.socket, 'message_updated', (e) => e.message.content.includes('AI_PROVIDER_ERROR'));
    await user.client.emit('chat', { conversationId: info.conversationId, type: 'text', content: 'Again?', clientMsgId: 'q-3' });
    await failure;
    user.client.disconnect();
  });
});

describe(`AI rate limit and daily token quota (${storageLabel})`, () => {
  let fake: FakeLlm;
  const suite = useTestServer(async () => {
    fake = await startFakeLlm();
    fake.defaultReply = { kind: 'reply', chunks: ['ok'], usage: { input: 80, output: 30 } };
    return aiEnv(fake, { AI_RATE_LIMIT_MAX: '3', AI_RATE_LIMIT_WINDOW: '600', AI_DAILY_TOKEN_QUOTA: '200' });
  });
  const { api } = suite;
  afterAll(async () => {
    await fake?.close();
  });

  it('refuses the request past the per-user limit with 429 RATE_LIMITED and Retry-After', async () => {
    const user = await newUser(api);
    const conversationId = await newConversation(api, user);
    for (let i = 0; i < 3; i++) {
      fake.enqueue({ kind: 'reply', chunks: ['ok'], usage: { input: 1, output: 1 } });
      expect((await api('POST', `/ai/conversations/${conversationId}/messages`, { token: user.accessToken, body: { content: `q${i}` } })).status).toBe(201);
    }
    const sent = fake.requests.length;
    const refused = await api('POST', `/ai/conversations/${conversationId}/messages`, { token: user.accessToken, body: { content: 'one more' } });
    const error = expectError(refused, 429, 'RATE_LIMITED');
    expect(error.message).not.toContain('quota');
    expect(Number(refused.headers.get('retry-after'))).toBeGreaterThan(0);
    expect(fake.requests.length).toBe(sent);
    // Over the socket the same user is refused in the ack; another user is not affected.
    const again = await connectedUser(suite.server.url);
    expect((await api('POST', `/ai/conversations/${conversationId}/messages`, { token: user.accessToken, body: { content: 'still no' } })).status).toBe(429);
    const done = nextEvent(again.socket, 'ai_done');
    expect((await again.client.emit('ai_chat', { content: 'hi' })).requestId).toBeTruthy();
    await done;
    again.client.disconnect();
  });

  it('stops a user at the daily token quota until the next UTC day', async () => {
    const user = await connectedUser(suite.server.url);
    const token = user.client.accessToken as string;
    const conversationId = await newConversation(api, { accessToken: token } as TestUser);
    // 110 tokens per reply: 0 → 110 → 220; the next request finds the quota (200) used up.
    for (let i = 0; i < 2; i++) {
      expect((await api('POST', `/ai/conversations/${conversationId}/messages`, { token, body: { content: `q${i}` } })).status).toBe(201);
    }
    const sent = fake.requests.length;
    const quota = await api('POST', `/ai/conversations/${conversationId}/messages`, { token, body: { content: 'over quota' } });
    const error = expectError(quota, 429, 'RATE_LIMITED');
    expect(error.message).toContain('quota');
    expect(error.details).toEqual({ quota: 200, used: 220 });
    const retryAfter = Number(quota.headers.get('retry-after'));
    expect(retryAfter).toBeGreaterThan(0);
    expect(retryAfter).toBeLessThanOrEqual(86_400);
    const ack = await user.client.emitRaw('ai_chat', { conversationId, content: 'socket too' });
    expect(ack).toMatchObject({ ok: false, error: { code: 'RATE_LIMITED' } });
    expect(fake.requests.length).toBe(sent);
    user.client.disconnect();
  });
});

describe(`AI replies during a graceful shutdown (${storageLabel})`, () => {
  let fake: FakeLlm;
  const suite = useTestServer(async () => {
    fake = await startFakeLlm();
    return aiEnv(fake, { AI_TIMEOUT: '600' });
  });
  afterAll(async () => {
    await fake?.close();
  });

  it('ends a stream in progress with an error event and lets the server stop at once', async () => {
    const api = apiClient(suite.server.url);
    const user = await newUser(api);
    const conversationId = await newConversation(api, user);
    fake.enqueue({ kind: 'stall', chunks: ['never finished'] });
    const requested = fake.nextRequest();
    const response = await askStream(suite.server.url, user.accessToken, conversationId, { content: 'long job' });
    const events = sseEvents(response);
    for (let next = await events.next(); next.value?.event !== 'delta'; next = await events.next()) if (next.done) throw new Error('stream ended early');
    // The provider would stall for 10 minutes (AI_TIMEOUT 600): shutdown must not wait for it.
    const closed = suite.server.close();
    const rest: SseEvent[] = [];
    for (let next = await events.next(); !next.done; next = await events.next()) rest.push(next.value);
    expect(rest.at(-1)).toMatchObject({ event: 'error', data: { code: 'AI_CANCELLED' } });
    await closed;
    const request = await requested;
    await request.aborted;
    expect(request.wasAborted).toBe(true);
  });
});
