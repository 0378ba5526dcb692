import { createHash, randomBytes } from 'node:crypto';
import type { Bot, BotScope, BotToken, CreateBotBody, CreateBotTokenBody, CreatedBotToken } from '../../contract/bots.js';
import type { Publisher } from '../../platform/realtime/publisher.js';
import type { Actor } from '../../shared/actor.js';
import type { Clock } from '../../shared/clock.js';
import { AppError } from '../../shared/errors.js';
import { newId } from '../../shared/ids.js';
import { decodeTimeIdCursor, encodeTimeIdCursor, type Page } from '../../shared/pagination.js';
import { normalizeNickname, normalizeUsername, toUser, type UsersRepository } from '../users/index.js';
import type { BotRow, BotsRepository, BotTokenRow } from './bots.repository.js';

/** Bot tokens start with this, so the auth layer tells them from JWTs without trying to parse them. */
export const BOT_TOKEN_PREFIX = 'pbt_';

export const sha256Hex = (text: string) => createHash('sha256').update(text).digest('hex');
const iso = (ms: number | null) => (ms === null ? null : new Date(Number(ms)).toISOString());

export interface BotsServiceDeps {
  repository: BotsRepository;
  users: UsersRepository;
  clock: Clock;
  publisher: Publisher;
  /** The bot's membership of a conversation (the access policy); throws NOT_FOUND when it is not one. */
  requireMember: (userId: string, conversationId: string) => Promise<unknown>;
  perUser: number;
}

