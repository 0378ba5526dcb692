import type { NotificationLevel, NotificationSettings, NotificationSettingsBody } from '../../contract/conversations.js';
import type { Mentions, Message } from '../../contract/messages.js';
import type { ClusterBus } from '../../platform/realtime/cluster-bus.js';
import { createProcessCache } from '../../platform/realtime/process-cache.js';
import type { Actor } from '../../shared/actor.js';
import type { Clock } from '../../shared/clock.js';
import { AppError } from '../../shared/errors.js';
import { isoOrNull } from '../../shared/time.js';
import type { ConversationAccess } from '../policy/index.js';
import type { NotificationRow, NotificationsRepository } from './notifications.repository.js';

export interface NotificationsServiceDeps {
  repository: NotificationsRepository;
  /** Carries setting changes to every process's copy of the settings, so a delivery reads neither the database nor Redis for them. */
  bus: ClusterBus;
  clock: Clock;
  policy: {
    /** The caller's access to a conversation; NOT_FOUND when they may not see it. */
    conversation(userId: string, conversationId: string): Promise<ConversationAccess>;
    /** Everyone the user blocked or was blocked by. */
    blockedEitherWay(userId: string): Promise<Set<string>>;
  };
}

/** What isNotifying reads of a message. */
export type NotifyingMessage = Pick<Message, 'conversationId' | 'senderId' | 'type' | 'recalledAt'> & { mentions?: Mentions };

const CACHE_TTL_MS = 10 * 60_000;
const CACHED_CONVERSATIONS = 50_000;
const DEFAULT: NotificationSettings = { level: 'all', until: null };

function mentioned(message: NotifyingMessage, userId: string): boolean {
  if (!message.mentions || message.senderId === userId) return false;
  return message.mentions.all || message.mentions.userIds.includes(userId);
}

export function createNotificationsService(deps: NotificationsServiceDeps) {
  const { repository, clock, policy } = deps;
  /** Each conversation's non-default settings by user, in this process; a change drops it in every process before it is answered. */
  const settingsCache = createProcessCache<Map<string, NotificationRow>>({
    bus: deps.bus,
    topic: 'notification-settings-changed',
    ttlMs: CACHE_TTL_MS,
    maxEntries: CACHED_CONVERSATIONS,
  });

  /** A stored row as it applies now: a setting whose `until` has passed is 'all' again. */
  function effective(row: Pick<NotificationRow, 'level' | 'until'> | undefined, now: number): NotificationSettings {
    if (!row || (row.until !== null && row.until <= now)) return DEFAULT;
    return { level: row.level as NotificationLevel, until: isoOrNull(row.until) };
  }

  /** A conversation's non-default settings by user (filled from the database on a miss). */
  function settingsOf(conversationId: string): Promise<Map<string, NotificationRow>> {
    return settingsCache.get(conversationId, async () => new Map((await repository.ofConversation(conversationId)).map((row) => [row.user_id, row])));
  }

  /** The rule, given the recipient's setting and whether they blocked (or are blocked by) the sender. */
  function decide(message: NotifyingMessage, recipientId: string, setting: NotificationSettings, blocked: boolean): boolean {
    if (message.senderId === recipientId || message.recalledAt !== null || message.type === 'system' || blocked) return false;
    if (setting.level === 'none') return false;
    if (setting.level === 'mentions') return mentioned(message, recipientId);
    return true;
  }

  return {
    /**
     * Whether `message` should alert `recipientId` (a desktop notification, a Web Push, a sound):
     * never for their own messages, group event records (`system`), recalled messages, or a sender
     * blocked either way; otherwise by the recipient's setting for the conversation: 'all' every
     * message, 'mentions' only messages mentioning them by name or `@all`, 'none' nothing. A setting
     * whose `until` has passed counts as 'all'. It does not check membership: ask only about
     * recipients of the message. Deliveries to sockets happen whatever this says (`chat` carries it
     * as `notify`).
     */
    async isNotifying(message: NotifyingMessage, recipientId: string): Promise<boolean> {
      if (message.senderId === recipientId) return false;
      const [settings, blocked] = await Promise.all([settingsOf(message.conversationId), policy.blockedEitherWay(message.senderId)]);
      return decide(message, recipientId, effective(settings.get(recipientId), clock.now().getTime()), blocked.has(recipientId));
    },

    /**
     * Of everyone, the users whom `message` does not alert although they may receive it (the
     * isNotifying rule, for a whole fan-out at once): the sender, users blocked either way with
     * them, and those whose setting excludes it. `everyone` when nobody is alerted (a system
     * record). May hold non-members: the caller intersects with the audience.
     */
    async quietRecipients(message: NotifyingMessage): Promise<{ everyone: boolean; userIds: Set<string> }> {
      if (message.type === 'system' || message.recalledAt !== null) return { everyone: true, userIds: new Set() };
      const [settings, blocked] = await Promise.all([settingsOf(message.conversationId), policy.blockedEitherWay(message.senderId)]);
      const quiet = new Set([message.senderId, ...blocked]);
      const now = clock.now().getTime();
      for (const [userId, row] of settings) if (!decide(message, userId, effective(row, now), false)) quiet.add(userId);
      return { everyone: false, userIds: quiet };
    },

    /** The caller's settings in these conversations ('all' where they have none). */
    async settingsFor(userId: string, conversationIds: readonly string[]): Promise<Map<string, NotificationSettings>> {
      const now = clock.now().getTime();
      const rows = await repository.ofUser(userId, conversationIds);
      const byConversation = new Map(rows.map((row) => [row.conversation_id, row]));
      return new Map(conversationIds.map((id) => [id, effective(byConversation.get(id), now)]));
    },

    /**
     * Sets what alerts the caller in a conversation they belong to. `until` (future only, not with
     * 'all') makes it revert to 'all' then. Messages keep arriving on every socket whatever the level.
     */
    async set(actor: Actor, conversationId: string, body: NotificationSettingsBody): Promise<NotificationSettings> {
      const where = await policy.conversation(actor.userId, conversationId);
      const now = clock.now().getTime();
      let until: number | null = null;
      if (body.until !== undefined) {
        if (body.level === 'all') throw AppError.validation('until', "cannot be given with level 'all' (it has no end)");
        until = Date.parse(body.until);
        if (!Number.isFinite(until) || until <= now) throw AppError.validation('until', 'must be a time in the future');
      }
      await repository.set(actor.userId, where.id, body.level, until, now);
      await settingsCache.invalidate([where.id]);
      return effective(body.level === 'all' ? undefined : { level: body.level, until }, now);
    },
  };
}

export type NotificationsService = ReturnType<typeof createNotificationsService>;
