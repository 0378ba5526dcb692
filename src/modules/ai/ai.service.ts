import { randomUUID } from 'node:crypto';
import type { AiChatAck, AiChatPayload, AiMessage, AiModelList, AiReplyResult, AiUsage } from '../../contract/ai.js';
import type { Message } from '../../contract/messages.js';
import type { Cache } from '../../platform/cache/cache.js';
import type { Logger } from '../../platform/logger.js';
import type { AiMetrics } from '../../platform/metrics/metrics.js';
import type { ClusterBus } from '../../platform/realtime/cluster-bus.js';
import type { Publisher } from '../../platform/realtime/publisher.js';
import type { Actor } from '../../shared/actor.js';
import type { Clock } from '../../shared/clock.js';
import { AppError, errorBody } from '../../shared/errors.js';
import { newId } from '../../shared/ids.js';
import { decodeIdCursor, encodeIdCursor, type Page } from '../../shared/pagination.js';
import type { AccessPolicy } from '../policy/index.js';
import type { AssistantModel } from './ai.assistant.js';
import { type AiLimitSettings, createAiLimits } from './ai.limits.js';
import { titleFrom, toAiMessage, toConversation } from './ai.mapping.js';
import { createModelCatalog } from './ai.models.js';
import { type ChatTurn, LlmError, type LlmProvider, type LlmUsage } from './ai.providers.js';
import type { AiConversationRow, AiMessageRow, AiRepository } from './ai.repository.js';
import { createRunningReplies } from './ai.running.js';
import type { AiConversation, AskBody, ConversationListQuery, CreateConversationBody, MessageListQuery } from './ai.schemas.js';
import { parseSuggestions, SUGGESTIONS_SYSTEM_PROMPT } from './ai.suggestions.js';
import { estimateTokens, estimateTurns, fitToBudget } from './ai.tokens.js';

/** The part of `config.ai` the service uses. */
export interface AiSettings extends AiLimitSettings {
  /** `provider/model`, or a provider name alone for its default model. */
  defaultModel?: string;
  systemPrompt: string;
  contextTokens: number;
  /** Budgets replacing `contextTokens` for some models (`provider/model` → tokens). */
  modelContextTokens?: Record<string, number>;
  maxOutputTokens: number;
  timeoutSec: number;
}

/** What suggestions need from messaging: the caller's view of a chat conversation (NOT_FOUND for non-members). */
export interface ChatHistoryReader {
  history(actor: Actor, conversationId: string, query: { limit?: number }): Promise<Page<Message>>;
}

export interface AiServiceDeps {
  repository: AiRepository;
  llm: LlmProvider;
  settings: AiSettings;
  cache: Cache;
  clock: Clock;
  publisher: Publisher;
  bus: ClusterBus;
  chats: ChatHistoryReader;
  /** Whether the user turned smart replies on (their profile): suggestions send a chat to a provider. */
  smartRepliesOn: (userId: string) => Promise<boolean>;
  /** Whose AI conversation is whose (the policy module). */
  policy: Pick<AccessPolicy, 'ownsAiConversation'>;
  log: Logger;
  /** Counts tokens per provider (metrics on). */
  metrics?: AiMetrics;
}

/** A reply ready to be generated: the stored assistant message (status `streaming`) and the prompt. */
export interface PreparedReply {
  userId: string;
  conversationId: string;
  userMessage: AiMessage | null;
  assistant: AiMessageRow;
  model: string;
  turns: ChatTurn[];
}

/** The whole reply, as `POST /ai/conversations/:id/messages` answers it without streaming. */
export type ReplyResult = AiReplyResult;

export const UNAVAILABLE_MESSAGE = 'AI is not configured on this server: set DOUBAO_API_KEY, GEMINI_API_KEY, DEEPSEEK_API_KEY or GROK_API_KEY (or AI_PROVIDERS) and restart';

/** Messages read from storage to build a prompt; the token budget usually keeps fewer. */
const HISTORY_ROWS = 200;

