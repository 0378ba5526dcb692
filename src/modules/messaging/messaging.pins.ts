import { createHash } from 'node:crypto';
import type { Attachment, Message, MessageType } from '../../contract/messages.js';
import { type ForwardBody, type ForwardResult, MAX_PINS_PER_CONVERSATION, type PinnedQuery } from '../../contract/pins.js';
import type { Cache } from '../../platform/cache/cache.js';
import type { Actor } from '../../shared/actor.js';
import type { Clock } from '../../shared/clock.js';
import { AppError } from '../../shared/errors.js';
import { decodeTimeIdCursor, encodeTimeIdCursor, type Page } from '../../shared/pagination.js';
import type { ConversationAccess } from '../policy/index.js';
import type { UsersRepository } from '../users/index.js';
import type { QuietAudience } from './messaging.delivery.js';
import type { MessagingRepository } from './messaging.repository.js';
import type { MessageRow } from './messaging.rows.js';
import type { ForwardOrigin, PinsRepository } from './pins.repository.js';

/** Pins and unpins allowed per user per minute: each one reaches every member's devices. */
const PIN_LIMIT = { max: 60, windowMs: 60_000 };
/** Call and system messages are the server's records of something that happened there: not copied elsewhere. */
const FORWARDABLE = new Set<MessageType>(['text', 'emoji', 'image', 'file', 'audio', 'video']);
const PINNERS_IN_GROUPS = new Set(['owner', 'admin']);

/** What pinning and forwarding use of the messaging service (its rules, delivery and rows). */
export interface PinsContext {
  messages: MessagingRepository;
  pins: PinsRepository;
  users: Pick<UsersRepository, 'findByIds'>;
  cache: Cache;
  clock: Clock;
  sendLimit: { max: number; windowMs: number };
  attachments?: { resolveAttachments(actor: Actor, conversationId: string, attachments: readonly Attachment[]): Promise<Attachment[]> };
  access(actor: Actor, conversationId: string): Promise<ConversationAccess>;
  requireVisibleMessage(actor: Actor, messageId: string): Promise<{ row: MessageRow; where: ConversationAccess }>;
  checkMayWrite(actor: Actor, where: ConversationAccess): Promise<void>;
  checkMaySend(actor: Actor, where: ConversationAccess): Promise<void>;
  toMessages(rows: MessageRow[]): Promise<Message[]>;
  /** The wire form of a row whose reactions, pin and origin are known (no read). */
  toMessage(row: MessageRow, reactions: Array<{ emoji: string; user_id: string }>, extras?: { forward?: ForwardOrigin }): Message;
  /** Sends `message_updated`. */
  deliver(where: ConversationAccess, message: Message): void;
  /** Whom a new message of `senderId` will not alert; asked before the insert (see the service's store). */
  quietAudience(where: ConversationAccess, senderId: string, type: MessageType): Promise<QuietAudience>;
  /** Delivers a new message with each recipient's `notify`. */
  deliverNew(where: ConversationAccess, message: Message, quiet: QuietAudience): void;
}

/** The clientMsgId of one copy a forward makes: a retry of the same forward finds the same ids. */
const forwardClientMsgId = (clientMsgId: string, messageId: string, conversationId: string) =>
  `fwd.${clientMsgId}.${createHash('sha256').update(`${messageId}>${conversationId}`).digest('base64url').slice(0, 16)}`;

