/**
 * The one file that knows the Vercel AI SDK: it turns the configured providers into an
 * `LlmProvider` (stream chat turns, get text deltas and usage back) and maps every provider
 * failure to a stable `AiErrorCode`. The rest of the module sees only the small interface below.
 */
import type { LanguageModel } from 'ai';
import type { AiProviderConfig } from '../../config.js';

/**
 * The SDK and its providers, loaded on the first reply: together they add about 10 MiB to the
 * process, which a server without AI keys (or before anyone asks) should not carry.
 */
async function importSdk() {
  const [ai, deepseek, google, openaiCompatible, xai] = await Promise.all([
    import('ai'),
    import('@ai-sdk/deepseek'),
    import('@ai-sdk/google'),
    import('@ai-sdk/openai-compatible'),
    import('@ai-sdk/xai'),
  ]);
  return {
    APICallError: ai.APICallError,
    streamText: ai.streamText,
    createDeepSeek: deepseek.createDeepSeek,
    createGoogleGenerativeAI: google.createGoogleGenerativeAI,
    createOpenAICompatible: openaiCompatible.createOpenAICompatible,
    createXai: xai.createXai,
  };
}
type Sdk = Awaited<ReturnType<typeof importSdk>>;
let sdkLoading: Promise<Sdk> | undefined;
const loadSdk = () => (sdkLoading ??= importSdk());

export interface ChatTurn {
  role: 'system' | 'user' | 'assistant';
  content: string;
}

export interface LlmUsage {
  inputTokens: number | null;
  outputTokens: number | null;
}

export type LlmEvent = { type: 'delta'; text: string } | { type: 'done'; usage: LlmUsage };

export interface LlmStreamOptions {
  /** `provider/model`, one of `models()`. */
  model: string;
  maxOutputTokens: number;
  /** Aborting it closes the upstream HTTP request; the stream then throws `AI_CANCELLED`. */
  abortSignal?: AbortSignal;
  /** The whole request (connect, first token, every token) must finish within this time, else `AI_TIMEOUT`. */
  timeoutMs: number;
}

export interface LlmModel {
  /** `provider/model`, what clients pass. */
  id: string;
  provider: string;
  model: string;
}

/** A configured provider and the models it offers (names without the `provider/` prefix). */
export interface LlmProviderInfo {
  name: string;
  /** The model a request naming only the provider gets. */
  defaultModel: string;
  models: string[];
}

/** What the AI service needs from a model provider. */
export interface LlmProvider {
  models(): LlmModel[];
  providers(): LlmProviderInfo[];
  /** Streams the reply to `turns`: text deltas in order, then one `done`. Throws `LlmError` on any failure. */
  stream(turns: ChatTurn[], options: LlmStreamOptions): AsyncIterable<LlmEvent>;
}

/** Stable codes for provider failures, sent in `ai_error` / SSE `error` events and error bodies. */
export type AiErrorCode = 'AI_PROVIDER_UNAUTHORIZED' | 'AI_PROVIDER_RATE_LIMITED' | 'AI_PROVIDER_ERROR' | 'AI_TIMEOUT' | 'AI_BAD_RESPONSE' | 'AI_CANCELLED';

export class LlmError extends Error {
  override readonly name = 'LlmError';
  constructor(
    readonly code: AiErrorCode,
    message: string,
    /** The provider's HTTP status, when it answered with one. */
    readonly upstreamStatus?: number,
  ) {
    super(message);
  }
}

function modelFor(sdk: Sdk, provider: AiProviderConfig, model: string): LanguageModel {
  const { createDeepSeek, createGoogleGenerativeAI, createOpenAICompatible, createXai } = sdk;
  switch (provider.kind) {
    case 'gemini':
      return createGoogleGenerativeAI({ apiKey: provider.apiKey, baseURL: provider.baseUrl, name: provider.name })(model);
    case 'deepseek':
      return createDeepSeek({ apiKey: provider.apiKey, baseURL: provider.baseUrl }).chat(model);
    case 'grok':
      // The chat-completions endpoint (not the Responses API): streamed deltas and usage, like the others.
      return createXai({ apiKey: provider.apiKey, baseURL: provider.baseUrl }).chat(model);
    case 'openai-compatible':
      return createOpenAICompatible({ name: provider.name, apiKey: provider.apiKey, baseURL: provider.baseUrl, includeUsage: true }).chatModel(model);
  }
}

