import type { FastifyReply, FastifyRequest } from 'fastify';
import { bearer, NoContent, responses } from '../../platform/http/route-helpers.js';
import { actorOf, type HttpApp } from '../../platform/http/server.js';
import { AppError, errorBody, isAppError } from '../../shared/errors.js';
import type { AiAssistant } from './ai.assistant.js';
import {
  AiConversation,
  AiModelList,
  AskBody,
  AssistantInfo,
  ConversationListQuery,
  ConversationPage,
  ConversationParams,
  ConversationWithMessages,
  CreateConversationBody,
  MessageListQuery,
  MessagePage,
  ReplyResult,
  RetryBody,
  RetryParams,
  SuggestionsBody,
  SuggestionsResult,
} from './ai.schemas.js';
import type { AiService, PreparedReply } from './ai.service.js';

/** Keeps idle SSE connections alive through proxies that drop silent ones. */
const HEARTBEAT_MS = 15_000;

function wantsEventStream(request: FastifyRequest): boolean {
  const accept = request.headers.accept;
  return typeof accept === 'string' && accept.includes('text/event-stream');
}

/**
 * Answers a prepared reply as Server-Sent Events: `delta` {text} for each piece as it arrives,
 * then `done` {message, usage} or `error` {code, message, messageId}. The reply is hijacked and
 * written straight to the socket so nothing buffers it; a client that goes away aborts the
 * upstream request.
 */
async function streamReply(ai: AiService, prepared: PreparedReply, request: FastifyRequest, reply: FastifyReply, status: number): Promise<void> {
  const raw = reply.raw;
  reply.hijack();
  // Headers plugins already set (CORS, request id, security headers) still apply.
  for (const [name, value] of Object.entries(reply.getHeaders())) if (value !== undefined) raw.setHeader(name, value);
  // Set by an onSend hook, which a hijacked reply skips.
  raw.setHeader('x-request-id', request.id);
  raw.writeHead(status, {
    'content-type': 'text/event-stream; charset=utf-8',
    // no-transform: proxies and CDNs must not compress or rewrite (which buffers) the stream.
    'cache-control': 'no-cache, no-transform',
    connection: 'keep-alive',
    // nginx: do not buffer this response.
    'x-accel-buffering': 'no',
  });
  raw.flushHeaders();
  const send = (event: string, data: unknown) => {
    if (!raw.destroyed && !raw.writableEnded) raw.write(`event: ${event}\ndata: ${JSON.stringify(data)}\n\n`);
  };
  const controller = new AbortController();
  const onClose = () => {
    if (!raw.writableEnded) controller.abort();
  };
  raw.on('close', onClose);
  const heartbeat = setInterval(() => {
    if (!raw.destroyed && !raw.writableEnded) raw.write(': keep-alive\n\n');
  }, HEARTBEAT_MS);
  try {
    send('start', { conversationId: prepared.conversationId, messageId: String(prepared.assistant.id), userMessage: prepared.userMessage, model: prepared.model });
    const result = await ai.generate(prepared, (text) => send('delta', { text }), controller);
    send('done', { message: result.message, usage: result.usage });
  } catch (error) {
    const appError = isAppError(error) ? error : new AppError('INTERNAL', 'internal error');
    send('error', { ...errorBody(appError), messageId: String(prepared.assistant.id) });
  } finally {
    clearInterval(heartbeat);
    raw.off('close', onClose);
    if (!raw.destroyed && !raw.writableEnded) raw.end();
  }
}

/** SSE when asked for, otherwise the whole reply as JSON (errors with their AI code and HTTP status). */
async function answer(ai: AiService, prepared: PreparedReply, request: FastifyRequest, reply: FastifyReply, status: number) {
  if (wantsEventStream(request)) return streamReply(ai, prepared, request, reply, status);
  const controller = new AbortController();
  // A client that gives up on the JSON answer stops the upstream request too.
  const onClose = () => {
    if (!reply.raw.writableEnded) controller.abort();
  };
  reply.raw.on('close', onClose);
  try {
    return reply.status(status).send(await ai.generate(prepared, () => {}, controller));
  } finally {
    reply.raw.off('close', onClose);
  }
}

