import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/**
 * A local stand-in for LLM providers, speaking their real wire formats so the real AI SDK provider
 * packages can be pointed at it with `*_BASE_URL`:
 * - OpenAI chat completions (Doubao/Ark, DeepSeek, Grok, any OpenAI-compatible):
 *   `POST {base}/chat/completions` with `stream: true` → `data: {choices:[{delta:{content}}]}` … `data: [DONE]`
 * - Gemini: `POST {base}/models/{model}:streamGenerateContent?alt=sse` → `data: {candidates:[{content:{parts:[{text}]}}]}`
 *
 * It records every request (body, headers, whether the client went away before the end) and plays
 * one scripted behaviour per request: queued ones first, then the default reply.
 */

export type FakeBehaviour =
  /** Streams these pieces, then finishes with usage. `holdAfter` pieces go out, then it waits for `release` before the rest. */
  | { kind: 'reply'; chunks: string[]; holdAfter?: number; release?: Promise<void>; usage?: { input: number; output: number } }
  /** Answers with an HTTP error status and the provider's error body. */
  | { kind: 'fail'; status: number; message?: string }
  /** Sends `chunks` (maybe none), then never another byte until the client goes away. */
  | { kind: 'stall'; chunks?: string[] }
  /** Sends `chunks`, then a line that is not JSON, then closes. */
  | { kind: 'malformed'; chunks?: string[] };

export interface RecordedRequest {
  /** 'openai' or 'gemini', from the path. */
  format: 'openai' | 'gemini';
  path: string;
  headers: IncomingMessage['headers'];
  body: any;
  /** Resolves when the client closed the connection before the fake finished its answer. */
  aborted: Promise<void>;
  wasAborted: boolean;
  /** True once the fake sent the end of its answer. */
  finished: boolean;
  /** Resolves when the fake finished answering (normally or by abort). */
  ended: Promise<void>;
  /** The messages the request carries as {role, content} pairs, whatever the format. */
  turns: Array<{ role: string; content: string }>;
}

export interface FakeLlm {
  /** Base URL for OpenAI-compatible providers, e.g. http://127.0.0.1:PORT/v1 */
  openaiBaseUrl: string;
  /** Base URL for Gemini, e.g. http://127.0.0.1:PORT/v1beta */
  geminiBaseUrl: string;
  requests: RecordedRequest[];
  /** Queues behaviours for the next requests, in order. */
  enqueue(...behaviours: FakeBehaviour[]): void;
  /** The reply used when the queue is empty. */
  defaultReply: FakeBehaviour;
  /** Resolves with the next request that arrives (or the n-th from now). */
  nextRequest(): Promise<RecordedRequest>;
  close(): Promise<void>;
}

function turnsOf(format: 'openai' | 'gemini', body: any): Array<{ role: string; content: string }> {
  if (format === 'openai') {
    return (body?.messages ?? []).map((m: { role: string; content: unknown }) => ({
      role: m.role,
      content: typeof m.content === 'string' ? m.content : Array.isArray(m.content) ? m.content.map((p: { text?: string }) => p.text ?? '').join('') : '',
    }));
  }
  const turns: Array<{ role: string; content: string }> = [];
  const system = body?.systemInstruction?.parts?.map((p: { text?: string }) => p.text ?? '').join('');
  if (system) turns.push({ role: 'system', content: system });
  for (const content of body?.contents ?? []) {
    turns.push({ role: content.role === 'model' ? 'assistant' : content.role, content: (content.parts ?? []).map((p: { text?: string }) => p.text ?? '').join('') });
  }
  return turns;
}

function openaiChunk(text: string): string {
  return `data: ${JSON.stringify({ id: 'chatcmpl-fake', object: 'chat.completion.chunk', created: 1, model: 'fake', choices: [{ index: 0, delta: { content: text }, finish_reason: null }] })}\n\n`;
}

function openaiFinish(usage: { input: number; output: number }): string {
  const finish = { id: 'chatcmpl-fake', object: 'chat.completion.chunk', created: 1, model: 'fake', choices: [{ index: 0, delta: {}, finish_reason: 'stop' }] };
  const usageChunk = {
    id: 'chatcmpl-fake',
    object: 'chat.completion.chunk',
    created: 1,
    model: 'fake',
    choices: [],
    usage: { prompt_tokens: usage.input, completion_tokens: usage.output, total_tokens: usage.input + usage.output },
  };
  return `data: ${JSON.stringify(finish)}\n\ndata: ${JSON.stringify(usageChunk)}\n\ndata: [DONE]\n\n`;
}

function geminiChunk(text: string): string {
  return `data: ${JSON.stringify({ candidates: [{ content: { role: 'model', parts: [{ text }] }, index: 0 }] })}\r\n\r\n`;
}

