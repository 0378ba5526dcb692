import { randomBytes } from 'node:crypto';
import type { CreatedIncomingWebhook, CreateIncomingWebhookBody, IncomingWebhook } from '../../contract/bots.js';
import type { Message, MessageType } from '../../contract/messages.js';
import type { Cache } from '../../platform/cache/cache.js';
import type { Actor } from '../../shared/actor.js';
import type { Clock } from '../../shared/clock.js';
import { AppError } from '../../shared/errors.js';
import { newId } from '../../shared/ids.js';
import { decodeTimeIdCursor, encodeTimeIdCursor, type Page } from '../../shared/pagination.js';
import { toUser, type UsersRepository } from '../users/index.js';
import type { BotsRepository, IncomingWebhookRow } from './bots.repository.js';
import { sha256Hex } from './bots.service.js';

export interface IncomingServiceDeps {
  repository: BotsRepository;
  users: UsersRepository;
  cache: Cache;
  clock: Clock;
  /** The caller's role in a group conversation; NOT_FOUND for non-members and anything not a group. */
  groupRole: (userId: string, conversationId: string) => Promise<string>;
  /** Makes a bot account owned by `ownerId` for a hook. */
  createBot: (ownerId: string, nickname: string) => Promise<string>;
  /** Puts the hook's bot into the group (its owner adds it). */
  addToGroup: (actor: Actor, conversationId: string, botId: string) => Promise<void>;
  post: (senderId: string, conversationId: string, input: { type: MessageType; content: string; clientMsgId: string }) => Promise<Message>;
  postsPerMinute: number;
  /** Where the hooks are served (`/api/v1/hooks`). */
  basePath: string;
}

const iso = (ms: number | null) => (ms === null ? null : new Date(Number(ms)).toISOString());

/** Incoming webhooks: a secret URL that posts text into one group as a bot (docs/webhooks.md). */
export function createIncomingService(deps: IncomingServiceDeps) {
  const { repository, clock } = deps;

  async function requireGroupAdmin(actor: Actor, conversationId: string): Promise<void> {
    if (actor.bot) throw new AppError('FORBIDDEN', 'a bot cannot manage incoming webhooks');
    const role = await deps.groupRole(actor.userId, conversationId);
    if (role !== 'owner' && role !== 'admin') throw new AppError('FORBIDDEN', 'only the group owner or an admin manages incoming webhooks');
  }

  async function toHooks(rows: IncomingWebhookRow[]): Promise<IncomingWebhook[]> {
    const bots = new Map((await deps.users.findByIds(rows.map((row) => row.bot_id))).map((user) => [user.id, user]));
    return rows.flatMap((row) => {
      const bot = bots.get(row.bot_id);
      return bot ? [{ id: row.id, conversationId: row.conversation_id, bot: toUser(bot), createdAt: iso(row.created_at) as string, revokedAt: iso(row.revoked_at) }] : [];
    });
  }

  return {
    async create(actor: Actor, conversationId: string, input: CreateIncomingWebhookBody): Promise<CreatedIncomingWebhook> {
      await requireGroupAdmin(actor, conversationId);
      const botId = await deps.createBot(actor.userId, input.nickname ?? 'Webhook');
      await deps.addToGroup(actor, conversationId, botId);
      const token = randomBytes(32).toString('base64url');
      const row: IncomingWebhookRow = {
        id: newId(),
        conversation_id: conversationId,
        creator_id: actor.userId,
        bot_id: botId,
        token_hash: sha256Hex(token),
        created_at: clock.now().getTime(),
        revoked_at: null,
      };
      await repository.insertIncoming(row);
      const [hook] = await toHooks([row]);
      return { ...(hook as IncomingWebhook), url: `${deps.basePath}/${token}` };
    },

    async list(actor: Actor, conversationId: string, cursor: string | undefined, limit: number): Promise<Page<IncomingWebhook>> {
      await requireGroupAdmin(actor, conversationId);
      const rows = await repository.pageIncoming(conversationId, decodeTimeIdCursor(cursor), limit + 1);
      const page = rows.slice(0, limit);
      const last = page.at(-1);
      return { items: await toHooks(page), nextCursor: rows.length > limit && last ? encodeTimeIdCursor({ at: Number(last.created_at), id: last.id }) : null };
    },

    async revoke(actor: Actor, conversationId: string, hookId: string): Promise<void> {
      await requireGroupAdmin(actor, conversationId);
      if (!(await repository.findIncoming(conversationId, hookId))) throw new AppError('NOT_FOUND', 'incoming webhook not found');
      await repository.revokeIncoming(hookId, clock.now().getTime());
    },

    /** Posts `text` as the hook's bot; unknown and revoked tokens are NOT_FOUND alike. */
    async post(token: string, text: string): Promise<Message> {
      const row = await repository.incomingByHash(sha256Hex(token));
      if (!row || row.revoked_at !== null) throw new AppError('NOT_FOUND', 'no such hook');
      const counted = await deps.cache.incr(`hooks:in:${row.id}`, 60_000);
      if (counted.count > deps.postsPerMinute)
        throw new AppError('RATE_LIMITED', 'too many posts through this hook; try again later', undefined, Math.max(1, Math.ceil(counted.ttlMs / 1000)));
      // The bot posts like the server does for people (postAs): it must still be in the group.
      return deps.post(row.bot_id, row.conversation_id, { type: 'text', content: text, clientMsgId: `hook:${newId()}` });
    },
  };
}

export type IncomingService = ReturnType<typeof createIncomingService>;
