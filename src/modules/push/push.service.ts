import { createHash } from 'node:crypto';
import type { Message } from '../../contract/messages.js';
import type { PushDevice, PushPayload, PushSubscriptionBody } from '../../contract/push.js';
import type { Logger } from '../../platform/logger.js';
import type { PushMetrics } from '../../platform/metrics/metrics.js';
import type { ClusterBus } from '../../platform/realtime/cluster-bus.js';
import { createProcessCache } from '../../platform/realtime/process-cache.js';
import type { Actor } from '../../shared/actor.js';
import type { Clock } from '../../shared/clock.js';
import { AppError } from '../../shared/errors.js';
import { newId } from '../../shared/ids.js';
import type { PushRepository, PushSubscriptionRow } from './push.repository.js';
import type { PushAnswer, PushSend } from './push.sender.js';

/** Why a push is considered: a message in a conversation, or a call that rang nobody. */
export type PushEvent = { kind: 'message'; message: Message } | { kind: 'call'; conversationId: string; callerId: string };

/**
 * Retries of a push that failed for a reason that may pass (no answer, 5xx, 429): at most
 * `attempts` sends in all, waiting `baseMs`, 2×, 4×… between them (±20 %), or the push service's
 * `Retry-After`; a wait longer than `maxDelayMs` gives up instead.
 */
export interface PushRetry {
  attempts: number;
  baseMs: number;
  maxDelayMs: number;
}

export interface PushServiceDeps {
  repository: PushRepository;
  send: PushSend;
  retry: PushRetry;
  /** Refuses (VALIDATION_FAILED) an endpoint the outbound address rules do not allow. */
  checkEndpoint(endpoint: string): Promise<void>;
  publicKey: string;
  /** Subscriptions per user; a new one past this replaces the user's oldest. */
  maxPerUser: number;
  /** Whether the user has at least one socket open on any process (presence, in the shared cache). */
  hasOpenSocket(userId: string): Promise<boolean>;
  /** The members of a group, for its conversation `g.<groupId>`. */
  memberIdsOf(groupId: string): Promise<string[]>;
  /** Whether `blockerId` blocked `blockedId`. */
  hasBlocked(blockerId: string, blockedId: string): Promise<boolean>;
  /** The notifications module's rule: the recipient's setting for the conversation (all, mentions only, muted until), blocks, system records. */
  isNotifying(message: Message, recipientId: string): Promise<boolean>;
  /** The name a notification shows for a user (nickname, else username). */
  displayNameOf(userId: string): Promise<string>;
  /** Carries subscription changes to every process's memory of who has subscriptions at all (so a message to people without any reads no database). */
  bus: ClusterBus;
  clock: Clock;
  log: Logger;
  metrics?: PushMetrics;
}

/** How long a process remembers whether a user has any subscription; every change of theirs drops it in every process at once. */
const HAS_SUBSCRIPTIONS_TTL_MS = 10 * 60_000;
const HAS_SUBSCRIPTIONS_USERS = 100_000;

/** Longest message text a notification carries (payloads must stay under the 4 KiB push services accept). */
export const PUSH_TEXT_CHARS = 200;

const endpointHash = (endpoint: string) => createHash('sha256').update(endpoint).digest('hex');

/** The other party of a private conversation `d.<a>.<b>`, the group of `g.<id>`. */
function parseConversation(conversationId: string): { kind: 'private'; userIds: [string, string] } | { kind: 'group'; groupId: string } | undefined {
  if (conversationId.startsWith('g.')) return { kind: 'group', groupId: conversationId.slice(2) };
  const parts = conversationId.split('.');
  if (parts.length === 3 && parts[0] === 'd' && parts[1] && parts[2]) return { kind: 'private', userIds: [parts[1], parts[2]] };
  return undefined;
}

/**
 * Web Push: devices subscribe (bound to the session that subscribed them), and people with no
 * socket open anywhere hear about private and group messages and about calls that could not ring.
 * Sending never delays the sender: it runs after the message was delivered. A failure that may
 * pass (no answer, 429, 5xx) is retried a few times with backoff (`PushRetry`); what still fails is
 * logged and counted; a push service's 404/410 (the subscription is gone) drops the row.
 */