export function createPinsAndForwards(ctx: PinsContext) {
  const { messages, pins, cache, clock } = ctx;

  /** In a group only the owner and admins pin; in a private chat either person does. */
  function requirePinner(where: ConversationAccess): void {
    if (where.kind === 'group' && !PINNERS_IN_GROUPS.has(where.role)) throw new AppError('FORBIDDEN', 'only the owner or an admin can pin messages in a group');
  }

  async function limitPins(actor: Actor): Promise<void> {
    const { count, ttlMs } = await cache.incr(`pin:${actor.userId}`, PIN_LIMIT.windowMs);
    if (count > PIN_LIMIT.max) throw new AppError('RATE_LIMITED', 'pinning too fast', undefined, Math.ceil(ttlMs / 1000));
  }

  /** Each message a forward creates counts against the sender's send limit, like a message sent. */
  async function limitSends(actor: Actor, created: number): Promise<void> {
    const counts = await Promise.all(Array.from({ length: created }, () => cache.incr(`send:${actor.userId}`, ctx.sendLimit.windowMs)));
    const over = counts.find((c) => c.count > ctx.sendLimit.max);
    if (over) throw new AppError('RATE_LIMITED', 'sending too fast', undefined, Math.ceil(over.ttlMs / 1000));
  }

  /** The origin a copy of `row` records: the origin of `row` itself when it was a forward already. */
  async function originsOf(rows: MessageRow[]): Promise<Map<number, ForwardOrigin>> {
    const { forwards } = await pins.extrasFor(rows.map((row) => Number(row.id)));
    const senders = new Map((await ctx.users.findByIds([...new Set(rows.map((row) => row.sender_id))])).map((user) => [user.id, user]));
    const origins = new Map<number, ForwardOrigin>();
    for (const row of rows) {
      const sender = senders.get(row.sender_id);
      origins.set(
        Number(row.id),
        forwards.get(Number(row.id)) ?? {
          origin_sender_id: row.sender_id,
          origin_sender_name: (sender?.nickname || sender?.username || '').slice(0, 255),
          origin_sent_at: Number(row.created_at),
        },
      );
    }
    return origins;
  }

  return {
    /**
     * Pins a message in its conversation (any member of a private chat; the owner or an admin of a
     * group) and tells every device there with `message_updated`. Pinning a pinned message
     * changes nothing and tells nobody.
     */
    async pin(actor: Actor, messageId: string): Promise<Message> {
      const { row, where } = await ctx.requireVisibleMessage(actor, messageId);
      requirePinner(where);
      if (row.recalled_at !== null) throw new AppError('CONFLICT', 'a recalled message cannot be pinned');
      await ctx.checkMayWrite(actor, where);
      await limitPins(actor);
      const { pins: pinned } = await pins.extrasFor([Number(row.id)]);
      if (!pinned.has(Number(row.id))) {
        const outcome = await pins.pin(Number(row.id), where.id, actor.userId, clock.now().getTime(), MAX_PINS_PER_CONVERSATION);
        if (outcome === 'limit-reached') throw new AppError('PIN_LIMIT_REACHED', `a conversation holds at most ${MAX_PINS_PER_CONVERSATION} pinned messages: unpin one first`);
        if (outcome === 'pinned') {
          const [message] = await ctx.toMessages([row]);
          ctx.deliver(where, message as Message);
          return message as Message;
        }
      }
      return (await ctx.toMessages([row]))[0] as Message;
    },

    /** Unpins a message (the same people as pinning) and tells every device there. */
    async unpin(actor: Actor, messageId: string): Promise<Message> {
      const { row, where } = await ctx.requireVisibleMessage(actor, messageId);
      requirePinner(where);
      await limitPins(actor);
      // Taking a pin away only removes something: allowed across a block or a mute, like taking a reaction back.
      if (!(await pins.unpin(Number(row.id)))) throw new AppError('NOT_FOUND', 'message is not pinned');
      const [message] = await ctx.toMessages([row]);
      ctx.deliver(where, message as Message);
      return message as Message;
    },

    /** A conversation's pinned messages, most recently pinned first. */
    async pinned(actor: Actor, conversationId: string, query: PinnedQuery): Promise<Page<Message>> {
      const where = await ctx.access(actor, conversationId);
      const before = decodeTimeIdCursor(query.cursor);
      const limit = query.limit ?? 50;
      const rows = await pins.pinnedPage(where.id, before, limit + 1);
      const items = await ctx.toMessages(rows.slice(0, limit));
      const last = rows.length > limit ? rows[limit - 1] : undefined;
      return { items, nextCursor: last ? encodeTimeIdCursor({ at: Number(last.pinned_at), id: String(last.id) }) : null };
    },

    /**
     * Copies messages the caller can read into conversations they may send to, as new messages of
     * theirs that record the original sender and time (never the origin conversation). Everything
     * is checked before anything is written: a source the caller cannot read is NOT_FOUND, a
     * recalled one CONFLICT, a target they may not send to refuses as a send would. Attached files
     * become readable in each target conversation through the copy alone.
     */
    async forward(actor: Actor, body: ForwardBody): Promise<ForwardResult> {
      const targets: ConversationAccess[] = [];
      for (const conversationId of body.conversationIds) {
        const where = await ctx.access(actor, conversationId);
        await ctx.checkMaySend(actor, where);
        targets.push(where);
      }
      const sources: MessageRow[] = [];
      for (const messageId of body.messageIds) {
        const { row } = await ctx.requireVisibleMessage(actor, messageId);
        if (row.recalled_at !== null) throw new AppError('CONFLICT', `message ${messageId} is recalled and cannot be forwarded`);
        if (!FORWARDABLE.has(row.type as MessageType)) throw AppError.validation('messageIds', `${row.type} messages cannot be forwarded`);
        sources.push(row);
      }
      sources.sort((a, b) => Number(a.id) - Number(b.id));
      await limitSends(actor, targets.length * sources.length);
      const origins = await originsOf(sources);
      const created: Message[] = [];
      for (const where of targets) {
        const now = clock.now().getTime();
        if (where.kind === 'private') await messages.ensurePrivateConversation(where.id, where.low, where.high, now);
        for (const source of sources) {
          const given = source.attachments ? (JSON.parse(source.attachments) as Attachment[]) : [];
          const attachments = given.length > 0 && ctx.attachments ? await ctx.attachments.resolveAttachments(actor, where.id, given) : given;
          const clientMsgId = forwardClientMsgId(body.clientMsgId, String(source.id), where.id);
          const quiet = await ctx.quietAudience(where, actor.userId, source.type as MessageType);
          const stored = await messages.insertMessage({
            conversation_id: where.id,
            sender_id: actor.userId,
            type: source.type,
            content: source.content,
            client_msg_id: clientMsgId,
            reply_to_id: null,
            attachments: attachments.length > 0 ? JSON.stringify(attachments) : null,
            created_at: now,
          });
          if (!stored) {
            // A retry: the copy exists (its origin too, unless the first attempt stopped between the two writes).
            const winner = await messages.findByClientMsgId(actor.userId, clientMsgId);
            if (!winner || winner.conversation_id !== where.id) throw new AppError('CONFLICT', 'clientMsgId was already used for another conversation');
            await pins.recordForward(Number(winner.id), origins.get(Number(source.id)) as ForwardOrigin);
            created.push((await ctx.toMessages([winner]))[0] as Message);
            continue;
          }
          // Delivered before anything else is awaited, so devices get the conversation's messages in
          // id order (see the service's store); the origin is written before the ack.
          const origin = origins.get(Number(source.id)) as ForwardOrigin;
          const message = ctx.toMessage(stored, [], { forward: origin });
          ctx.deliverNew(where, message, quiet);
          await pins.recordForward(Number(stored.id), origin);
          created.push(message);
        }
      }
      return { messages: created };
    },
  };
}
