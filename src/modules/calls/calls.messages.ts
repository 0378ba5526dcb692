import type { CallOutcome, CallSummary } from '../../contract/calls.js';
import type { Message } from '../../contract/messages.js';
import type { Cache } from '../../platform/cache/cache.js';
import { AppError } from '../../shared/errors.js';
import { encodeCallContent, type MessagingService, privateConversationId } from '../messaging/index.js';
import type { CallState } from './calls.state.js';

/** The current fold of unanswered calls from one caller to one callee, and how many it holds. */
const foldKey = (callerId: string, calleeId: string) => `call:fold:${callerId}:${calleeId}`;
const foldCountKey = (firstCallId: string) => `call:fold:count:${firstCallId}`;
/** Calls nobody answered: from the callee's side each is a missed call, so repeats fold into one message. */
const FOLDED_STATES: readonly CallOutcome[] = ['missed', 'cancelled'];

interface Fold {
  /** The first call of the fold: its `call:<id>` clientMsgId names the shared message. */
  firstCallId: string;
  messageId: string | null;
}

export interface CallMessagesDeps {
  messaging: Pick<MessagingService, 'postAs' | 'updateServerMessage' | 'describe'>;
  cache: Cache;
  /** Unanswered calls from the same caller within this many seconds share one message (0: never). */
  missedFoldWindowSec: number;
}

/** A call that is over, as its message needs it. */
export type EndedCall = Pick<CallState, 'id' | 'callerId' | 'calleeId' | 'media'> & { state: CallOutcome; durationSec: number };

/**
 * The `call` message a finished call leaves in the private conversation, from the caller, as data
 * (`CallSummary`): clients say it in their own language.
 */
export function createCallMessages(deps: CallMessagesDeps) {
  const { messaging, cache } = deps;
  const foldMs = deps.missedFoldWindowSec * 1000;

  /** Whether the message is still the last, unrecalled one of the conversation (nothing was said since). */
  async function isLastMessage(callerId: string, conversationId: string, messageId: string): Promise<boolean> {
    const { lastMessage } = await messaging.describe({ userId: callerId, sessionId: 'server', isGuest: false }, conversationId);
    return lastMessage?.id === messageId && lastMessage.recalledAt === null;
  }

  /**
   * Leaves an unanswered call in the conversation without flooding it: while the fold's message is
   * still the last one and its first call is younger than the fold window, the call is counted into
   * that message (its `call.count`, sent as `message_updated`) instead of adding one. The fold
   * lives in the shared cache; concurrent calls agree on its message through the clientMsgId dedupe
   * (`call:<first call id>`), and each writer rewrites the content until it matches the count it
   * reads after its write, so the last writer leaves the final count.
   */
  async function postFolded(call: EndedCall): Promise<Message> {
    const conversationId = privateConversationId(call.callerId, call.calleeId);
    const key = foldKey(call.callerId, call.calleeId);
    for (let attempt = 0; attempt < 10; attempt++) {
      const raw = await cache.get(key);
      let fold: Fold = { firstCallId: call.id, messageId: null };
      if (raw === null) {
        if (!(await cache.setIfAbsent(key, JSON.stringify(fold), foldMs))) continue;
      } else {
        const current = JSON.parse(raw) as Fold;
        if (current.messageId !== null && !(await isLastMessage(call.callerId, conversationId, current.messageId))) {
          // Something was said since: this call starts a new fold (a new message at the bottom).
          if (!(await cache.compareAndSet(key, raw, JSON.stringify(fold), foldMs))) continue;
        } else {
          fold = current;
        }
      }
      const countKey = foldCountKey(fold.firstCallId);
      const { count } = await cache.incr(countKey, foldMs);
      const summary = (total: number): CallSummary => ({
        callId: fold.firstCallId,
        // From the callee's side every unanswered call is a missed one; a single one keeps its own state.
        state: total > 1 ? 'missed' : call.state,
        media: call.media,
        durationSec: 0,
        count: total,
      });
      let message = await messaging.postAs(call.callerId, conversationId, {
        type: 'call',
        content: encodeCallContent(summary(count)),
        clientMsgId: `call:${fold.firstCallId}`,
      });
      if (fold.messageId === null) {
        const left = await cache.ttl(key);
        await cache.compareAndSet(key, JSON.stringify(fold), JSON.stringify({ ...fold, messageId: message.id }), left > 0 ? left : foldMs);
      }
      for (let round = 0; round < 10; round++) {
        const total = Math.max(Number((await cache.get(countKey)) ?? count), count);
        if (message.call?.count === total) break;
        message = await messaging.updateServerMessage(message.id, encodeCallContent(summary(total)));
      }
      return message;
    }
    throw new AppError('CONFLICT', 'the missed-call message changed too often');
  }

  return {
    /** Writes the call's message (or counts it into the current fold of missed calls) and returns it. */
    async leave(call: EndedCall): Promise<Message> {
      if (foldMs > 0 && FOLDED_STATES.includes(call.state)) return postFolded(call);
      return messaging.postAs(call.callerId, privateConversationId(call.callerId, call.calleeId), {
        type: 'call',
        content: encodeCallContent({ callId: call.id, state: call.state, media: call.media, durationSec: call.durationSec, count: 1 }),
        clientMsgId: `call:${call.id}`,
      });
    },
  };
}

export type CallMessages = ReturnType<typeof createCallMessages>;
