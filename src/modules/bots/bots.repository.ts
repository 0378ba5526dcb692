import type { Insertable, Kysely, Selectable } from 'kysely';
import { isUniqueViolation } from '../../platform/db/errors.js';
import { lockRowsById } from '../../platform/db/locks.js';
import type { BotTokensTable, Database, IncomingWebhooksTable, UsersTable, WebhookDeliveriesTable, WebhooksTable } from '../../platform/db/schema.js';
import type { TimeIdPosition } from '../../shared/pagination.js';

export type BotTokenRow = Selectable<BotTokensTable>;
export type WebhookRow = Selectable<WebhooksTable>;
export type DeliveryRow = Selectable<WebhookDeliveriesTable>;
export type IncomingWebhookRow = Selectable<IncomingWebhooksTable>;
export type BotRow = { user_id: string; owner_id: string; created_at: number };

/** What inserting a bot did: stored it, or found the owner at their limit or the username taken. */
export type BotInsert = 'created' | 'limit-reached' | 'username-taken';

/** Bots, their tokens, webhook subscriptions, the delivery outbox and incoming webhooks. */
export function createBotsRepository(db: Kysely<Database>) {
  return {
    /**
     * The bot's user row, its (empty) profile and its owner, in one transaction, unless the owner
     * already has `limit` bots or the username is taken. The count is made holding the owner's row
     * (see lockRowsById) and the username is left to its unique index: read before the write, a
     * burst of creations all counted one bot short of the limit, and two creations of one name both
     * found it free and the second insert failed on the index.
     */
    async insertBot(user: Insertable<UsersTable>, ownerId: string, now: number, limit?: number): Promise<BotInsert> {
      try {
        return await db.transaction().execute(async (trx): Promise<BotInsert> => {
          if (limit !== undefined) {
            await lockRowsById(trx, 'users', [ownerId]);
            const owned = await trx
              .selectFrom('bots')
              .select((eb) => eb.fn.countAll<number>().as('n'))
              .where('owner_id', '=', ownerId)
              .executeTakeFirst();
            if (Number(owned?.n ?? 0) >= limit) return 'limit-reached';
          }
          await trx.insertInto('users').values(user).execute();
          await trx.insertInto('profiles').values({ user_id: user.id, allow_messages_from: 'everyone', updated_at: now }).execute();
          await trx.insertInto('bots').values({ user_id: user.id, owner_id: ownerId, created_at: now }).execute();
          return 'created';
        });
      } catch (error) {
        // Caught once the transaction has rolled back (PostgreSQL refuses statements after a failed one):
        // the ids are new, so the only unique key the inserts can meet is the username's.
        if (isUniqueViolation(error)) return 'username-taken';
        throw error;
      }
    },

    findBot(botId: string): Promise<BotRow | undefined> {
      return db.selectFrom('bots').selectAll().where('user_id', '=', botId).executeTakeFirst();
    },

    async ownedBotIds(ownerId: string): Promise<string[]> {
      return (await db.selectFrom('bots').select('user_id').where('owner_id', '=', ownerId).execute()).map((row) => row.user_id);
    },

    /** The owner's bots, newest first, after `before`. */
    pageBots(ownerId: string, before: TimeIdPosition | undefined, limit: number): Promise<BotRow[]> {
      let query = db.selectFrom('bots').selectAll().where('owner_id', '=', ownerId);
      if (before) query = query.where((eb) => eb.or([eb('created_at', '<', before.at), eb.and([eb('created_at', '=', before.at), eb('user_id', '<', before.id)])]));
      return query.orderBy('created_at', 'desc').orderBy('user_id', 'desc').limit(limit).execute();
    },

    insertToken(row: BotTokenRow): Promise<unknown> {
      return db.insertInto('bot_tokens').values(row).execute();
    },

    tokenByHash(hash: string): Promise<BotTokenRow | undefined> {
      return db.selectFrom('bot_tokens').selectAll().where('token_hash', '=', hash).executeTakeFirst();
    },

    pageTokens(botId: string, before: TimeIdPosition | undefined, limit: number): Promise<BotTokenRow[]> {
      let query = db.selectFrom('bot_tokens').selectAll().where('bot_id', '=', botId);
      if (before) query = query.where((eb) => eb.or([eb('created_at', '<', before.at), eb.and([eb('created_at', '=', before.at), eb('id', '<', before.id)])]));
      return query.orderBy('created_at', 'desc').orderBy('id', 'desc').limit(limit).execute();
    },

    /** True when a live token was revoked now. */
    async revokeToken(botId: string, tokenId: string, now: number): Promise<boolean> {
      const result = await db
        .updateTable('bot_tokens')
        .set({ revoked_at: now })
        .where('id', '=', tokenId)
        .where('bot_id', '=', botId)
        .where('revoked_at', 'is', null)
        .executeTakeFirst();
      return Number(result.numUpdatedRows) === 1;
    },

    findToken(botId: string, tokenId: string): Promise<BotTokenRow | undefined> {
      return db.selectFrom('bot_tokens').selectAll().where('id', '=', tokenId).where('bot_id', '=', botId).executeTakeFirst();
    },

    insertWebhook(row: WebhookRow): Promise<unknown> {
      return db.insertInto('webhooks').values(row).execute();
    },

    findWebhook(id: string): Promise<WebhookRow | undefined> {
      return db.selectFrom('webhooks').selectAll().where('id', '=', id).executeTakeFirst();
    },

    pageWebhooks(ownerId: string, before: TimeIdPosition | undefined, limit: number): Promise<WebhookRow[]> {
      let query = db.selectFrom('webhooks').selectAll().where('owner_id', '=', ownerId);
      if (before) query = query.where((eb) => eb.or([eb('created_at', '<', before.at), eb.and([eb('created_at', '=', before.at), eb('id', '<', before.id)])]));
      return query.orderBy('created_at', 'desc').orderBy('id', 'desc').limit(limit).execute();
    },

    async deleteWebhook(id: string): Promise<void> {
      await db.deleteFrom('webhook_deliveries').where('webhook_id', '=', id).execute();
      await db.deleteFrom('webhooks').where('id', '=', id).execute();
    },

    /** Every subscription with its bot's username (for bot.mentioned); a small table read every few seconds. */
    allWebhooks(): Promise<Array<WebhookRow & { bot_username: string | null }>> {
      return db.selectFrom('webhooks').leftJoin('users', 'users.id', 'webhooks.bot_id').selectAll('webhooks').select('users.username as bot_username').execute();
    },

    async insertDeliveries(rows: DeliveryRow[]): Promise<void> {
      if (rows.length > 0) await db.insertInto('webhook_deliveries').values(rows).execute();
    },

    /** Ids of pending rows due now and not claimed by a live process, oldest first. */
    async dueIds(now: number, limit: number): Promise<string[]> {
      const rows = await db
        .selectFrom('webhook_deliveries')
        .select('id')
        .where('status', '=', 'pending')
        .where('next_attempt_at', '<=', now)
        .where((eb) => eb.or([eb('claimed_until', 'is', null), eb('claimed_until', '<', now)]))
        .orderBy('next_attempt_at')
        .limit(limit)
        .execute();
      return rows.map((row) => row.id);
    },

    /**
     * Claims a due row for `until`: the update repeats the due condition, so of several processes
     * racing for the same row exactly one sees an affected row.
     */
    async claim(id: string, now: number, until: number): Promise<boolean> {
      const result = await db
        .updateTable('webhook_deliveries')
        .set({ claimed_until: until })
        .where('id', '=', id)
        .where('status', '=', 'pending')
        .where('next_attempt_at', '<=', now)
        .where((eb) => eb.or([eb('claimed_until', 'is', null), eb('claimed_until', '<', now)]))
        .executeTakeFirst();
      return Number(result.numUpdatedRows) === 1;
    },

    deliveryById(id: string): Promise<DeliveryRow | undefined> {
      return db.selectFrom('webhook_deliveries').selectAll().where('id', '=', id).executeTakeFirst();
    },

    findDelivery(webhookId: string, id: string): Promise<DeliveryRow | undefined> {
      return db.selectFrom('webhook_deliveries').selectAll().where('id', '=', id).where('webhook_id', '=', webhookId).executeTakeFirst();
    },

    async finishAttempt(
      id: string,
      patch: Partial<Pick<DeliveryRow, 'status' | 'attempts' | 'next_attempt_at' | 'claimed_until' | 'last_status' | 'last_error' | 'delivered_at'>>,
    ): Promise<void> {
      await db.updateTable('webhook_deliveries').set(patch).where('id', '=', id).execute();
    },

    pageDeliveries(webhookId: string, before: TimeIdPosition | undefined, limit: number): Promise<DeliveryRow[]> {
      let query = db.selectFrom('webhook_deliveries').selectAll().where('webhook_id', '=', webhookId);
      if (before) query = query.where((eb) => eb.or([eb('created_at', '<', before.at), eb.and([eb('created_at', '=', before.at), eb('id', '<', before.id)])]));
      return query.orderBy('created_at', 'desc').orderBy('id', 'desc').limit(limit).execute();
    },

    insertIncoming(row: IncomingWebhookRow): Promise<unknown> {
      return db.insertInto('incoming_webhooks').values(row).execute();
    },

    incomingByHash(hash: string): Promise<IncomingWebhookRow | undefined> {
      return db.selectFrom('incoming_webhooks').selectAll().where('token_hash', '=', hash).executeTakeFirst();
    },

    findIncoming(conversationId: string, id: string): Promise<IncomingWebhookRow | undefined> {
      return db.selectFrom('incoming_webhooks').selectAll().where('id', '=', id).where('conversation_id', '=', conversationId).executeTakeFirst();
    },

    pageIncoming(conversationId: string, before: TimeIdPosition | undefined, limit: number): Promise<IncomingWebhookRow[]> {
      let query = db.selectFrom('incoming_webhooks').selectAll().where('conversation_id', '=', conversationId);
      if (before) query = query.where((eb) => eb.or([eb('created_at', '<', before.at), eb.and([eb('created_at', '=', before.at), eb('id', '<', before.id)])]));
      return query.orderBy('created_at', 'desc').orderBy('id', 'desc').limit(limit).execute();
    },

    async revokeIncoming(id: string, now: number): Promise<void> {
      await db.updateTable('incoming_webhooks').set({ revoked_at: now }).where('id', '=', id).where('revoked_at', 'is', null).execute();
    },
  };
}

export type BotsRepository = ReturnType<typeof createBotsRepository>;