/** Bot accounts owned by users, and their long-lived, scoped API tokens (docs/webhooks.md, Bots). */
export function createBotsService(deps: BotsServiceDeps) {
  const { repository, users, clock } = deps;

  async function ownBot(actor: Actor, botId: string): Promise<BotRow> {
    const bot = await repository.findBot(botId);
    // Someone else's bot is not shown to exist.
    if (!bot || bot.owner_id !== actor.userId) throw new AppError('NOT_FOUND', 'bot not found');
    return bot;
  }

  const toToken = (row: BotTokenRow): BotToken => ({
    id: row.id,
    botId: row.bot_id,
    scopes: { conversationIds: JSON.parse(row.conversation_ids) as string[], actions: JSON.parse(row.actions) as BotScope['actions'] },
    createdAt: iso(row.created_at) as string,
    revokedAt: iso(row.revoked_at),
  });

  async function toBots(rows: BotRow[]): Promise<Bot[]> {
    const byId = new Map((await users.findByIds(rows.map((row) => row.user_id))).map((user) => [user.id, user]));
    return rows.flatMap((row) => {
      const user = byId.get(row.user_id);
      return user ? [{ user: toUser(user), ownerId: row.owner_id, createdAt: iso(row.created_at) as string }] : [];
    });
  }

  function refuseBots(actor: Actor): void {
    if (actor.bot) throw new AppError('FORBIDDEN', 'a bot cannot manage bots');
  }

  return {
    /** Creates a bot account owned by the caller (at most `perUser` each). */
    async create(actor: Actor, input: CreateBotBody): Promise<Bot> {
      refuseBots(actor);
      if (actor.isGuest) throw new AppError('FORBIDDEN', 'a guest cannot own bots');
      const { username, lower } = normalizeUsername(input.username);
      const nickname = input.nickname === undefined ? username : normalizeNickname(input.nickname);
      const now = clock.now().getTime();
      const id = newId();
      // The limit and the name are decided with the insert, against the bots committed before it.
      const outcome = await repository.insertBot(
        {
          id,
          username,
          username_lower: lower,
          nickname,
          nickname_lower: nickname.toLowerCase(),
          email: null,
          email_lower: null,
          // No password: a bot signs in with its tokens only.
          password_hash: null,
          is_guest: 0,
          is_bot: 1,
          avatar_url: null,
          bio: '',
          created_at: now,
          updated_at: now,
          last_login_at: now,
          last_seen_at: null,
        },
        actor.userId,
        now,
        deps.perUser,
      );
      if (outcome === 'limit-reached') throw new AppError('CONFLICT', `you own the most bots allowed (${deps.perUser})`);
      if (outcome === 'username-taken') throw new AppError('CONFLICT', 'username is taken', [{ field: 'username', message: 'is taken' }]);
      const [bot] = await toBots([{ user_id: id, owner_id: actor.userId, created_at: now }]);
      return bot as Bot;
    },

    /** Makes a bot account for an incoming webhook, owned by its creator (no limit: it goes with the hook). */
    async createForHook(ownerId: string, nickname: string): Promise<string> {
      const id = newId();
      const username = `hook_${id.replace(/-/g, '').slice(0, 20)}`;
      const now = clock.now().getTime();
      const nick = normalizeNickname(nickname);
      const outcome = await repository.insertBot(
        {
          id,
          username,
          username_lower: username.toLowerCase(),
          nickname: nick,
          nickname_lower: nick.toLowerCase(),
          email: null,
          email_lower: null,
          password_hash: null,
          is_guest: 0,
          is_bot: 1,
          avatar_url: null,
          bio: '',
          created_at: now,
          updated_at: now,
          last_login_at: now,
          last_seen_at: null,
        },
        ownerId,
        now,
      );
      // The name is made of a fresh id: only an account registered under that very name could hold it.
      if (outcome !== 'created') throw new Error(`the webhook bot's username ${username} is taken`);
      return id;
    },

    async list(actor: Actor, cursor: string | undefined, limit: number): Promise<Page<Bot>> {
      refuseBots(actor);
      const rows = await repository.pageBots(actor.userId, decodeTimeIdCursor(cursor), limit + 1);
      const page = rows.slice(0, limit);
      const last = page.at(-1);
      return { items: await toBots(page), nextCursor: rows.length > limit && last ? encodeTimeIdCursor({ at: Number(last.created_at), id: last.user_id }) : null };
    },

    /** Issues a token; the secret is in this answer only (the database keeps its SHA-256). */
    async createToken(actor: Actor, botId: string, input: CreateBotTokenBody): Promise<CreatedBotToken> {
      refuseBots(actor);
      await ownBot(actor, botId);
      const conversationIds = [...new Set(input.scopes.conversationIds)];
      // The bot must already be in each conversation: a token never lets it into one.
      for (const conversationId of conversationIds) {
        await deps.requireMember(botId, conversationId).catch(() => {
          throw AppError.validation('scopes.conversationIds', `the bot is not a member of ${conversationId}`);
        });
      }
      const token = `${BOT_TOKEN_PREFIX}${randomBytes(32).toString('base64url')}`;
      const row: BotTokenRow = {
        id: newId(),
        bot_id: botId,
        token_hash: sha256Hex(token),
        conversation_ids: JSON.stringify(conversationIds),
        actions: JSON.stringify([...new Set(input.scopes.actions)]),
        created_at: clock.now().getTime(),
        revoked_at: null,
      };
      await repository.insertToken(row);
      return { ...toToken(row), token };
    },

    async listTokens(actor: Actor, botId: string, cursor: string | undefined, limit: number): Promise<Page<BotToken>> {
      refuseBots(actor);
      await ownBot(actor, botId);
      const rows = await repository.pageTokens(botId, decodeTimeIdCursor(cursor), limit + 1);
      const page = rows.slice(0, limit);
      const last = page.at(-1);
      return { items: page.map(toToken), nextCursor: rows.length > limit && last ? encodeTimeIdCursor({ at: Number(last.created_at), id: last.id }) : null };
    },

    /** Revokes a token: at once for REST, and its open sockets are disconnected. Idempotent. */
    async revokeToken(actor: Actor, botId: string, tokenId: string): Promise<void> {
      refuseBots(actor);
      await ownBot(actor, botId);
      if (!(await repository.findToken(botId, tokenId))) throw new AppError('NOT_FOUND', 'token not found');
      if (await repository.revokeToken(botId, tokenId, clock.now().getTime())) deps.publisher.disconnectSessions([`bot:${tokenId}`], 'session_ended');
    },

    /** The bot's owner, or undefined for an account that is not a bot. */
    async ownerOf(userId: string): Promise<string | undefined> {
      return (await repository.findBot(userId))?.owner_id;
    },

    ownedBotIds: (ownerId: string) => repository.ownedBotIds(ownerId),

    /** Verifies a bot token (`pbt_…`): the bot as an actor carrying the token's scope. */
    async authenticate(token: string): Promise<Actor> {
      const row = await repository.tokenByHash(sha256Hex(token));
      if (!row || row.revoked_at !== null) throw new AppError('UNAUTHORIZED', 'invalid bot token');
      const scope = toToken(row).scopes;
      return { userId: row.bot_id, sessionId: `bot:${row.id}`, isGuest: false, bot: { tokenId: row.id, conversationIds: scope.conversationIds, actions: scope.actions } };
    },
  };
}

export type BotsService = ReturnType<typeof createBotsService>;
