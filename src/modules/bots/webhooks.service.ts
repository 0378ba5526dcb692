import { createHmac, randomBytes } from 'node:crypto';
import type { CreatedWebhook, CreateWebhookBody, Webhook, WebhookDelivery, WebhookEvent } from '../../contract/bots.js';
import type { Message } from '../../contract/messages.js';
import type { Logger } from '../../platform/logger.js';
import { type GuardedFetch, OutboundError } from '../../platform/outbound/index.js';
import type { Actor } from '../../shared/actor.js';
import type { Clock } from '../../shared/clock.js';
import { AppError } from '../../shared/errors.js';
import { newId } from '../../shared/ids.js';
import { decodeTimeIdCursor, encodeTimeIdCursor, type Page } from '../../shared/pagination.js';
import type { BotsRepository, DeliveryRow, WebhookRow } from './bots.repository.js';

export interface WebhookSettings {
  retryBaseMs: number;
  maxAttempts: number;
  pollMs: number;
  timeoutMs: number;
}

export interface WebhooksServiceDeps {
  repository: BotsRepository;
  clock: Clock;
  fetch: GuardedFetch;
  /** Throws OutboundError when the fetcher would refuse the URL (checked at subscribe time). */
  checkUrl: (url: string) => Promise<void>;
  /** The caller's role in a conversation (`owner`/`admin`/`member` in a group, `participant` in a private chat); throws NOT_FOUND for non-members. */
  roleIn: (userId: string, conversationId: string) => Promise<string>;
  ownerOfBot: (botId: string) => Promise<string | undefined>;
  settings: WebhookSettings;
  log: Logger;
  metrics?: { webhookAttempt(outcome: 'delivered' | 'failed'): void };
}

/** How long a process holds a claimed row before another may take it over (its request times out well before). */
const leaseMs = (settings: WebhookSettings) => settings.timeoutMs * 3;
/** Subscriptions are re-read this often, so one made on another process starts flowing within it. */
const SUBSCRIPTIONS_TTL_MS = 3000;
const BATCH = 20;

const iso = (ms: number | null) => (ms === null ? null : new Date(Number(ms)).toISOString());

/**
 * The `Parley-Signature` of a delivery: `v1=` and the hex HMAC-SHA256, keyed with the webhook's
 * secret, of `<Parley-Timestamp>.<raw body>` (docs/webhooks.md, Verifying).
 */
export function webhookSignature(secret: string, timestamp: string, body: string): string {
  return `v1=${createHmac('sha256', secret).update(`${timestamp}.${body}`).digest('hex')}`;
}

type Subscription = WebhookRow & { bot_username: string | null; eventSet: Set<string>; conversations: Set<string> };

/**
 * Outgoing webhooks: subscriptions, the durable outbox (one `webhook_deliveries` row per event and
 * subscription, written right after the message commits) and the dispatcher that delivers it at
 * least once, with exponential backoff, across restarts and processes (docs/webhooks.md).
 */
