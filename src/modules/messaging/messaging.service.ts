import { callSummaryText } from '../../contract/calls.text.js';
import type { NotificationSettings, ReadPosition, ReadPositionQuery } from '../../contract/conversations.js';
import type { SyncResult } from '../../contract/events.js';
import type { GroupRole } from '../../contract/groups.js';
import {
  type Attachment,
  type LinkPreview,
  MAX_CONTENT_CHARS,
  type Mentions,
  type Message,
  type MessageType,
  type SendMessage,
  type SystemEvent,
} from '../../contract/messages.js';
import type { Cache } from '../../platform/cache/cache.js';
import type { MessageMetrics } from '../../platform/metrics/metrics.js';
import type { Publisher } from '../../platform/realtime/publisher.js';
import type { Actor } from '../../shared/actor.js';
import type { Clock } from '../../shared/clock.js';
import { AppError } from '../../shared/errors.js';
import { firstUrl } from '../../shared/links.js';
import { decodeCursor, decodeIdCursor, decodeTimeIdCursor, encodeCursor, encodeIdCursor, encodeTimeIdCursor, type Page } from '../../shared/pagination.js';
import { isoOrNull as iso } from '../../shared/time.js';
import { type GroupsService, groupConversationId } from '../groups/index.js';
import type { ConversationAccess, Policy } from '../policy/index.js';
import { toUser, type UsersRepository } from '../users/index.js';
import type { MentionsRepository } from './mentions.repository.js';
import { decodeCallContent } from './messaging.call-content.js';
import type { QuietAudience } from './messaging.delivery.js';
import { createMentionResolver, type MentionAllRule } from './messaging.mentions.js';
import { createPinsAndForwards } from './messaging.pins.js';
import type { ConversationRow, MessageRow, MessagingRepository, NewMessage } from './messaging.repository.js';
import type { Conversation, HistoryQuery, OpenConversationBody, SearchQuery } from './messaging.schemas.js';
import { decodeSystemContent, encodeSystemContent } from './messaging.system-content.js';
import type { ForwardOrigin, PinRow, PinsRepository } from './pins.repository.js';

export interface MessagingServiceDeps {
  messages: MessagingRepository;
  users: UsersRepository;
  groups: GroupsService;
  /** Decides who may reach whom (blocks, friends-only): asked for every private-chat event and write. */
  policy: Policy;
  publisher: Publisher;
  cache: Cache;
  clock: Clock;
  /** Sends allowed per user per window (API: 200 per 10 s). */
  sendLimit: { max: number; windowMs: number };
  /** Checks and completes message attachments (the files module); without it attachments are stored as sent. */
  attachments?: AttachmentResolver;
  /** Pinned messages and forward origins. */
  pins: PinsRepository;
  /** Counts delivered messages and their commit-to-emit latency (metrics on). */
  metrics?: MessageMetrics;
  /** The stored link previews of messages (the previews module); without it messages carry none. */
  previews?: { forMessages(messageIds: readonly number[]): Promise<Map<number, LinkPreview>> };
  /** Stored mentions of messages and the unread-mentions count. */
  mentions: MentionsRepository;
  /** Who may use `@all` in a group (MENTION_ALL). */
  mentionAll: MentionAllRule;
  /** Notification settings (the notifications module): whom a new message alerts, and the list's `notifications`. */
  notifications: NotificationsSource;
}

/** What messaging asks the notifications module. */
export interface NotificationsSource {
  quietRecipients(message: Pick<Message, 'conversationId' | 'senderId' | 'type' | 'recalledAt' | 'mentions'>): Promise<{ everyone: boolean; userIds: Set<string> }>;
  settingsFor(userId: string, conversationIds: readonly string[]): Promise<Map<string, NotificationSettings>>;
}

/**
 * Vouches for the files a user attaches: each must be theirs or already visible to them. Returns
 * the attachments as the server describes them (name, type, size, dimensions, thumbnail) and
 * records that the files were sent to the conversation; throws NOT_FOUND for any other file.
 */
export interface AttachmentResolver {
  resolveAttachments(actor: Actor, conversationId: string, attachments: readonly Attachment[]): Promise<Attachment[]>;
  /** A message carrying these files was recalled (after the row was updated): drop the read access it alone gave. */
  releaseAttachments(conversationId: string, fileIds: readonly string[]): Promise<void>;
}

/** Where a conversation lives and who is in it, resolved for one caller. */
/** The caller's access to a conversation, as the policy module established it. */
type Access = ConversationAccess;

