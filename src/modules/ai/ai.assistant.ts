import type { AiUsage } from '../../contract/ai.js';
import type { Message, MessageType } from '../../contract/messages.js';
import { MAX_CONTENT_CHARS } from '../../contract/messages.js';
import type { Logger } from '../../platform/logger.js';
import type { Actor } from '../../shared/actor.js';
import type { Clock } from '../../shared/clock.js';
import { AppError, isAppError } from '../../shared/errors.js';
import type { Page } from '../../shared/pagination.js';
import type { User } from '../users/index.js';
import { toUser, type UsersRepository } from '../users/index.js';
import { type ChatTurn, LlmError } from './ai.providers.js';
import { fitToBudget } from './ai.tokens.js';

/**
 * The assistant as a chat contact: a bot user nobody can log in as (no password). A user's message
 * in their private conversation with it is answered there: the reply is posted at once as a
 * placeholder `chat` message and grows through `message_updated` events while the model streams,
 * so every client shows it without AI-specific code.
 */

/** Fixed, so every process and restart finds the same bot. Opaque to clients like any user id. */
export const ASSISTANT_USER_ID = '00000000-0000-7000-8000-00000000a1a1';
const ASSISTANT_USERNAME = 'assistant';
const ASSISTANT_NICKNAME = 'Parley Assistant';
const PLACEHOLDER = '…';
/** How often a growing reply is written and sent as `message_updated`: smooth, and not an event per token. */
const UPDATE_EVERY_MS = 100;
const HISTORY_MESSAGES = 40;
const ANSWERED_TYPES = new Set<MessageType>(['text', 'emoji']);

/** What the assistant needs from messaging. */
export interface AssistantMessaging {
  onMessageSent(listener: (message: Message) => void): void;
  postAs(senderId: string, conversationId: string, input: { type: MessageType; content: string; clientMsgId: string }): Promise<Message>;
  updateServerMessage(messageId: string, content: string, options?: { edited?: boolean }): Promise<Message>;
  history(actor: Actor, conversationId: string, query: { limit?: number }): Promise<Page<Message>>;
  open(actor: Actor, input: { peerId: string }): Promise<{ id: string }>;
}

/** What the assistant needs from the AI service: one model to answer with and the asker's limits. */
export interface AssistantModel {
  /** The prompt token budget of the model the assistant answers with. */
  contextTokens: number;
  /** Refuses (RATE_LIMITED, with when to retry) when the asker's AI request rate or daily token quota is used up. */
  checkLimits(userId: string): Promise<void>;
  /** Streams a reply to `turns`; `onDelta` sees each piece. Failures are LlmErrors. */
  complete(turns: ChatTurn[], onDelta: (text: string) => void, signal: AbortSignal): Promise<{ text: string; usage: AiUsage }>;
  /** Counts tokens against the asker's daily quota. */
  recordUsage(userId: string, tokens: number): Promise<void>;
}

export interface AssistantDeps {
  users: UsersRepository;
  messaging: AssistantMessaging;
  ai: AssistantModel;
  systemPrompt: string;
  clock: Clock;
  log: Logger;
}

const botActor: Actor = { userId: ASSISTANT_USER_ID, sessionId: 'server', isGuest: false };

function cap(text: string): string {
  const chars = [...text];
  return chars.length > MAX_CONTENT_CHARS ? chars.slice(0, MAX_CONTENT_CHARS).join('') : text;
}