/** Maps whatever the SDK threw or streamed as an error part to a stable code. */
function normaliseLlmError(sdk: Sdk, error: unknown, reason: { timedOut: boolean; cancelled: boolean }): LlmError {
  if (error instanceof LlmError) return error;
  if (reason.timedOut) return new LlmError('AI_TIMEOUT', 'the AI provider did not finish in time');
  if (reason.cancelled) return new LlmError('AI_CANCELLED', 'the reply was cancelled');
  if (sdk.APICallError.isInstance(error)) {
    const status = error.statusCode;
    if (status === 401 || status === 403) return new LlmError('AI_PROVIDER_UNAUTHORIZED', 'the AI provider refused the API key; check the configured key', status);
    if (status === 429) return new LlmError('AI_PROVIDER_RATE_LIMITED', 'the AI provider is rate limiting this server; retry later', status);
    if (status === undefined) return new LlmError('AI_PROVIDER_ERROR', 'the AI provider could not be reached');
    if (status >= 500) return new LlmError('AI_PROVIDER_ERROR', `the AI provider failed (HTTP ${status})`, status);
    return new LlmError('AI_PROVIDER_ERROR', `the AI provider refused the request (HTTP ${status})`, status);
  }
  // JSON parse and type validation errors of stream chunks, empty bodies, unknown parts.
  return new LlmError('AI_BAD_RESPONSE', 'the AI provider sent a response that could not be read');
}

/** An LlmProvider over the configured providers; model ids are `provider/model`. */
export function createLlmProvider(providers: readonly AiProviderConfig[]): LlmProvider {
  const byName = new Map(providers.map((provider) => [provider.name, provider]));
  const models: LlmModel[] = providers.flatMap((provider) => provider.models.map((model) => ({ id: `${provider.name}/${model}`, provider: provider.name, model })));
  // The first model a provider lists is its default: `<NAME>_MODEL` for the built-in ones, the
  // first of `models` for an AI_PROVIDERS entry.
  const infos: LlmProviderInfo[] = providers.map((provider) => ({ name: provider.name, defaultModel: provider.models[0] as string, models: [...provider.models] }));
  const cache = new Map<string, LanguageModel>();

  function resolve(sdk: Sdk, id: string): LanguageModel {
    let model = cache.get(id);
    if (model) return model;
    const slash = id.indexOf('/');
    const provider = byName.get(id.slice(0, slash));
    const name = id.slice(slash + 1);
    if (slash < 0 || !provider || !provider.models.includes(name)) throw new LlmError('AI_PROVIDER_ERROR', `unknown model ${id}`);
    model = modelFor(sdk, provider, name);
    cache.set(id, model);
    return model;
  }

  return {
    models: () => models,
    providers: () => infos,

    async *stream(turns, options) {
      const sdk = await loadSdk();
      const model = resolve(sdk, options.model);
      const timeout = new AbortController();
      const timer = setTimeout(() => timeout.abort(new Error('AI_TIMEOUT')), options.timeoutMs);
      const signal = options.abortSignal ? AbortSignal.any([options.abortSignal, timeout.signal]) : timeout.signal;
      const reason = () => ({ timedOut: timeout.signal.aborted, cancelled: options.abortSignal?.aborted ?? false });
      const system = turns
        .filter((turn) => turn.role === 'system')
        .map((turn) => turn.content)
        .join('\n\n');
      const messages = turns.filter((turn) => turn.role !== 'system').map((turn) => ({ role: turn.role as 'user' | 'assistant', content: turn.content }));
      try {
        const result = sdk.streamText({
          model,
          ...(system ? { system } : {}),
          messages,
          maxOutputTokens: options.maxOutputTokens,
          abortSignal: signal,
          // Retries would hide a 429 or 5xx behind seconds of back-off; the client decides to retry.
          maxRetries: 0,
          // Errors arrive as `error` parts below; without this the SDK logs them to the console.
          onError: () => {},
        });
        for await (const part of result.fullStream) {
          if (part.type === 'text-delta') {
            if (part.text) yield { type: 'delta', text: part.text };
          } else if (part.type === 'error') {
            throw normaliseLlmError(sdk, part.error, reason());
          } else if (part.type === 'abort') {
            throw normaliseLlmError(sdk, undefined, reason());
          } else if (part.type === 'finish') {
            if (part.finishReason === 'error') throw new LlmError('AI_BAD_RESPONSE', 'the AI provider ended the reply with an error');
            yield { type: 'done', usage: { inputTokens: part.totalUsage.inputTokens ?? null, outputTokens: part.totalUsage.outputTokens ?? null } };
            return;
          }
        }
        if (signal.aborted) throw normaliseLlmError(sdk, undefined, reason());
        throw new LlmError('AI_BAD_RESPONSE', 'the AI provider closed the stream before finishing');
      } catch (error) {
        throw normaliseLlmError(sdk, error, reason());
      } finally {
        clearTimeout(timer);
      }
    },
  };
}
