/**
 * Streaming an AI reply over Server-Sent Events with fetch (Node 20+ and browsers; EventSource
 * cannot POST or send an Authorization header). Socket users can emit `ai_chat` instead.
 */
import type { AiMessage, AiReplyResult } from '../contract/ai.js';
import { API_PREFIX } from '../contract/api.js';
import type { ErrorResponse } from '../contract/errors.js';
import type { ParleyClient } from './core.js';
import { ParleyError } from './core.js';

export interface AiStreamHandlers {
  /** The question is stored; `messageId` is the reply being written. */
  onStart?: (event: { conversationId: string; messageId: string; userMessage: AiMessage | null; model: string }) => void;
  /** The next piece of the reply, as the provider sends it. */
  onDelta?: (text: string) => void;
}

/**
 * Asks in an AI conversation (or, with `retryMessageId`, generates a failed reply again) and
 * streams the reply. Resolves with the stored message and usage; rejects with ParleyError
 * carrying the AI error code (`details.messageId` names the failed message, for a retry).
 * Aborting `signal` closes the stream, which cancels the reply on the server.
 */
export async function streamAiReply(
  client: ParleyClient,
  conversationId: string,
  input: { content?: string; model?: string; retryMessageId?: string },
  handlers: AiStreamHandlers = {},
  signal?: AbortSignal,
): Promise<Pick<AiReplyResult, 'message' | 'usage'>> {
  const base = `${client.baseUrl}${API_PREFIX}/ai/conversations/${encodeURIComponent(conversationId)}/messages`;
  const url = input.retryMessageId === undefined ? base : `${base}/${encodeURIComponent(input.retryMessageId)}/retry`;
  const body = input.retryMessageId === undefined ? { content: input.content, model: input.model } : { model: input.model };
  const headers: Record<string, string> = { 'content-type': 'application/json', accept: 'text/event-stream' };
  if (client.accessToken) headers.authorization = `Bearer ${client.accessToken}`;
  const response = await fetch(url, { method: 'POST', headers, body: JSON.stringify(body), signal });
  if (!response.ok || !response.body || !response.headers.get('content-type')?.startsWith('text/event-stream')) {
    const parsed = (await response.json().catch(() => null)) as Partial<ErrorResponse> | null;
    throw new ParleyError(parsed?.error?.code ?? 'INTERNAL', parsed?.error?.message ?? response.statusText, response.status, parsed?.error?.details);
  }
  const reader = response.body.getReader();
  const decoder = new TextDecoder();
  let buffer = '';
  for (;;) {
    const { value, done } = await reader.read();
    if (done) break;
    buffer += decoder.decode(value, { stream: true });
    for (let end = buffer.indexOf('\n\n'); end >= 0; end = buffer.indexOf('\n\n')) {
      const block = buffer.slice(0, end);
      buffer = buffer.slice(end + 2);
      const event = /^event: (.*)$/m.exec(block)?.[1];
      const data = block
        .split('\n')
        .filter((line) => line.startsWith('data: '))
        .map((line) => line.slice(6))
        .join('\n');
      if (!event || !data) continue; // comments (keep-alives)
      const payload = JSON.parse(data);
      if (event === 'start') handlers.onStart?.(payload);
      else if (event === 'delta') handlers.onDelta?.(payload.text);
      else if (event === 'done') {
        await reader.cancel().catch(() => {});
        return payload;
      } else if (event === 'error') {
        await reader.cancel().catch(() => {});
        throw new ParleyError(payload.code, payload.message, undefined, { messageId: payload.messageId });
      }
    }
  }
  throw new ParleyError('AI_BAD_RESPONSE', 'the event stream ended without done or error');
}