export function createAssistant(deps: AssistantDeps) {
  const { users, messaging, ai, clock, log } = deps;
  let started = false;
  /** Replies in progress, so a shutdown can wait for them to write their last state. */
  const inFlight = new Set<Promise<void>>();
  const controllers = new Set<AbortController>();

  /** Creates the bot user once (idempotent across restarts and processes). */
  async function ensureUser(): Promise<void> {
    if (await users.findById(ASSISTANT_USER_ID)) return;
    const now = clock.now().getTime();
    // Someone may already be called "assistant": the bot then takes a suffixed name.
    const username = (await users.isUsernameTaken(ASSISTANT_USERNAME)) ? `${ASSISTANT_USERNAME}_${ASSISTANT_USER_ID.slice(-4)}` : ASSISTANT_USERNAME;
    try {
      await users.insertWithProfile(
        {
          id: ASSISTANT_USER_ID,
          username,
          username_lower: username.toLowerCase(),
          nickname: ASSISTANT_NICKNAME,
          nickname_lower: ASSISTANT_NICKNAME.toLowerCase(),
          email: null,
          email_lower: null,
          // No password hash: login always fails, like for an unknown user.
          password_hash: null,
          is_guest: 0,
          avatar_url: null,
          bio: 'An AI assistant. Messages you send it go to an AI model.',
          created_at: now,
          updated_at: now,
          last_login_at: now,
          last_seen_at: null,
        },
        now,
      );
      log.info({ userId: ASSISTANT_USER_ID, username }, 'AI assistant user created');
    } catch (error) {
      // Another process created it at the same moment.
      if (!(await users.findById(ASSISTANT_USER_ID))) throw error;
    }
  }

  async function contextFor(conversationId: string): Promise<ChatTurn[]> {
    const page = await messaging.history(botActor, conversationId, { limit: HISTORY_MESSAGES });
    const history: ChatTurn[] = page.items
      .filter((message) => message.recalledAt === null && message.content.trim() !== '' && message.content !== PLACEHOLDER)
      .reverse()
      .map((message) => ({ role: message.senderId === ASSISTANT_USER_ID ? 'assistant' : 'user', content: message.content }));
    return fitToBudget(deps.systemPrompt, history, ai.contextTokens).turns;
  }

  async function answer(question: Message): Promise<void> {
    const clientMsgId = `ai:${question.id}`;
    try {
      await ai.checkLimits(question.senderId);
    } catch (error) {
      const text = isAppError(error) ? `I can't answer right now: ${error.message}` : "I can't answer right now.";
      await messaging.postAs(ASSISTANT_USER_ID, question.conversationId, { type: 'text', content: text, clientMsgId });
      return;
    }
    const turns = await contextFor(question.conversationId);
    const placeholder = await messaging.postAs(ASSISTANT_USER_ID, question.conversationId, { type: 'text', content: PLACEHOLDER, clientMsgId });
    let text = '';
    let timer: NodeJS.Timeout | undefined;
    // Updates are chained so they reach clients in order; the last one carries the whole reply.
    let updates = Promise.resolve();
    const push = (content: string) => {
      updates = updates
        .then(() => messaging.updateServerMessage(placeholder.id, cap(content) || PLACEHOLDER).then(() => {}))
        .catch((error: unknown) => log.warn({ err: error }, 'assistant update failed'));
    };
    const controller = new AbortController();
    controllers.add(controller);
    try {
      const onDelta = (delta: string) => {
        text += delta;
        timer ??= setTimeout(() => {
          timer = undefined;
          push(text);
        }, UPDATE_EVERY_MS);
      };
      const result = await ai.complete(turns, onDelta, controller.signal);
      clearTimeout(timer);
      push(result.text.trim() === '' ? '(no answer)' : result.text);
      await ai.recordUsage(question.senderId, result.usage.totalTokens);
    } catch (error) {
      clearTimeout(timer);
      const failure = error instanceof LlmError ? error : new LlmError('AI_PROVIDER_ERROR', 'the reply could not be generated');
      if (!(error instanceof LlmError)) log.error({ err: error }, 'assistant reply failed');
      push(`${text}${text ? '\n\n' : ''}⚠️ The assistant could not finish this answer (${failure.code}): ${failure.message}. Send your message again to retry.`);
    }
    controllers.delete(controller);
    await updates;
  }

  return {
    /** Creates the bot user and starts answering; call once at start-up when AI is configured. */
    async start(): Promise<void> {
      if (started) return;
      await ensureUser();
      started = true;
      messaging.onMessageSent((message) => {
        if (message.senderId === ASSISTANT_USER_ID || !ANSWERED_TYPES.has(message.type)) return;
        if (!message.conversationId.startsWith('d.') || !message.conversationId.split('.').includes(ASSISTANT_USER_ID)) return;
        const work = answer(message).catch((error: unknown) => log.error({ err: error, conversationId: message.conversationId }, 'assistant could not answer'));
        inFlight.add(work);
        void work.finally(() => inFlight.delete(work));
      });
    },

    /** The bot user and the caller's private conversation with it (created when needed). */
    async info(actor: Actor): Promise<{ user: User; conversationId: string }> {
      const row = await users.findById(ASSISTANT_USER_ID);
      if (!row || !started) throw new AppError('UNAVAILABLE', 'the AI assistant is not running');
      const conversation = await messaging.open(actor, { peerId: ASSISTANT_USER_ID });
      return { user: toUser(row), conversationId: conversation.id };
    },

    /** Aborts the replies in progress and resolves once each has written its last state. */
    async stop(): Promise<void> {
      for (const controller of controllers) controller.abort();
      while (inFlight.size > 0) await Promise.allSettled([...inFlight]);
    },
  };
}

export type AiAssistant = ReturnType<typeof createAssistant>;