/** Who may send which type: `call` and `system` messages are written by the server only. */
const CLIENT_TYPES = new Set<MessageType>(['text', 'emoji', 'image', 'file', 'audio', 'video']);
const ATTACHMENT_TYPES = new Set<MessageType>(['image', 'file', 'audio', 'video']);
/** A reaction must hold at least one emoji and nothing that renders as blank or controls text. Keycaps (1️⃣) are digit + FE0F + 20E3. */
const EMOJI = /\p{Extended_Pictographic}|\p{Regional_Indicator}|[0-9#*]\uFE0F?\u20E3/u;
const NOT_IN_REACTION = /[\p{Cc}\s]/u;

export const privateConversationId = (a: string, b: string) => (a < b ? `d.${a}.${b}` : `d.${b}.${a}`);
const codePoints = (text: string) => {
  let n = 0;
  for (const _ of text) n++;
  return n;
};

/** The actor the server acts as when it writes on a user's behalf (no session behind it). */
const serverActor = (userId: string): Actor => ({ userId, sessionId: 'server', isGuest: false });

function parseMessageId(id: string, field = 'messageId'): number {
  const n = Number(id);
  if (!Number.isSafeInteger(n) || n < 0) throw AppError.validation(field, 'is not a message id');
  return n;
}

/** Where a history page stopped and which way the walk reads: newest first (`before`) or oldest first (`after`). */
type HistoryPosition = { before: number } | { after: number };

const isMessageIdNumber = (value: unknown): value is number => Number.isSafeInteger(value) && (value as number) >= 0;
const isHistoryPosition = (value: unknown): value is HistoryPosition =>
  typeof value === 'object' &&
  value !== null &&
  Object.keys(value).length === 1 &&
  (isMessageIdNumber((value as { before?: unknown }).before) || isMessageIdNumber((value as { after?: unknown }).after));

/**
 * The position a history or search request starts from: its cursor, or a `before`/`after` message
 * id; a cursor already holds its position, so it is refused together with either.
 */
function historyPosition(query: { cursor?: string; before?: string; after?: string }): Partial<HistoryPosition> {
  if (query.cursor !== undefined && query.cursor !== '') {
    if (query.before !== undefined || query.after !== undefined) throw AppError.validation('cursor', 'cannot be combined with before or after: the cursor holds its own position');
    const position = decodeCursor(query.cursor, isHistoryPosition);
    if (!position) throw AppError.validation('cursor', 'is not a cursor this list returned');
    return position;
  }
  if (query.before !== undefined && query.after !== undefined) throw AppError.validation('after', 'use either before or after');
  if (query.after !== undefined) return { after: parseMessageId(query.after, 'after') };
  if (query.before !== undefined) return { before: parseMessageId(query.before, 'before') };
  return {};
}

export function createMessagingService(deps: MessagingServiceDeps) {
  const { messages, users, groups, policy, publisher, cache, clock } = deps;
  const resolveMentions = createMentionResolver({
    usersByName: (names) => deps.mentions.usersByName(names),
    isMember: async (groupId, userId) => (await groups.membership(groupId, userId)) !== undefined,
    mentionAll: deps.mentionAll,
  });
  /** Private conversations whose row is known to exist, so sends skip the insert-if-missing. */
  const knownPrivate = new Set<string>();
  /** Other modules (the AI assistant) that react to messages users send; they run after delivery. */
  const sentListeners: Array<(message: Message) => void> = [];
  const storedListeners: Array<(message: Message) => void> = [];
  /** Modules that follow a message's later life (link previews): edits and recalls, after delivery. */
  const changeListeners: Array<(message: Message, change: 'edited' | 'recalled') => void> = [];

  /** Resolves a conversation id for the caller; anything they may not see is NOT_FOUND (the policy decides). */
  function access(actor: Actor, conversationId: string): Promise<Access> {
    return policy.conversation(actor.userId, conversationId);
  }

  /** Recipients of events in a conversation: the room for groups, both users for private chats. */
  function deliver<E extends 'chat' | 'message_updated' | 'read'>(
    where: Access,
    event: E,
    payload: Parameters<import('../../contract/events.js').ServerToClientEvents[E]>[0],
    exceptSocketId?: string,
  ): void {
    if (where.kind === 'group') publisher.toConversation(where.id, event, payload, { exceptSocketId });
    else publisher.toUsers([where.low, where.high], event, payload, { exceptSocketId });
  }

  async function toMessages(rows: MessageRow[]): Promise<Message[]> {
    const ids = rows.map((row) => Number(row.id));
    const [reactions, extras, previews, mentions] = await Promise.all([
      messages.reactionsFor(ids),
      deps.pins.extrasFor(ids),
      deps.previews?.forMessages(ids),
      deps.mentions.mentionsFor(ids),
    ]);
    return rows.map((row) =>
      toMessage(row, reactions.get(Number(row.id)) ?? [], {
        pin: extras.pins.get(Number(row.id)),
        forward: extras.forwards.get(Number(row.id)),
        preview: previews?.get(Number(row.id)),
        mentions: mentions.get(Number(row.id)),
      }),
    );
  }

  function toMessage(
    row: MessageRow,
    reactionRows: Array<{ emoji: string; user_id: string }>,
    extras: { pin?: PinRow; forward?: ForwardOrigin; preview?: LinkPreview; mentions?: Mentions } = {},
  ): Message {
    const recalled = row.recalled_at !== null;
    const grouped = new Map<string, string[]>();
    for (const reaction of reactionRows) grouped.set(reaction.emoji, [...(grouped.get(reaction.emoji) ?? []), reaction.user_id]);
    const message: Message = {
      id: String(row.id),
      conversationId: row.conversation_id,
      senderId: row.sender_id,
      type: row.type as MessageType,
      content: recalled ? '' : row.content,
      clientMsgId: row.client_msg_id,
      replyToId: row.reply_to_id === null ? null : String(row.reply_to_id),
      attachments: recalled || !row.attachments ? [] : (JSON.parse(row.attachments) as Attachment[]),
      reactions: recalled ? [] : [...grouped].map(([emoji, userIds]) => ({ emoji, count: userIds.length, userIds })),
      createdAt: iso(Number(row.created_at)) as string,
      editedAt: iso(row.edited_at),
      recalledAt: iso(row.recalled_at),
    };
    if (extras.pin && !recalled) {
      message.pinnedAt = iso(extras.pin.pinned_at) as string;
      message.pinnedBy = extras.pin.pinned_by;
    }
    if (extras.forward && !recalled) {
      const origin = extras.forward;
      message.forwardedFrom = { senderId: origin.origin_sender_id, senderName: origin.origin_sender_name, sentAt: iso(origin.origin_sent_at) as string };
    }
    // A preview belongs to the message's first link: after an edit to another link it no longer shows.
    const { preview } = extras;
    if (preview && !recalled && row.type === 'text' && firstUrl(row.content) === preview.url) message.preview = preview;
    if (extras.mentions && !recalled) message.mentions = extras.mentions;
    if (row.type === 'call' && !recalled) {
      const call = decodeCallContent(row.content, row.client_msg_id);
      if (call) {
        message.call = call;
        message.content = callSummaryText(call);
      }
    }
    if (row.type === 'system' && !recalled) {
      const system = decodeSystemContent(row.content);
      if (system) message.system = system;
    }
    return message;
  }

  /**
   * Stores a new message, then delivers it (except to the sending socket, which gets the ack). A
   * retried `clientMsgId` returns the stored message and delivers nothing twice: the unique
   * (sender, clientMsgId) index is the dedupe check. The repository resolves one conversation's
   * inserts in id order and nothing is awaited between that and the delivery, so every device
   * receives a conversation's messages in id order without the sends waiting for each other.
   */
  async function store(where: Access, row: NewMessage, exceptSocketId?: string): Promise<{ message: Message; isNew: boolean }> {
    const mentions = await resolveMentions(where, row.sender_id, row.type, row.content);
    const quiet = await quietAudience(where, { conversationId: where.id, senderId: row.sender_id, type: row.type as MessageType, recalledAt: null, mentions });
    const stored = await messages.insertMessage(row);
    if (!stored) {
      const winner = await messages.findByClientMsgId(row.sender_id, row.client_msg_id);
      if (!winner) throw new AppError('CONFLICT', 'message could not be stored');
      if (winner.conversation_id !== where.id) throw new AppError('CONFLICT', 'clientMsgId was already used for another conversation');
      return { message: (await toMessages([winner]))[0] as Message, isNew: false };
    }
    const message = toMessage(stored, [], { mentions });
    deliverNew(where, message, quiet, exceptSocketId);
    deps.metrics?.messageDelivered(where.kind, stored.committedAt);
    // After the delivery (see above); before the ack, so the sender's answer means it is stored.
    if (mentions) await deps.mentions.insert({ id: Number(stored.id), conversationId: where.id, senderId: row.sender_id }, mentions);
    return { message, isNew: true };
  }

  /** Who of the conversation's members gets a new message with `notify: false` (see QuietAudience). */
  async function quietAudience(where: Access, message: Parameters<NotificationsSource['quietRecipients']>[0]): Promise<QuietAudience> {
    const quiet = await deps.notifications.quietRecipients(message);
    if (quiet.everyone) return { everyone: true };
    const candidates = [...quiet.userIds];
    if (where.kind === 'private') return { everyone: false, userIds: candidates.filter((id) => id === where.low || id === where.high) };
    const members = await Promise.all(candidates.map(async (id) => ((await groups.membership(where.groupId, id)) ? id : undefined)));
    return { everyone: false, userIds: members.filter((id): id is string => id !== undefined) };
  }

  /**
   * Delivers a new message with each recipient's `notify` flag: one emit to everyone alerted, one
   * to everyone not (the sender's other devices among them). Synchronous, like `deliver`.
   */
  function deliverNew(where: Access, message: Message, quiet: QuietAudience, exceptSocketId?: string): void {
    if (quiet.everyone) {
      deliver(where, 'chat', { ...message, notify: false }, exceptSocketId);
      return;
    }
    if (where.kind === 'group') publisher.toConversation(where.id, 'chat', { ...message, notify: true }, { exceptUserIds: quiet.userIds, exceptSocketId });
    else {
      const alerted = [where.low, where.high].filter((id) => !quiet.userIds.includes(id));
      if (alerted.length > 0) publisher.toUsers(alerted, 'chat', { ...message, notify: true }, { exceptSocketId });
    }
    if (quiet.userIds.length > 0) publisher.toUsers(quiet.userIds, 'chat', { ...message, notify: false }, { exceptSocketId });
  }

  async function recallRow(row: MessageRow, where: Access): Promise<Message> {
    if (row.recalled_at !== null) throw new AppError('CONFLICT', 'message is already recalled');
    const now = clock.now().getTime();
    await messages.updateMessage(Number(row.id), { content: '', attachments: null, recalled_at: now });
    // A recalled message mentions nobody: it leaves every unread-mentions count.
    await deps.mentions.remove(Number(row.id));
    // A recalled message loses its pin (the event below tells every device).
    await deps.pins.unpin(Number(row.id));
    if (row.attachments)
      await deps.attachments?.releaseAttachments(
        where.id,
        (JSON.parse(row.attachments) as Attachment[]).map((a) => a.fileId),
      );
    const message = toMessage({ ...row, content: '', attachments: null, recalled_at: now }, []);
    deliver(where, 'message_updated', { message });
    for (const listener of changeListeners) listener(message, 'recalled');
    return message;
  }

  async function requireOwnMessage(actor: Actor, messageId: string): Promise<{ row: MessageRow; where: Access }> {
    const { row, where } = await requireVisibleMessage(actor, messageId);
    policy.requireMessageSender(actor.userId, row);
    return { row, where };
  }

  async function requireVisibleMessage(actor: Actor, messageId: string): Promise<{ row: MessageRow; where: Access }> {
    const row = await messages.findMessage(parseMessageId(messageId, 'id'));
    if (!row) throw new AppError('NOT_FOUND', 'message not found');
    const where = await access(actor, row.conversation_id).catch(() => {
      throw new AppError('NOT_FOUND', 'message not found');
    });
    return { row, where };
  }

  /**
   * May the caller put something new in front of the others here (a message, an edit, a
   * reaction, typing)? In a group: not while muted. In a private chat: not across a block, nor
   * to a friends-only user who is not a friend (the policy decides).
   */
  async function checkMayWrite(actor: Actor, where: Access): Promise<void> {
    if (where.kind === 'group') {
      if (where.mutedUntil !== null && where.mutedUntil > clock.now().getTime()) {
        throw new AppError('FORBIDDEN', `you are muted in this group until ${iso(where.mutedUntil)}`, [{ field: 'mutedUntil', message: iso(where.mutedUntil) as string }]);
      }
      return;
    }
    await policy.requireContact(actor.userId, where.peerId);
  }

  async function checkMaySend(actor: Actor, where: Access): Promise<void> {
    if (where.kind === 'private' && !(await users.findById(where.peerId))) throw new AppError('NOT_FOUND', 'conversation not found');
    await checkMayWrite(actor, where);
  }

  function checkContent(input: Pick<SendMessage, 'type' | 'content' | 'attachments'>): void {
    if (!CLIENT_TYPES.has(input.type)) throw new AppError('FORBIDDEN', `${input.type} messages are written by the server`);
    // A string has at least as many UTF-16 units as code points: only a long one needs counting.
    if (input.content.length > MAX_CONTENT_CHARS && codePoints(input.content) > MAX_CONTENT_CHARS)
      throw new AppError('PAYLOAD_TOO_LARGE', `content is limited to ${MAX_CONTENT_CHARS} characters`);
    const hasAttachments = (input.attachments?.length ?? 0) > 0;
    if (ATTACHMENT_TYPES.has(input.type) && !hasAttachments) throw AppError.validation('attachments', `a ${input.type} message needs at least one attachment`);
    if (!ATTACHMENT_TYPES.has(input.type) && input.content.trim() === '') throw AppError.validation('content', 'must not be empty');
    if (input.type === 'emoji' && !EMOJI.test(input.content)) throw AppError.validation('content', 'an emoji message must contain an emoji');
  }

  /**
   * Whose stored read positions the caller may see in a conversation: the same rule as the live
   * `read` receipts. In a private chat the peer's, when the peer may reach the caller (no block,
   * no friends-only refusal); in a group every other member's but those blocked either way.
   */
  async function receiptAudience(actor: Actor, where: Access): Promise<string[]> {
    if (where.kind === 'private') return (await policy.contact(where.peerId, actor.userId)) === 'allowed' ? [where.peerId] : [];
    const others = (await groups.memberIds(where.groupId)).filter((id) => id !== actor.userId);
    return policy.withoutBlocked(actor.userId, others);
  }

  async function latestMessage(conversation: ConversationRow): Promise<Message | null> {
    if (conversation.last_message_id === null) return null;
    const row = await messages.findMessage(Number(conversation.last_message_id));
    return row ? ((await toMessages([row]))[0] ?? null) : null;
  }

  return {
    access,
    ...createPinsAndForwards({
      messages,
      pins: deps.pins,
      users,
      cache,
      clock,
      sendLimit: deps.sendLimit,
      attachments: deps.attachments,
      access,
      requireVisibleMessage,
      checkMayWrite,
      checkMaySend,
      toMessages,
      toMessage,
      deliver: (where, message) => deliver(where, 'message_updated', { message }),
      quietAudience: (where, senderId, type) => quietAudience(where, { conversationId: where.id, senderId, type, recalledAt: null }),
      deliverNew: (where, message, quiet) => deliverNew(where, message, quiet),
    }),

    /**
     * Stores a message, then delivers it to every device of every member (the sending socket
     * gets it as the ack instead). A retried `clientMsgId` returns the stored message and
     * delivers nothing.
     */
    async send(actor: Actor, input: SendMessage, origin: { socketId?: string } = {}): Promise<Message> {
      const where = await access(actor, input.conversationId);
      checkContent(input);
      await checkMaySend(actor, where);
      const { count, ttlMs } = await cache.incr(`send:${actor.userId}`, deps.sendLimit.windowMs);
      if (count > deps.sendLimit.max) {
        // A retry of a message already stored is answered, not refused: only now is it worth a read.
        const stored = await messages.findByClientMsgId(actor.userId, input.clientMsgId);
        if (stored && stored.conversation_id === where.id) return (await toMessages([stored]))[0] as Message;
        throw new AppError('RATE_LIMITED', 'sending too fast', undefined, Math.ceil(ttlMs / 1000));
      }
      let replyToId: number | null = null;
      if (input.replyToId !== undefined) {
        replyToId = parseMessageId(input.replyToId, 'replyToId');
        const target = await messages.findMessage(replyToId);
        if (!target || target.conversation_id !== where.id) throw AppError.validation('replyToId', 'is not a message of this conversation');
      }
      const now = clock.now().getTime();
      if (where.kind === 'private' && !knownPrivate.has(where.id)) {
        await messages.ensurePrivateConversation(where.id, where.low, where.high, now);
        if (knownPrivate.size >= 100_000) knownPrivate.clear();
        knownPrivate.add(where.id);
      }
      const attachments =
        deps.attachments && input.attachments && input.attachments.length > 0 ? await deps.attachments.resolveAttachments(actor, where.id, input.attachments) : input.attachments;
      const { message, isNew } = await store(
        where,
        {
          conversation_id: where.id,
          sender_id: actor.userId,
          type: input.type,
          content: input.content,
          client_msg_id: input.clientMsgId,
          reply_to_id: replyToId,
          attachments: attachments && attachments.length > 0 ? JSON.stringify(attachments) : null,
          created_at: now,
        },
        origin.socketId,
      );
      if (isNew) for (const listener of sentListeners) listener(message);
      if (isNew) for (const listener of storedListeners) listener(message);
      return message;
    },

    /** Calls `listener` after a user's edit or recall of a message was stored and delivered. */
    onMessageChanged(listener: (message: Message, change: 'edited' | 'recalled') => void): void {
      changeListeners.push(listener);
    },

    /**
     * Sends `message_updated` with a text message as stored, now that its link preview is there;
     * nothing (false) when the message was recalled or no longer links `url` first meanwhile.
     */
    async announcePreview(messageId: string, url: string): Promise<boolean> {
      const row = await messages.findMessage(parseMessageId(messageId, 'id'));
      if (!row || row.recalled_at !== null || row.type !== 'text' || firstUrl(row.content) !== url) return false;
      const [message] = await toMessages([row]);
      if (!message?.preview) return false;
      // A sender who has left the group since has no access: the preview stays stored, unannounced.
      const where = await access(serverActor(row.sender_id), row.conversation_id).catch(() => undefined);
      if (!where) return false;
      deliver(where, 'message_updated', { message });
      return true;
    },

    /** Calls `listener` with every message a user sends, after it is stored and delivered. */
    onMessageSent(listener: (message: Message) => void): void {
      sentListeners.push(listener);
    },

    /** Called after every new message is stored and emitted: people's (like onMessageSent) and the server's (`postAs`: system notices, calls, AI and bot posts). */
    onMessageStored(listener: (message: Message) => void): void {
      storedListeners.push(listener);
    },

    /**
     * Stores and delivers a message written by the server on a user's behalf (a `call` record, a
     * `system` notice, an AI reply): no rate limit, mute or type rule applies, the caller is
     * trusted. `clientMsgId` still dedupes, so a retried write stores nothing twice.
     */
    async postAs(senderId: string, conversationId: string, input: { type: MessageType; content: string; clientMsgId: string; attachments?: Attachment[] }): Promise<Message> {
      const where = await access(serverActor(senderId), conversationId);
      const now = clock.now().getTime();
      if (where.kind === 'private') await messages.ensurePrivateConversation(where.id, where.low, where.high, now);
      const { message } = await store(where, {
        conversation_id: where.id,
        sender_id: senderId,
        type: input.type,
        content: input.content,
        client_msg_id: input.clientMsgId,
        reply_to_id: null,
        attachments: input.attachments && input.attachments.length > 0 ? JSON.stringify(input.attachments) : null,
        created_at: now,
      });
      for (const listener of storedListeners) listener(message);
      return message;
    },

    /**
     * Replaces the content of a server-written message (an AI reply growing as it streams, a call
     * record once the call ends) and sends `message_updated`. `edited` marks it as edited for clients.
     */
    async updateServerMessage(messageId: string, content: string, options: { edited?: boolean } = {}): Promise<Message> {
      const row = await messages.findMessage(parseMessageId(messageId, 'id'));
      if (!row) throw new AppError('NOT_FOUND', 'message not found');
      const where = await access(serverActor(row.sender_id), row.conversation_id);
      const editedAt = options.edited ? clock.now().getTime() : row.edited_at;
      await messages.updateMessage(Number(row.id), editedAt === null ? { content } : { content, edited_at: Number(editedAt) });
      const [message] = await toMessages([{ ...row, content, edited_at: editedAt }]);
      deliver(where, 'message_updated', { message: message as Message });
      return message as Message;
    },

    /** Returns (creating when needed) the conversation with a user or of a group. */
    async open(actor: Actor, input: OpenConversationBody): Promise<Conversation> {
      if ((input.peerId === undefined) === (input.groupId === undefined)) throw AppError.validation('peerId', 'give exactly one of peerId or groupId');
      if (input.groupId !== undefined) return this.describe(actor, groupConversationId(input.groupId));
      const peerId = input.peerId as string;
      if (peerId === actor.userId) throw AppError.validation('peerId', 'must be another user');
      if (!(await users.findById(peerId))) throw new AppError('NOT_FOUND', 'user not found');
      const id = privateConversationId(actor.userId, peerId);
      const [low, high] = actor.userId < peerId ? [actor.userId, peerId] : [peerId, actor.userId];
      await messages.ensurePrivateConversation(id, low, high, clock.now().getTime());
      return this.describe(actor, id);
    },

    /** One conversation as the caller sees it. */
    async describe(actor: Actor, conversationId: string): Promise<Conversation> {
      const where = await access(actor, conversationId);
      const row = await messages.findConversation(where.id);
      if (!row) {
        if (where.kind === 'group') throw new AppError('NOT_FOUND', 'conversation not found');
        const now = clock.now().getTime();
        return this.summarise(actor, [
          { id: where.id, type: 'private', group_id: null, user_low: where.low, user_high: where.high, last_message_id: null, created_at: now, updated_at: now },
        ]).then((list) => list[0] as Conversation);
      }
      return (await this.summarise(actor, [row]))[0] as Conversation;
    },

    /**
     * The caller's conversations with last message and unread count, most recent first, a page at
     * a time. A conversation that becomes active moves to page one: clients merge `chat` events.
     */
    async list(actor: Actor, cursor: string | undefined, limit: number): Promise<Page<Conversation>> {
      const groupIds = await groups.groupIdsOf(actor.userId);
      const rows = await messages.listConversations(actor.userId, groupIds, decodeTimeIdCursor(cursor), limit + 1);
      const page = rows.slice(0, limit);
      const last = page.at(-1);
      return { items: await this.summarise(actor, page), nextCursor: rows.length > limit && last ? encodeTimeIdCursor({ at: Number(last.updated_at), id: last.id }) : null };
    },

    async summarise(actor: Actor, rows: ConversationRow[]): Promise<Conversation[]> {
      const [reads, notifications] = await Promise.all([
        messages.readPositions(
          actor.userId,
          rows.map((row) => row.id),
        ),
        deps.notifications.settingsFor(
          actor.userId,
          rows.map((row) => row.id),
        ),
      ]);
      const peerIds = rows
        .flatMap((row) => (row.type === 'private' ? [row.user_low === actor.userId ? row.user_high : row.user_low] : []))
        .filter((id): id is string => id !== null);
      const peers = new Map((await users.findByIds(peerIds)).map((row) => [row.id, row]));
      // The peers' positions, each kept only when the policy lets the peer's receipts reach this caller.
      const peerReads = new Map<string, number>();
      const stored = await messages.peerReadPositions(
        actor.userId,
        rows.filter((row) => row.type === 'private').map((row) => row.id),
      );
      await Promise.all(
        [...stored].map(async ([conversationId, read]) => {
          if ((await policy.contact(read.userId, actor.userId)) === 'allowed') peerReads.set(conversationId, read.messageId);
        }),
      );
      return Promise.all(
        rows.map(async (row) => {
          const lastRead = reads.get(row.id) ?? 0;
          const base = {
            id: row.id,
            type: row.type as 'private' | 'group',
            lastMessage: await latestMessage(row),
            unreadCount: row.last_message_id === null ? 0 : await messages.unreadCount(row.id, actor.userId, lastRead),
            unreadMentionCount: row.last_message_id === null ? 0 : await deps.mentions.unreadMentionCount(row.id, actor.userId, lastRead),
            notifications: notifications.get(row.id) ?? { level: 'all' as const, until: null },
            lastReadMessageId: reads.has(row.id) ? String(lastRead) : null,
            peerLastReadMessageId: peerReads.has(row.id) ? String(peerReads.get(row.id)) : null,
            updatedAt: iso(Number(row.updated_at)) as string,
          };
          if (row.type === 'group' && row.group_id) {
            const [group, memberIds, access] = await Promise.all([groups.find(row.group_id), groups.memberIds(row.group_id), policy.conversation(actor.userId, row.id)]);
            const myRole = access.kind === 'group' ? (access.role as GroupRole) : undefined;
            return { ...base, group: { id: row.group_id, name: group?.name ?? '', memberCount: memberIds.length }, ...(myRole ? { myRole } : {}) };
          }
          const peer = peers.get((row.user_low === actor.userId ? row.user_high : row.user_low) ?? '');
          return peer ? { ...base, peer: toUser(peer) } : base;
        }),
      );
    },

    /**
     * History: newest first by default (`before` starts below a message); `after` reads forward,
     * oldest first. `nextCursor` continues in the same direction.
     */
    async history(actor: Actor, conversationId: string, query: HistoryQuery): Promise<Page<Message>> {
      const where = await access(actor, conversationId);
      const position = historyPosition(query);
      const limit = query.limit ?? 50;
      const rows = await messages.page(where.id, position, limit + 1);
      const items = await toMessages(rows.slice(0, limit));
      const last = rows.length > limit ? rows[limit - 1] : undefined;
      const next: HistoryPosition | undefined = last && ('after' in position ? { after: Number(last.id) } : { before: Number(last.id) });
      return { items, nextCursor: next ? encodeCursor(next) : null };
    },

    /** Edits the caller's own text message. */
    async edit(actor: Actor, messageId: string, content: string): Promise<Message> {
      const { row, where } = await requireOwnMessage(actor, messageId);
      if (row.recalled_at !== null) throw new AppError('CONFLICT', 'a recalled message cannot be edited');
      if (row.type !== 'text') throw new AppError('FORBIDDEN', 'only text messages can be edited');
      checkContent({ type: 'text', content });
      await checkMayWrite(actor, where);
      const now = clock.now().getTime();
      await messages.updateMessage(Number(row.id), { content, edited_at: now });
      // Mentions follow the new text: new ones count as unread mentions, removed ones leave the counts.
      await deps.mentions.replace({ id: Number(row.id), conversationId: where.id, senderId: row.sender_id }, await resolveMentions(where, row.sender_id, row.type, content));
      const [message] = await toMessages([{ ...row, content, edited_at: now }]);
      deliver(where, 'message_updated', { message: message as Message });
      for (const listener of changeListeners) listener(message as Message, 'edited');
      return message as Message;
    },

    /**
     * Recalls the caller's own message, or in a group a member's message the caller moderates
     * (owner, admins: policy.requireGroupModerator): everyone gets the placeholder, the content is
     * gone. A removal by a moderator is also recorded in the group as a `message_removed` notice.
     */
    async recall(actor: Actor, messageId: string): Promise<Message> {
      const { row, where } = await requireVisibleMessage(actor, messageId);
      // The group's record of what happened is not the actor's to take back.
      if (row.type === 'system') throw new AppError('FORBIDDEN', 'a group event cannot be recalled');
      if (row.sender_id === actor.userId || where.kind !== 'group') {
        policy.requireMessageSender(actor.userId, row);
        return recallRow(row, where);
      }
      policy.requireGroupModerator(where.role, (await groups.membership(where.groupId, row.sender_id))?.role);
      const message = await recallRow(row, where);
      const notice: SystemEvent = { kind: 'message_removed', actorId: actor.userId, userIds: [row.sender_id] };
      await store(where, {
        conversation_id: where.id,
        sender_id: actor.userId,
        type: 'system',
        content: encodeSystemContent(notice),
        client_msg_id: `system:removed:${row.id}`,
        reply_to_id: null,
        attachments: null,
        created_at: clock.now().getTime(),
      });
      return message;
    },

    /** A message the caller can see (NOT_FOUND otherwise), as stored: for modules that act on one (reports). */
    async visibleMessage(actor: Actor, messageId: string): Promise<{ id: string; conversationId: string; senderId: string; content: string; recalled: boolean }> {
      const { row } = await requireVisibleMessage(actor, messageId);
      return { id: String(row.id), conversationId: row.conversation_id, senderId: row.sender_id, content: row.content, recalled: row.recalled_at !== null };
    },

    /**
     * An instance admin removes any message: recalled as its sender would, `message_updated` to the
     * conversation. The caller's role is checked by the admin module; NOT_FOUND for an unknown id.
     */
    async recallAsAdmin(messageId: string): Promise<{ message: Message; conversationId: string }> {
      const row = await messages.findMessage(parseMessageId(messageId, 'id'));
      if (!row) throw new AppError('NOT_FOUND', 'message not found');
      const conversationId = row.conversation_id;
      const pair = /^d\.([^.]+)\.([^.]+)$/.exec(conversationId);
      const where: Access = pair
        ? { kind: 'private', id: conversationId, peerId: pair[2] ?? '', low: pair[1] ?? '', high: pair[2] ?? '' }
        : { kind: 'group', id: conversationId, groupId: conversationId.slice(2), role: 'member', mutedUntil: null };
      return { message: await recallRow(row, where), conversationId };
    },

    /** Adds (`add`) or removes the caller's reaction with any emoji. */
    async react(actor: Actor, messageId: string, emoji: string, add: boolean): Promise<Message> {
      const normalised = emoji.normalize('NFC');
      if (!EMOJI.test(normalised) || NOT_IN_REACTION.test(normalised) || codePoints(normalised) > 16) throw AppError.validation('emoji', 'must be an emoji');
      const { row, where } = await requireVisibleMessage(actor, messageId);
      if (row.recalled_at !== null) throw new AppError('CONFLICT', 'a recalled message takes no reactions');
      // Taking a reaction back only removes something: it stays allowed, like recalling.
      if (add) await checkMayWrite(actor, where);
      const changed = add
        ? await messages.addReaction(Number(row.id), actor.userId, normalised, clock.now().getTime())
        : await messages.removeReaction(Number(row.id), actor.userId, normalised);
      if (!add && !changed) throw new AppError('NOT_FOUND', 'you have not reacted with that emoji');
      const [message] = await toMessages([row]);
      if (changed) deliver(where, 'message_updated', { message: message as Message });
      return message as Message;
    },

    /** Moves the caller's read position and tells the conversation (and the caller's other devices). */
    async markRead(actor: Actor, conversationId: string, messageId: string, origin: { socketId?: string } = {}): Promise<void> {
      const where = await access(actor, conversationId);
      const id = parseMessageId(messageId);
      const message = await messages.findMessage(id);
      if (!message || message.conversation_id !== where.id) throw new AppError('NOT_FOUND', 'message not found in this conversation');
      // Reading an older message again moves nothing and tells nobody.
      if (!(await messages.markRead(where.id, actor.userId, id, clock.now().getTime()))) return;
      const receipt = { conversationId: where.id, userId: actor.userId, messageId: String(id) };
      // The position is kept for the reader's own devices; the receipt reaches the peer only
      // when the reader may contact them (no receipts across a block or to a friends-only user).
      if (where.kind === 'private' && (await policy.contact(actor.userId, where.peerId)) !== 'allowed') {
        publisher.toUsers([actor.userId], 'read', receipt, { exceptSocketId: origin.socketId });
        return;
      }
      // A block works through a shared group too: with one, the receipt goes to the members the
      // reader may see (and the reader's devices) instead of the whole room.
      if (where.kind === 'group' && (await policy.blockedEitherWay(actor.userId)).size > 0) {
        publisher.toUsers([actor.userId, ...(await receiptAudience(actor, where))], 'read', receipt, { exceptSocketId: origin.socketId });
        return;
      }
      deliver(where, 'read', receipt, origin.socketId);
    },

    /** The other members' read positions in a conversation (those the caller may see), by user id. */
    async readPositions(actor: Actor, conversationId: string, query: ReadPositionQuery): Promise<Page<ReadPosition>> {
      const where = await access(actor, conversationId);
      const after = decodeIdCursor(query.cursor);
      const limit = query.limit ?? 50;
      const rows = await messages.readPositionsOf(where.id, await receiptAudience(actor, where), after, limit + 1);
      const items = rows
        .slice(0, limit)
        .map((row) => ({ userId: row.user_id, lastReadMessageId: String(row.last_read_message_id), readAt: iso(Number(row.updated_at)) as string }));
      const last = items.at(-1);
      return { items, nextCursor: rows.length > limit && last ? encodeIdCursor(last.userId) : null };
    },

    /** Relays a typing indicator to the other members; nothing is stored. */
    async typing(actor: Actor, conversationId: string, typing: boolean): Promise<void> {
      const where = await access(actor, conversationId);
      await checkMayWrite(actor, where);
      const event = { conversationId: where.id, userId: actor.userId, typing };
      if (where.kind === 'group') publisher.toConversation(where.id, 'typing', event, { exceptUserIds: [actor.userId] });
      else publisher.toUsers([where.peerId], 'typing', event);
    },

    /** Catch-up after a reconnect: messages after each given id, oldest first. */
    async sync(actor: Actor, since: Record<string, string>, limit = 500): Promise<SyncResult> {
      const result: SyncResult = { messages: {}, truncated: [] };
      for (const [conversationId, lastId] of Object.entries(since)) {
        const where = await access(actor, conversationId).catch(() => undefined);
        if (!where) continue;
        const rows = await messages.page(where.id, { after: parseMessageId(lastId, `since.${conversationId}`) }, limit + 1);
        if (rows.length > limit) result.truncated.push(where.id);
        result.messages[where.id] = await toMessages(rows.slice(0, limit));
      }
      return result;
    },

    /** Substring search over the caller's conversations (or one of them). */
    async search(actor: Actor, query: SearchQuery): Promise<Page<Message>> {
      let conversationIds: string[];
      if (query.conversationId !== undefined) {
        conversationIds = [(await access(actor, query.conversationId)).id];
      } else {
        const groupIds = await groups.groupIdsOf(actor.userId);
        conversationIds = [...(await messages.privateConversationIds(actor.userId)), ...groupIds.map(groupConversationId)];
      }
      const position = historyPosition(query);
      if ('after' in position) throw AppError.validation('cursor', 'is not a cursor this list returned');
      const limit = query.limit ?? 50;
      const rows = await messages.search(conversationIds, query.q.normalize('NFC'), 'before' in position ? position.before : undefined, limit + 1);
      const items = await toMessages(rows.slice(0, limit));
      const last = rows.length > limit ? rows[limit - 1] : undefined;
      return { items, nextCursor: last ? encodeCursor({ before: Number(last.id) }) : null };
    },

    /** Conversation rooms a newly connected socket of this user joins. */
    async roomsOf(userId: string): Promise<string[]> {
      return (await groups.groupIdsOf(userId)).map(groupConversationId);
    },
  };
}

export type MessagingService = ReturnType<typeof createMessagingService>;