export function aiRoutes(ai: AiService, assistant: AiAssistant | undefined) {
  return async (app: HttpApp) => {
    app.addHook('preValidation', app.authenticate);
    // Without a provider every AI route says which variables to set (after auth, before validation).
    app.addHook('preValidation', async () => ai.requireAvailable());
    const security = bearer;
    const tags = ['ai'];

    app.get(
      '/ai/models',
      {
        schema: {
          tags,
          security,
          summary: 'Configured models (`provider/model`), the default one, and each provider with its default model',
          description:
            "Wherever a request takes `model`, it may pass a `provider/model` from `items` or a provider `name` alone, which means that provider's `defaultModel`. Unknown ones are refused with 400 VALIDATION_FAILED.",
          response: responses({ 200: AiModelList }, [401, 503]),
        },
      },
      async () => ai.models(),
    );
    app.post(
      '/ai/conversations',
      { schema: { tags, security, summary: 'Start an AI conversation', body: CreateConversationBody, response: responses({ 201: AiConversation }, [401, 503]) } },
      async (request, reply) => reply.status(201).send(await ai.createConversation(actorOf(request), request.body ?? {})),
    );
    app.get(
      '/ai/conversations',
      {
        schema: {
          tags,
          security,
          summary: "The caller's AI conversations, newest first",
          querystring: ConversationListQuery,
          response: responses({ 200: ConversationPage }, [401, 503]),
        },
      },
      async (request) => ai.listConversations(actorOf(request), request.query),
    );
    app.get(
      '/ai/conversations/:id',
      {
        schema: {
          tags,
          security,
          summary: 'One AI conversation with its messages, oldest first',
          params: ConversationParams,
          response: responses({ 200: ConversationWithMessages }, [401, 404, 503]),
        },
      },
      async (request) => ai.getConversation(actorOf(request), request.params.id),
    );
    app.get(
      '/ai/conversations/:id/messages',
      {
        schema: {
          tags,
          security,
          summary: "An AI conversation's messages, newest first (paged)",
          params: ConversationParams,
          querystring: MessageListQuery,
          response: responses({ 200: MessagePage }, [401, 404, 503]),
        },
      },
      async (request) => ai.listMessages(actorOf(request), request.params.id, request.query),
    );
    app.delete(
      '/ai/conversations/:id',
      { schema: { tags, security, summary: 'Delete an AI conversation and its messages', params: ConversationParams, response: responses({ 204: NoContent }, [401, 404, 503]) } },
      async (request, reply) => {
        await ai.deleteConversation(actorOf(request), request.params.id);
        return reply.status(204).send();
      },
    );
    app.post(
      '/ai/conversations/:id/messages',
      {
        schema: {
          tags,
          security,
          summary: 'Ask: with `Accept: text/event-stream` the reply streams as SSE (`start`, `delta`…, then `done` or `error`); otherwise the whole reply',
          params: ConversationParams,
          body: AskBody,
          response: responses({ 201: ReplyResult }, [401, 404, 413, 429, 502, 503, 504]),
        },
      },
      async (request, reply) => answer(ai, await ai.prepareReply(actorOf(request), request.params.id, request.body), request, reply, 201),
    );
    app.post(
      '/ai/conversations/:id/messages/:messageId/retry',
      {
        schema: {
          tags,
          security,
          summary: 'Generate a failed reply again, in place (same history before it); SSE or JSON like asking',
          params: RetryParams,
          body: RetryBody,
          response: responses({ 200: ReplyResult }, [401, 404, 409, 429, 502, 503, 504]),
        },
      },
      async (request, reply) => answer(ai, await ai.prepareRetry(actorOf(request), request.params.id, request.params.messageId, request.body?.model), request, reply, 200),
    );
    app.post(
      '/ai/suggestions',
      {
        schema: {
          tags,
          security,
          summary: 'Three short replies the caller might send next in a chat conversation',
          body: SuggestionsBody,
          response: responses({ 200: SuggestionsResult }, [401, 404, 429, 502, 503, 504]),
        },
      },
      async (request) => ai.suggest(actorOf(request), request.body.conversationId, request.body.model),
    );
    app.get(
      '/ai/assistant',
      { schema: { tags, security, summary: 'The assistant bot user and the caller’s private conversation with it', response: responses({ 200: AssistantInfo }, [401, 503]) } },
      async (request) => {
        if (!assistant) throw new AppError('UNAVAILABLE', 'the AI assistant is not running');
        return assistant.info(actorOf(request));
      },
    );
  };
}