export function createAiService(deps: AiServiceDeps) {
  const { repository, llm, settings, cache, clock, publisher, bus, log } = deps;
  const catalog = createModelCatalog(llm, settings.defaultModel, log);
  const { available, defaultModel } = catalog;
  const limits = createAiLimits({ cache, clock, settings, log });
  const running = createRunningReplies({ bus, cache, log });

  function requireAvailable(): void {
    if (!available) throw new AppError('UNAVAILABLE', UNAVAILABLE_MESSAGE);
  }

  const resolveModel = catalog.resolve;

  async function checkLimits(userId: string): Promise<void> {
    requireAvailable();
    await limits.check(userId);
  }
  const recordUsage = limits.recordUsage;

  function usageOf(reported: LlmUsage | null, turns: ChatTurn[], text: string): AiUsage {
    const estimated = reported?.inputTokens == null || reported.outputTokens == null;
    const inputTokens = reported?.inputTokens ?? estimateTurns(turns);
    const outputTokens = reported?.outputTokens ?? estimateTokens(text);
    return { inputTokens, outputTokens, totalTokens: inputTokens + outputTokens, estimated };
  }

  /**
   * Streams `turns` and collects the text; `onDelta` sees each piece as it arrives. Failures are
   * LlmErrors; usage is what the provider reported, else an estimate.
   */
  async function complete(turns: ChatTurn[], model: string, onDelta: (text: string) => void, signal?: AbortSignal): Promise<{ text: string; usage: AiUsage }> {
    let text = '';
    let reported: LlmUsage | null = null;
    for await (const event of llm.stream(turns, { model, maxOutputTokens: settings.maxOutputTokens, abortSignal: signal, timeoutMs: settings.timeoutSec * 1000 })) {
      if (event.type === 'delta') {
        text += event.text;
        onDelta(event.text);
      } else reported = event.usage;
    }
    const usage = usageOf(reported, turns, text);
    // `model` is `provider/model`: the provider alone keeps the label set small.
    deps.metrics?.aiTokens(model.split('/')[0] ?? model, usage.inputTokens, usage.outputTokens);
    return { text, usage };
  }

  async function ownConversation(actor: Actor, id: string): Promise<AiConversationRow> {
    const row = await repository.findConversation(id);
    // Another user's conversation answers exactly like a missing one: ids cannot be probed.
    if (!row || !deps.policy.ownsAiConversation(actor.userId, row)) throw new AppError('NOT_FOUND', 'AI conversation not found');
    return row;
  }

  /** The prompt token budget for a model. */
  const budgetFor = (model: string) => settings.modelContextTokens?.[model] ?? settings.contextTokens;

  /**
   * System prompt + stored history before `beforeId` (complete messages only) + `next`, fitted to
   * the model's budget.
   */
  async function buildTurns(conversation: AiConversationRow, beforeId: number, model: string, next: ChatTurn[] = []): Promise<ChatTurn[]> {
    const rows = (await repository.recentMessages(conversation.id, beforeId, HISTORY_ROWS)).reverse();
    const history: ChatTurn[] = rows
      .filter((row) => row.status === 'complete' && row.content !== '')
      .map((row): ChatTurn => ({ role: row.role === 'assistant' ? 'assistant' : 'user', content: row.content }))
      .concat(next);
    return fitToBudget(conversation.system_prompt ?? settings.systemPrompt, history, budgetFor(model)).turns;
  }

  async function newAssistantMessage(conversationId: string, model: string): Promise<AiMessageRow> {
    return repository.insertMessage({ conversation_id: conversationId, role: 'assistant', content: '', status: 'streaming', model, created_at: clock.now().getTime() });
  }

  /** Stores the user's message and an empty assistant message, and builds the prompt. */
  async function prepare(actor: Actor, conversation: AiConversationRow, input: AskBody, limitsChecked = false): Promise<PreparedReply> {
    const model = resolveModel(input.model, conversation.model);
    if (!limitsChecked) await checkLimits(actor.userId);
    // Built before anything is stored: a message too long for the budget is refused and not kept.
    const turns = await buildTurns(conversation, Number.MAX_SAFE_INTEGER, model, [{ role: 'user', content: input.content }]);
    const now = clock.now().getTime();
    const userRow = await repository.insertMessage({
      conversation_id: conversation.id,
      role: 'user',
      content: input.content,
      status: 'complete',
      model: null,
      created_at: now,
      completed_at: now,
    });
    const assistant = await newAssistantMessage(conversation.id, model);
    return { userId: actor.userId, conversationId: conversation.id, userMessage: toAiMessage(userRow), assistant, model, turns };
  }

  /**
   * Generates a prepared reply. The assistant message ends `complete` with its usage, or `failed`
   * with the error code and whatever text arrived (it can be retried). Throws AppError with an AI
   * code on failure, its details naming the failed message.
   */
  async function generate(prepared: PreparedReply, onDelta: (text: string) => void, signal?: AbortSignal): Promise<ReplyResult> {
    const id = Number(prepared.assistant.id);
    let partial = '';
    try {
      const { text, usage } = await complete(
        prepared.turns,
        prepared.model,
        (delta) => {
          partial += delta;
          onDelta(delta);
        },
        signal,
      );
      const completedAt = clock.now().getTime();
      await repository.updateMessage(id, { content: text, status: 'complete', input_tokens: usage.inputTokens, output_tokens: usage.outputTokens, completed_at: completedAt });
      await repository.touchConversation(prepared.conversationId, completedAt);
      await recordUsage(prepared.userId, usage.totalTokens);
      const message = toAiMessage({
        ...prepared.assistant,
        content: text,
        status: 'complete',
        input_tokens: usage.inputTokens,
        output_tokens: usage.outputTokens,
        completed_at: completedAt,
      });
      return { userMessage: prepared.userMessage, message: { ...message, usage }, usage };
    } catch (error) {
      const failure = error instanceof LlmError ? error : new LlmError('AI_PROVIDER_ERROR', 'the reply could not be generated');
      if (!(error instanceof LlmError)) log.error({ err: error, messageId: id }, 'AI reply failed');
      const completedAt = clock.now().getTime();
      await repository
        .updateMessage(id, { content: partial, status: 'failed', error_code: failure.code, error_message: failure.message, completed_at: completedAt })
        .catch((storeError: unknown) => log.error({ err: storeError, messageId: id }, 'could not mark AI reply failed'));
      // What the provider already processed still counts against the quota.
      await recordUsage(prepared.userId, estimateTurns(prepared.turns) + estimateTokens(partial)).catch(() => {});
      if (failure.code !== 'AI_CANCELLED') log.warn({ code: failure.code, upstreamStatus: failure.upstreamStatus, messageId: id, model: prepared.model }, 'AI reply failed');
      throw new AppError(failure.code, failure.message, { messageId: String(id), partialContent: partial });
    }
  }

  return {
    available,
    requireAvailable,

    /** Configured models and providers; `default` marks the model used when a request names none. */
    models(): AiModelList {
      requireAvailable();
      return catalog.list();
    },

    /** What the chat assistant may use: the default model and the asker's limits, nothing else. */
    forAssistant(): AssistantModel {
      return {
        contextTokens: budgetFor(defaultModel),
        checkLimits,
        complete: (turns, onDelta, signal) => complete(turns, defaultModel, onDelta, signal),
        recordUsage,
      };
    },

    async createConversation(actor: Actor, input: CreateConversationBody): Promise<AiConversation> {
      requireAvailable();
      const model = input.model === undefined ? null : resolveModel(input.model);
      const now = clock.now().getTime();
      const row: AiConversationRow = {
        id: newId(),
        user_id: actor.userId,
        title: input.title ?? 'New conversation',
        model,
        system_prompt: input.systemPrompt ?? null,
        created_at: now,
        updated_at: now,
      };
      await repository.insertConversation(row);
      return toConversation(row);
    },

    async listConversations(actor: Actor, query: ConversationListQuery): Promise<Page<AiConversation>> {
      requireAvailable();
      const limit = query.limit ?? 50;
      const rows = await repository.listConversations(actor.userId, limit + 1, decodeIdCursor(query.cursor));
      const items = rows.slice(0, limit).map(toConversation);
      const last = items.at(-1);
      return { items, nextCursor: rows.length > limit && last ? encodeIdCursor(last.id) : null };
    },

    /** The conversation's messages, newest first, a page at a time. */
    async listMessages(actor: Actor, id: string, query: MessageListQuery): Promise<Page<AiMessage>> {
      requireAvailable();
      await ownConversation(actor, id);
      const limit = query.limit ?? 50;
      const before = decodeIdCursor(query.cursor);
      if (before !== undefined && !/^[0-9]{1,18}$/.test(before)) throw AppError.validation('cursor', 'is not a cursor this list returned');
      const rows = await repository.pageMessages(id, before === undefined ? undefined : Number(before), limit + 1);
      const items = rows.slice(0, limit).map(toAiMessage);
      const last = items.at(-1);
      return { items, nextCursor: rows.length > limit && last ? encodeIdCursor(last.id) : null };
    },

    async getConversation(actor: Actor, id: string) {
      requireAvailable();
      const row = await ownConversation(actor, id);
      return { ...toConversation(row), messages: (await repository.listMessages(id)).map(toAiMessage) };
    },

    async deleteConversation(actor: Actor, id: string): Promise<void> {
      requireAvailable();
      await ownConversation(actor, id);
      await repository.deleteConversation(id, actor.userId);
    },

    /** Stores the user's message and prepares the reply (limits checked, prompt built). */
    async prepareReply(actor: Actor, conversationId: string, input: AskBody): Promise<PreparedReply> {
      requireAvailable();
      return prepare(actor, await ownConversation(actor, conversationId), input);
    },

    /**
     * Prepares a new attempt at a failed assistant message: same place in the conversation, the
     * same history before it, its content reset. Only `failed` messages can be retried.
     */
    async prepareRetry(actor: Actor, conversationId: string, messageId: string, model?: string): Promise<PreparedReply> {
      requireAvailable();
      const conversation = await ownConversation(actor, conversationId);
      const row = await repository.findMessage(Number(messageId));
      if (!row || row.conversation_id !== conversation.id || row.role !== 'assistant') throw new AppError('NOT_FOUND', 'AI message not found');
      if (row.status !== 'failed') throw new AppError('CONFLICT', `only a failed reply can be retried (this one is ${row.status})`);
      const chosen = resolveModel(model, row.model, conversation.model);
      await checkLimits(actor.userId);
      const turns = await buildTurns(conversation, Number(row.id), chosen);
      if (turns.at(-1)?.role !== 'user') throw new AppError('CONFLICT', 'there is no user message before this reply to answer');
      // created_at is when this attempt started, which is what finding interrupted replies relies on.
      const reset = {
        content: '',
        status: 'streaming',
        model: chosen,
        error_code: null,
        error_message: null,
        input_tokens: null,
        output_tokens: null,
        created_at: clock.now().getTime(),
        completed_at: null,
      };
      await repository.updateMessage(Number(row.id), reset);
      const assistant: AiMessageRow = { ...row, ...reset };
      return { userId: actor.userId, conversationId: conversation.id, userMessage: null, assistant, model: chosen, turns };
    },

    /** Generates a prepared reply (REST); aborting `controller` cancels it. */
    generate(prepared: PreparedReply, onDelta: (text: string) => void, controller: AbortController): Promise<ReplyResult> {
      return running.track(`m:${prepared.assistant.id}`, prepared.userId, controller, () => generate(prepared, onDelta, controller.signal));
    },

    /**
     * Socket `ai_chat`: stores the question (in a new conversation when none is given) and answers
     * at once with the request id; the reply then streams as `ai_chunk` events to every device of
     * the caller, ending with `ai_done` or `ai_error`.
     */
    async chat(actor: Actor, input: AiChatPayload): Promise<AiChatAck> {
      requireAvailable();
      let conversation: AiConversationRow;
      let limitsChecked = false;
      if (input.conversationId !== undefined) conversation = await ownConversation(actor, input.conversationId);
      else {
        const model = input.model === undefined ? null : resolveModel(input.model);
        // Limits first, so a refused request leaves no empty conversation behind.
        await checkLimits(actor.userId);
        limitsChecked = true;
        const now = clock.now().getTime();
        conversation = { id: newId(), user_id: actor.userId, title: titleFrom(input.content), model, system_prompt: null, created_at: now, updated_at: now };
        await repository.insertConversation(conversation);
      }
      const created = limitsChecked;
      const prepared = await prepare(actor, conversation, { content: input.content, model: input.model }, limitsChecked).catch(async (error: unknown) => {
        // A refused first question (too long for the budget) leaves no empty conversation behind.
        if (created) await repository.deleteConversation(conversation.id, actor.userId).catch(() => {});
        throw error;
      });
      const requestId = randomUUID();
      const messageId = String(prepared.assistant.id);
      const controller = new AbortController();
      await running.announce(requestId, actor.userId, (settings.timeoutSec + 60) * 1000);
      // Started on the next turn of the event loop: the ack (sent when this resolves) goes out before any chunk.
      const started = new Promise<void>((resolve) => setImmediate(resolve));
      void running
        .track(requestId, actor.userId, controller, () =>
          started.then(() =>
            generate(prepared, (delta) => publisher.toUsers([actor.userId], 'ai_chunk', { requestId, conversationId: conversation.id, messageId, delta }), controller.signal),
          ),
        )
        .then(
          (result) => publisher.toUsers([actor.userId], 'ai_done', { requestId, message: result.message, usage: result.usage }),
          (error: unknown) => {
            const appError = error instanceof AppError ? error : new AppError('INTERNAL', 'internal error');
            publisher.toUsers([actor.userId], 'ai_error', { requestId, messageId, error: errorBody(appError) });
          },
        )
        .finally(() => running.forget(requestId));
      return { requestId, conversationId: conversation.id, userMessage: prepared.userMessage as AiMessage, messageId };
    },

    /** Socket `ai_cancel`: stops the caller's reply, wherever it runs. */
    async cancel(actor: Actor, requestId: string): Promise<{ cancelled: boolean }> {
      return { cancelled: await running.cancel(requestId, actor.userId) };
    },

    /**
     * Three short replies the caller might send next in a chat conversation they belong to, from
     * its last messages, in its language. Only for users who turned smart replies on (FORBIDDEN
     * otherwise); non-members get NOT_FOUND (from messaging).
     */
    async suggest(actor: Actor, conversationId: string, model?: string): Promise<{ suggestions: string[] }> {
      requireAvailable();
      const chosen = resolveModel(model);
      // Consent first: nothing of the chat is read, let alone sent, for a user who did not opt in.
      if (!(await deps.smartRepliesOn(actor.userId))) throw new AppError('FORBIDDEN', 'smart replies are off: turn them on in your settings (smartReplies) first');
      const page = await deps.chats.history(actor, conversationId, { limit: 20 });
      await checkLimits(actor.userId);
      const lines = page.items
        .filter((message) => message.recalledAt === null && message.content.trim() !== '' && message.type !== 'call')
        .reverse()
        .map((message) => `${message.senderId === actor.userId ? 'Me' : 'Them'}: ${message.content.replace(/\s+/g, ' ').slice(0, 500)}`);
      const transcript = lines.length > 0 ? lines.join('\n') : '(no messages yet)';
      const { turns } = fitToBudget(SUGGESTIONS_SYSTEM_PROMPT, [{ role: 'user', content: `Conversation:\n${transcript}\n\nReplies for "Me":` }], Number.MAX_SAFE_INTEGER);
      let result: { text: string; usage: AiUsage };
      try {
        result = await complete(turns, chosen, () => {});
      } catch (error) {
        const failure = error instanceof LlmError ? error : new LlmError('AI_PROVIDER_ERROR', 'suggestions could not be generated');
        throw new AppError(failure.code, failure.message);
      }
      await recordUsage(actor.userId, result.usage.totalTokens);
      return { suggestions: parseSuggestions(result.text, transcript) };
    },

    /** Aborts every reply running in this process and waits until each is stored as failed (shutdown). */
    stop: running.stop,

    /**
     * Marks replies a stopped process left `streaming` as failed (retryable). Only those older than
     * the AI timeout: a reply that old cannot still be running on another process.
     */
    async recoverInterrupted(): Promise<number> {
      const now = clock.now().getTime();
      return repository.failStaleStreaming(now - (settings.timeoutSec + 60) * 1000, {
        status: 'failed',
        error_code: 'AI_CANCELLED',
        error_message: 'interrupted: the server stopped while writing this reply',
        completed_at: now,
      });
    },
  };
}

export type AiService = ReturnType<typeof createAiService>;