export function createPushService(deps: PushServiceDeps) {
  const { repository, clock, log } = deps;
  const hasSubscriptions = createProcessCache<boolean>({
    bus: deps.bus,
    topic: 'push-subscriptions-changed',
    ttlMs: HAS_SUBSCRIPTIONS_TTL_MS,
    maxEntries: HAS_SUBSCRIPTIONS_USERS,
  });

  /** Forgets, in every process, whether these users have subscriptions (they just changed). */
  const changed = (userIds: Iterable<string>) => hasSubscriptions.invalidate([...new Set(userIds)]);

  /**
   * The subscriptions of those recipients who have any. Most people have none: this process's memory
   * says so without a database read; only users it knows nothing about are looked up (and remembered).
   */
  async function subscriptionsOf(userIds: readonly string[]): Promise<PushSubscriptionRow[]> {
    if (userIds.length === 0) return [];
    const known = userIds.map((id) => hasSubscriptions.peek(id));
    const wanted = userIds.filter((_, i) => known[i] !== false);
    if (wanted.length === 0) return [];
    const stamp = hasSubscriptions.stamp();
    const rows = await repository.ofUsers(wanted);
    const withRows = new Set(rows.map((row) => row.user_id));
    userIds.forEach((id, i) => {
      if (known[i] === undefined) hasSubscriptions.store(id, withRows.has(id), stamp);
    });
    return rows;
  }

  const toSubscription = (row: PushSubscriptionRow, actor: Actor): PushDevice => ({
    id: row.id,
    endpoint: row.endpoint,
    previews: Number(row.previews) === 1,
    thisSession: row.session_id === actor.sessionId,
    createdAt: new Date(Number(row.created_at)).toISOString(),
  });

  /**
   * Whether `recipientId` should get a push for this event at all (online or not is decided
   * before). Never from someone the recipient blocked; a message only when it notifies under the
   * recipient's setting for that conversation (a muted chat, or one set to mentions only that does
   * not mention them, stays quiet). A call always rings through: muting a chat mutes its messages.
   */
  async function shouldPush(recipientId: string, senderId: string, conversationId: string, event: PushEvent): Promise<boolean> {
    void conversationId;
    if (await deps.hasBlocked(recipientId, senderId)) return false;
    if (event.kind === 'message') return deps.isNotifying(event.message, recipientId);
    return true;
  }

  /** Pending retry waits: `stop()` ends them so nothing is sent once the server is closing. */
  const waits = new Set<() => void>();
  let stopped = false;

  /** Waits on a timer (never the event loop); false when the service stopped meanwhile. */
  function wait(ms: number): Promise<boolean> {
    if (stopped) return Promise.resolve(false);
    return new Promise((resolve) => {
      const done = (ok: boolean) => {
        clearTimeout(timer);
        waits.delete(cancel);
        resolve(ok);
      };
      const cancel = () => done(false);
      const timer = setTimeout(() => done(true), ms);
      timer.unref();
      waits.add(cancel);
    });
  }

  /** Whether an answer may change if asked again: 429 (too many requests) and 5xx; a thrown send (no answer) too. */
  const transient = (status: number) => status === 429 || status >= 500;

  /** How long to wait before attempt `attempt + 1`, or undefined to give up. */
  function delayBefore(attempt: number, retryAfterMs: number | undefined): number | undefined {
    const { retry } = deps;
    if (attempt >= retry.attempts) return undefined;
    const delay = retryAfterMs ?? retry.baseMs * 2 ** (attempt - 1) * (0.8 + Math.random() * 0.4);
    return delay > retry.maxDelayMs ? undefined : delay;
  }

  /**
   * Sends one notification to one device, retrying what may pass (no answer, 429, 5xx) with
   * backoff and the push service's `Retry-After`, off the caller's path; 404/410 drop the
   * subscription, any other answer is final. Counted once, by final outcome.
   */
  async function deliver(row: PushSubscriptionRow, payload: PushPayload): Promise<void> {
    const withText = Number(row.previews) === 1 ? payload : { ...payload, text: undefined };
    const body = JSON.stringify(withText);
    for (let attempt = 1; ; attempt++) {
      let answer: PushAnswer | undefined;
      let failure: unknown;
      try {
        answer = await deps.send({ endpoint: row.endpoint, p256dh: row.p256dh, auth: row.auth }, body);
      } catch (error) {
        failure = error;
      }
      const status = answer?.status;
      if (status === 404 || status === 410) {
        await repository.remove(row.id);
        await changed([row.user_id]);
        deps.metrics?.pushSent('gone');
        log.info({ subscriptionId: row.id, userId: row.user_id, status }, 'push subscription gone; dropped');
        return;
      }
      if (status !== undefined && status >= 200 && status < 300) {
        deps.metrics?.pushSent('sent');
        if (attempt > 1) log.info({ subscriptionId: row.id, attempt }, 'push delivered after a retry');
        return;
      }
      const retryable = status === undefined || transient(status);
      const delay = retryable ? delayBefore(attempt, answer?.retryAfterMs) : undefined;
      if (delay !== undefined && (await wait(delay))) continue;
      deps.metrics?.pushSent('failed');
      if (status === undefined) log.warn({ err: failure, subscriptionId: row.id, attempts: attempt }, 'push notification not delivered');
      else log.warn({ subscriptionId: row.id, status, attempts: attempt }, 'push service refused a notification');
      return;
    }
  }

  /** Pushes to each recipient with subscriptions, no open socket and `shouldPush`; `payload` is made once, for the first of them. */
  async function fanOut(recipientIds: readonly string[], senderId: string, conversationId: string, event: PushEvent, payload: () => Promise<PushPayload>): Promise<void> {
    const rows = await subscriptionsOf(recipientIds.filter((id) => id !== senderId));
    if (rows.length === 0) return;
    const byUser = new Map<string, PushSubscriptionRow[]>();
    for (const row of rows) byUser.set(row.user_id, [...(byUser.get(row.user_id) ?? []), row]);
    let made: Promise<PushPayload> | undefined;
    await Promise.all(
      [...byUser].map(async ([userId, subscriptions]) => {
        if (await deps.hasOpenSocket(userId)) return;
        if (!(await shouldPush(userId, senderId, conversationId, event))) return;
        made ??= payload();
        const body = await made;
        await Promise.all(subscriptions.map((row) => deliver(row, body)));
      }),
    );
  }

  async function messagePushed(message: Message): Promise<void> {
    const where = parseConversation(message.conversationId);
    if (!where) return;
    const recipients = where.kind === 'private' ? where.userIds : await deps.memberIdsOf(where.groupId);
    const hasText = message.type === 'text' || message.type === 'emoji';
    // Made only when someone is to be pushed to: the sender's name is a read most messages never need.
    const payload = async (): Promise<PushPayload> => ({
      type: 'message',
      conversationId: message.conversationId,
      messageId: message.id,
      senderName: await deps.displayNameOf(message.senderId),
      ...(hasText && message.content !== '' ? { text: [...message.content].slice(0, PUSH_TEXT_CHARS).join('') } : {}),
    });
    await fanOut(recipients, message.senderId, message.conversationId, { kind: 'message', message }, payload);
  }

  /** Runs a send off the caller's path: it is never awaited, and what fails is logged. */
  function detached(work: () => Promise<void>, context: Record<string, unknown>): void {
    work().catch((error: unknown) => log.warn({ err: error, ...context }, 'push fan-out failed'));
  }

  return {
    shouldPush,

    /** Ends pending retry waits (the server is closing): those pushes are given up. */
    stop(): void {
      stopped = true;
      for (const cancel of [...waits]) cancel();
    },

    /** The VAPID public key browsers subscribe with. */
    vapidPublicKey: () => ({ publicKey: deps.publicKey }),

    /**
     * Subscribes this device (upsert by endpoint): the row belongs to the caller's session, and
     * past the per-user limit the caller's oldest other subscription is dropped.
     */
    async subscribe(actor: Actor, input: PushSubscriptionBody): Promise<PushDevice> {
      await deps.checkEndpoint(input.endpoint);
      const hash = endpointHash(input.endpoint);
      const { row, previousUserId } = await repository.upsert({
        id: newId(),
        user_id: actor.userId,
        session_id: actor.sessionId,
        endpoint: input.endpoint,
        endpoint_hash: hash,
        p256dh: input.keys.p256dh.replace(/=+$/, ''),
        auth: input.keys.auth.replace(/=+$/, ''),
        previews: input.previews ? 1 : 0,
        created_at: clock.now().getTime(),
      });
      await changed(previousUserId ? [actor.userId, previousUserId] : [actor.userId]);
      const mine = await repository.ofUser(actor.userId);
      const surplus = mine.filter((other) => other.id !== row.id).slice(0, Math.max(0, mine.length - deps.maxPerUser));
      await repository.removeMany(surplus.map((other) => other.id));
      return toSubscription(row, actor);
    },

    /** The caller's subscribed devices, oldest first. */
    async list(actor: Actor): Promise<PushDevice[]> {
      return (await repository.ofUser(actor.userId)).map((row) => toSubscription(row, actor));
    },

    /** Unsubscribes one of the caller's devices; someone else's id is NOT_FOUND. */
    async unsubscribe(actor: Actor, id: string): Promise<void> {
      const row = (await repository.ofUser(actor.userId)).find((candidate) => candidate.id === id);
      if (!row) throw new AppError('NOT_FOUND', 'push subscription not found');
      await repository.remove(row.id);
      await changed([actor.userId]);
    },

    /** Sessions ended (logout, revocation, suspension, password change): what they subscribed stops. */
    sessionsEnded(userId: string, sessionIds: readonly string[]): void {
      detached(async () => {
        const removed = await repository.removeBySessions(sessionIds);
        await changed([userId]);
        if (removed > 0) log.info({ removed }, 'push subscriptions of ended sessions dropped');
      }, {});
    },

    /** A user sent a message: recipients with no socket open hear about it. Returns at once. */
    messageSent(message: Message): void {
      detached(() => messagePushed(message), { messageId: message.id });
    },

    /** A call found the callee with no socket open (it is recorded as missed): their devices hear about it. Returns at once. */
    callUnanswerable(call: { callerId: string; calleeId: string; conversationId: string; media: 'audio' | 'video' }): void {
      detached(
        async () => {
          const payload = async (): Promise<PushPayload> => ({
            type: 'call',
            conversationId: call.conversationId,
            senderName: await deps.displayNameOf(call.callerId),
            media: call.media,
          });
          await fanOut([call.calleeId], call.callerId, call.conversationId, { kind: 'call', conversationId: call.conversationId, callerId: call.callerId }, payload);
        },
        { callerId: call.callerId },
      );
    },
  };
}

export type PushService = ReturnType<typeof createPushService>;