function geminiFinish(usage: { input: number; output: number }): string {
  const last = {
    candidates: [{ content: { role: 'model', parts: [{ text: '' }] }, finishReason: 'STOP', index: 0 }],
    usageMetadata: { promptTokenCount: usage.input, candidatesTokenCount: usage.output, totalTokenCount: usage.input + usage.output },
  };
  return `data: ${JSON.stringify(last)}\r\n\r\n`;
}

function errorBody(format: 'openai' | 'gemini', status: number, message: string): string {
  if (format === 'openai') return JSON.stringify({ error: { message, type: status === 401 ? 'authentication_error' : 'server_error', code: String(status) } });
  const statusName = status === 401 ? 'UNAUTHENTICATED' : status === 429 ? 'RESOURCE_EXHAUSTED' : 'INTERNAL';
  return JSON.stringify({ error: { code: status, message, status: statusName } });
}

export async function startFakeLlm(): Promise<FakeLlm> {
  const queue: FakeBehaviour[] = [];
  const requests: RecordedRequest[] = [];
  const waiters: Array<(request: RecordedRequest) => void> = [];
  const open = new Set<ServerResponse>();

  const fake: FakeLlm = {
    openaiBaseUrl: '',
    geminiBaseUrl: '',
    requests,
    enqueue: (...behaviours) => queue.push(...behaviours),
    defaultReply: { kind: 'reply', chunks: ['Hello', ', ', 'world', '!'] },
    nextRequest: () => new Promise((resolve) => waiters.push(resolve)),
    close: async () => {
      for (const response of open) response.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://fake');
    const format: 'openai' | 'gemini' | undefined = url.pathname.endsWith('/chat/completions')
      ? 'openai'
      : url.pathname.includes(':streamGenerateContent') || url.pathname.includes(':generateContent')
        ? 'gemini'
        : undefined;
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    if (!format || req.method !== 'POST') {
      res.writeHead(404).end();
      return;
    }
    let body: any = null;
    try {
      body = JSON.parse(Buffer.concat(chunks).toString('utf8'));
    } catch {
      res.writeHead(400).end();
      return;
    }
    let markAborted = () => {};
    let markEnded = () => {};
    const record: RecordedRequest = {
      format,
      path: url.pathname + url.search,
      headers: req.headers,
      body,
      wasAborted: false,
      finished: false,
      aborted: new Promise<void>((resolve) => {
        markAborted = resolve;
      }),
      ended: new Promise<void>((resolve) => {
        markEnded = resolve;
      }),
      turns: turnsOf(format, body),
    };
    open.add(res);
    res.on('close', () => {
      open.delete(res);
      if (!record.finished) {
        record.wasAborted = true;
        markAborted();
      }
      markEnded();
    });
    requests.push(record);
    for (const waiter of waiters.splice(0)) waiter(record);

    const behaviour = queue.shift() ?? fake.defaultReply;
    const chunk = format === 'openai' ? openaiChunk : geminiChunk;
    const finish = format === 'openai' ? openaiFinish : geminiFinish;
    if (behaviour.kind === 'fail') {
      record.finished = true;
      res.writeHead(behaviour.status, { 'content-type': 'application/json' }).end(errorBody(format, behaviour.status, behaviour.message ?? `fake failure ${behaviour.status}`));
      return;
    }
    res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache', connection: 'keep-alive' });
    const write = (text: string) => {
      if (!res.destroyed) res.write(text);
    };
    if (behaviour.kind === 'stall') {
      for (const piece of behaviour.chunks ?? []) write(chunk(piece));
      return; // never ends: only the client going away closes it
    }
    if (behaviour.kind === 'malformed') {
      for (const piece of behaviour.chunks ?? []) write(chunk(piece));
      write('data: {"choices": [{"delta": {"content": "broken\n\n');
      write('data: this is not json\n\n');
      record.finished = true;
      res.end();
      return;
    }
    const holdAfter = behaviour.holdAfter ?? behaviour.chunks.length;
    for (const [index, piece] of behaviour.chunks.entries()) {
      if (index === holdAfter && behaviour.release) {
        await Promise.race([behaviour.release, record.aborted]);
        if (record.wasAborted) return;
      }
      write(chunk(piece));
    }
    const output = behaviour.chunks.join('').length;
    write(finish(behaviour.usage ?? { input: 42, output }));
    record.finished = true;
    res.end();
  }

  const server: Server = createServer((req, res) => {
    handle(req, res).catch(() => res.destroy());
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  fake.openaiBaseUrl = `http://127.0.0.1:${port}/v1`;
  fake.geminiBaseUrl = `http://127.0.0.1:${port}/v1beta`;
  return fake;
}

/** A promise with its resolve function, for "wait for a signal" behaviours. */
export function signal(): { promise: Promise<void>; fire: () => void } {
  let fire = () => {};
  const promise = new Promise<void>((resolve) => {
    fire = resolve;
  });
  return { promise, fire };
}