export function createWebhooksService(deps: WebhooksServiceDeps) {
  const { repository, clock, settings, log } = deps;
  let subscriptions: { loadedAt: number; list: Subscription[] } | undefined;
  let loading: Promise<Subscription[]> | undefined;

  async function loadSubscriptions(): Promise<Subscription[]> {
    const now = Date.now();
    if (subscriptions && now - subscriptions.loadedAt < SUBSCRIPTIONS_TTL_MS) return subscriptions.list;
    loading ??= repository
      .allWebhooks()
      .then((rows) => {
        const list = rows.map((row) => ({
          ...row,
          eventSet: new Set(JSON.parse(row.events) as string[]),
          conversations: new Set(JSON.parse(row.conversation_ids) as string[]),
        }));
        subscriptions = { loadedAt: Date.now(), list };
        return list;
      })
      .finally(() => {
        loading = undefined;
      });
    return loading;
  }

  const toWebhook = (row: WebhookRow): Webhook => ({
    id: row.id,
    url: row.url,
    events: JSON.parse(row.events) as WebhookEvent[],
    conversationIds: JSON.parse(row.conversation_ids) as string[],
    botId: row.bot_id,
    createdAt: iso(row.created_at) as string,
  });

  const toDelivery = (row: DeliveryRow): WebhookDelivery => ({
    id: row.id,
    webhookId: row.webhook_id,
    event: row.event as WebhookEvent,
    status: row.status as WebhookDelivery['status'],
    attempts: Number(row.attempts),
    lastStatus: row.last_status === null ? null : Number(row.last_status),
    lastError: row.last_error,
    nextAttemptAt: row.status === 'pending' ? iso(row.next_attempt_at) : null,
    createdAt: iso(row.created_at) as string,
    deliveredAt: iso(row.delivered_at),
  });

  async function ownWebhook(actor: Actor, id: string): Promise<WebhookRow> {
    if (actor.bot) throw new AppError('FORBIDDEN', 'a bot cannot manage webhooks');
    const row = await repository.findWebhook(id);
    if (!row || row.owner_id !== actor.userId) throw new AppError('NOT_FOUND', 'webhook not found');
    return row;
  }

  // ---- outbox ----
  function outboxRow(webhookId: string, event: WebhookEvent, data: unknown, now: number): DeliveryRow {
    const id = newId();
    const payload = JSON.stringify({ id, event, webhookId, createdAt: new Date(now).toISOString(), data });
    return {
      id,
      webhook_id: webhookId,
      event,
      payload,
      status: 'pending',
      attempts: 0,
      next_attempt_at: now,
      claimed_until: null,
      last_status: null,
      last_error: null,
      created_at: now,
      delivered_at: null,
    };
  }

  /** The outbox rows one stored message makes (none for most messages: a few set lookups). */
  function rowsFor(message: Message, list: Subscription[], now: number): DeliveryRow[] {
    const rows: DeliveryRow[] = [];
    for (const sub of list) {
      if (!sub.conversations.has(message.conversationId)) continue;
      // A bot's own posts do not come back to it (no loops).
      if (sub.bot_id !== null && message.senderId === sub.bot_id) continue;
      if (message.type === 'system') {
        if (sub.eventSet.has('member.changed') && message.system)
          rows.push(
            outboxRow(
              sub.id,
              'member.changed',
              {
                conversationId: message.conversationId,
                change: message.system.kind,
                actorId: message.system.actorId,
                userIds: message.system.userIds,
                role: message.system.role ?? null,
              },
              now,
            ),
          );
        continue;
      }
      if (sub.eventSet.has('message.created')) rows.push(outboxRow(sub.id, 'message.created', { conversationId: message.conversationId, message }, now));
      // The server's resolved mentions (members only, whole names), not a text match: `@bot2` or an e-mail address is no mention of `bot`.
      if (sub.eventSet.has('bot.mentioned') && sub.bot_id && message.mentions?.userIds.includes(sub.bot_id))
        rows.push(outboxRow(sub.id, 'bot.mentioned', { conversationId: message.conversationId, botId: sub.bot_id, message }, now));
    }
    return rows;
  }

  // ---- dispatcher ----
  let timer: NodeJS.Timeout | undefined;
  let running: Promise<void> | undefined;
  let again = false;
  let stopped = true;

  async function attempt(row: DeliveryRow): Promise<void> {
    const webhook = await repository.findWebhook(row.webhook_id);
    if (!webhook) return;
    const timestamp = String(Math.floor(clock.now().getTime() / 1000));
    let status: number | null = null;
    let error: string | null = null;
    try {
      const response = await deps.fetch({
        url: webhook.url,
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          'parley-webhook-id': row.id,
          'parley-event': row.event,
          'parley-timestamp': timestamp,
          'parley-signature': webhookSignature(webhook.secret, timestamp, row.payload),
        },
        body: row.payload,
        maxBytes: 64 * 1024,
        timeoutMs: settings.timeoutMs,
        maxRedirects: 0,
      });
      status = response.status;
      if (status < 200 || status > 299) error = `HTTP ${status}`;
    } catch (failure) {
      error = failure instanceof OutboundError ? `${failure.reason}: ${failure.message}` : 'request failed';
    }
    const attempts = Number(row.attempts) + 1;
    const now = clock.now().getTime();
    if (error === null) {
      deps.metrics?.webhookAttempt('delivered');
      await repository.finishAttempt(row.id, { status: 'delivered', attempts, last_status: status, last_error: null, delivered_at: now, claimed_until: null });
      return;
    }
    deps.metrics?.webhookAttempt('failed');
    const dead = attempts >= settings.maxAttempts;
    // Exponential backoff: base, 2×base, 4×base… (capped at a day).
    const delay = Math.min(settings.retryBaseMs * 2 ** (attempts - 1), 86_400_000);
    await repository.finishAttempt(row.id, {
      status: dead ? 'dead' : 'pending',
      attempts,
      last_status: status,
      last_error: error.slice(0, 300),
      next_attempt_at: now + delay,
      claimed_until: null,
    });
    if (dead) log.warn({ webhookId: row.webhook_id, deliveryId: row.id, attempts }, 'webhook delivery dead after its last attempt');
  }

  /** Claims due rows (each by one process only) and delivers them, until none are due. */
  async function drain(): Promise<void> {
    for (;;) {
      const now = clock.now().getTime();
      const ids = await repository.dueIds(now, BATCH);
      let claimed = 0;
      await Promise.all(
        ids.map(async (id) => {
          if (!(await repository.claim(id, now, now + leaseMs(settings)))) return;
          claimed += 1;
          const row = await repository.deliveryById(id);
          if (row) await attempt(row);
        }),
      );
      if (ids.length < BATCH || claimed === 0 || stopped) return;
    }
  }

  function tick(): void {
    if (stopped) return;
    if (running) {
      again = true;
      return;
    }
    running = drain()
      .catch((error: unknown) => log.warn({ err: error }, 'webhook dispatch failed; retried on the next tick'))
      .finally(() => {
        running = undefined;
        if (again) {
          again = false;
          tick();
        }
      });
  }

  return {
    /** Subscribes a URL to events of conversations the caller administers (or, with botId, the caller's bot is in). */
    async create(actor: Actor, input: CreateWebhookBody): Promise<CreatedWebhook> {
      if (actor.bot) throw new AppError('FORBIDDEN', 'a bot cannot manage webhooks');
      if (actor.isGuest) throw new AppError('FORBIDDEN', 'a guest cannot create webhooks');
      const conversationIds = [...new Set(input.conversationIds)];
      if (input.botId !== undefined) {
        if ((await deps.ownerOfBot(input.botId)) !== actor.userId) throw new AppError('NOT_FOUND', 'bot not found');
        for (const id of conversationIds) await deps.roleIn(input.botId, id);
      } else {
        if (input.events.includes('bot.mentioned')) throw AppError.validation('events', 'bot.mentioned needs botId');
        for (const id of conversationIds) {
          const role = await deps.roleIn(actor.userId, id);
          if (role !== 'owner' && role !== 'admin' && role !== 'participant') throw new AppError('FORBIDDEN', 'only a group owner or admin may subscribe to its events');
        }
      }
      try {
        await deps.checkUrl(input.url);
      } catch (error) {
        if (error instanceof OutboundError)
          throw new AppError('WEBHOOK_URL_REFUSED', `the server will not call this URL (${error.reason})`, [{ field: 'url', message: error.message }]);
        throw error;
      }
      const secret = `whsec_${randomBytes(32).toString('base64url')}`;
      const row: WebhookRow = {
        id: newId(),
        owner_id: actor.userId,
        bot_id: input.botId ?? null,
        url: input.url,
        secret,
        events: JSON.stringify([...new Set(input.events)]),
        conversation_ids: JSON.stringify(conversationIds),
        created_at: clock.now().getTime(),
      };
      await repository.insertWebhook(row);
      subscriptions = undefined;
      return { ...toWebhook(row), secret };
    },

    async list(actor: Actor, cursor: string | undefined, limit: number): Promise<Page<Webhook>> {
      if (actor.bot) throw new AppError('FORBIDDEN', 'a bot cannot manage webhooks');
      const rows = await repository.pageWebhooks(actor.userId, decodeTimeIdCursor(cursor), limit + 1);
      const page = rows.slice(0, limit);
      const last = page.at(-1);
      return { items: page.map(toWebhook), nextCursor: rows.length > limit && last ? encodeTimeIdCursor({ at: Number(last.created_at), id: last.id }) : null };
    },

    async remove(actor: Actor, id: string): Promise<void> {
      await ownWebhook(actor, id);
      await repository.deleteWebhook(id);
      subscriptions = undefined;
    },

    async deliveries(actor: Actor, id: string, cursor: string | undefined, limit: number): Promise<Page<WebhookDelivery>> {
      await ownWebhook(actor, id);
      const rows = await repository.pageDeliveries(id, decodeTimeIdCursor(cursor), limit + 1);
      const page = rows.slice(0, limit);
      const last = page.at(-1);
      return { items: page.map(toDelivery), nextCursor: rows.length > limit && last ? encodeTimeIdCursor({ at: Number(last.created_at), id: last.id }) : null };
    },

    /** Sends a delivery again (same id and body), with a fresh count of attempts; a pending one just goes now. */
    async replay(actor: Actor, id: string, deliveryId: string): Promise<WebhookDelivery> {
      await ownWebhook(actor, id);
      const row = await repository.findDelivery(id, deliveryId);
      if (!row) throw new AppError('NOT_FOUND', 'delivery not found');
      const now = clock.now().getTime();
      await repository.finishAttempt(deliveryId, { status: 'pending', attempts: 0, next_attempt_at: now, claimed_until: null });
      tick();
      return toDelivery({ ...row, status: 'pending', attempts: 0, next_attempt_at: now, claimed_until: null });
    },

    /** Called for every stored message: writes the outbox rows it makes and wakes the dispatcher. */
    async messageStored(message: Message): Promise<void> {
      const list = await loadSubscriptions();
      if (list.length === 0) return;
      const rows = rowsFor(message, list, clock.now().getTime());
      if (rows.length === 0) return;
      await repository.insertDeliveries(rows);
      tick();
    },

    /** Starts the dispatcher: rows left pending by a stopped process are picked up now. */
    start(): void {
      stopped = false;
      timer = setInterval(tick, settings.pollMs);
      timer.unref();
      tick();
    },

    /** Wakes the dispatcher now (tests, replays). */
    wake: tick,

    async stop(): Promise<void> {
      stopped = true;
      if (timer) clearInterval(timer);
      await running;
    },
  };
}

export type WebhooksService = ReturnType<typeof createWebhooksService>;
