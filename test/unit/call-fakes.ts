import { pino } from 'pino';
import type { Message } from '../../src/contract/messages.js';
import type { CallRow, CallsRepository } from '../../src/modules/calls/calls.repository.js';
import { type CallsConfig, type CallsServiceDeps, createCallsService, type DeviceRef } from '../../src/modules/calls/calls.service.js';
import { decodeCallContent } from '../../src/modules/messaging/messaging.call-content.js';
import type { Conversation } from '../../src/modules/messaging/messaging.schemas.js';
import type { UserRow, UsersRepository } from '../../src/modules/users/index.js';
import { MemoryCache } from '../../src/platform/cache/memory.js';
import type { Publisher, ServerEvent, ServerPayload } from '../../src/platform/realtime/publisher.js';
import type { Actor } from '../../src/shared/actor.js';
import type { Clock } from '../../src/shared/clock.js';
import { AppError } from '../../src/shared/errors.js';

/**
 * The calls service with nothing outside its module real: the real memory cache (the shared call
 * state, slots, folds and rate counters) and in-memory fakes for the database, the other modules
 * and the sockets. Time is vitest's fake time: `Date.now()` is what both the service's clock and
 * the cache read, so a ring timeout firing and "now" agree to the millisecond.
 */

/** One event the service would have sent, and to whom. */
export interface Sent<E extends ServerEvent = ServerEvent> {
  via: 'users' | 'sockets' | 'conversation';
  to: readonly string[];
  event: E;
  payload: ServerPayload<E>;
  exceptSocketId?: string;
}

/** A user's device: the actor its token names and the socket a call binds to. */
export interface FakeDevice {
  actor: Actor;
  ref: DeviceRef;
}

export const device = (userId: string, n = 1): FakeDevice => {
  const sessionId = `${userId}-session-${n}`;
  return { actor: { userId, sessionId, isGuest: false }, ref: { socketId: `${userId}-socket-${n}`, sessionId } };
};

/** A second socket of the same session (the app reconnected): it may take the call device over. */
export const reconnected = (was: FakeDevice, n: number): FakeDevice => ({ actor: was.actor, ref: { socketId: `${was.ref.socketId}-again-${n}`, sessionId: was.ref.sessionId } });

const DEFAULT_CONFIG: CallsConfig = {
  ringTimeoutSec: 30,
  reconnectGraceSec: 10,
  stunUrls: [],
  credentialTtlSec: 3600,
  perCallerPerMinute: 1000,
  perCalleePerMinute: 1000,
  missedFoldWindowSec: 300,
};

/** The call records as the repository keeps them, in a Map by id; rows are copied in and out. */
function fakeCallsRepository(rows: Map<string, CallRow>): CallsRepository {
  return {
    async insert(row) {
      if (rows.has(row.id)) throw new Error(`duplicate call row ${row.id}`);
      rows.set(row.id, { ...row });
    },
    async update(id, patch) {
      const row = rows.get(id);
      if (row) rows.set(id, { ...row, ...patch } as CallRow);
    },
    async markAccepted(id, answeredAt) {
      const row = rows.get(id);
      if (row?.state === 'ringing') rows.set(id, { ...row, state: 'accepted', answered_at: answeredAt });
    },
    async find(id) {
      const row = rows.get(id);
      return row && { ...row };
    },
    async page(userId, before, limit) {
      return [...rows.values()]
        .filter((row) => row.caller_id === userId || row.callee_id === userId)
        .filter((row) => !before || row.started_at < before.startedAt || (row.started_at === before.startedAt && row.id < before.id))
        .sort((a, b) => b.started_at - a.started_at || (a.id < b.id ? 1 : -1))
        .slice(0, limit)
        .map((row) => ({ ...row }));
    },
    async unfinished(startedBefore, limit = 500) {
      return [...rows.values()]
        .filter((row) => (row.state === 'ringing' || row.state === 'accepted') && row.started_at < startedBefore)
        .slice(0, limit)
        .map((row) => ({ ...row }));
    },
  };
}

/**
 * `CallsServiceDeps.users` is the whole users repository, of which the calls module reads two
 * methods. The fake implements those; any other method throws by name, so a new use of the
 * repository shows up as a clear failure here rather than as `undefined is not a function`.
 */
function onlyMethods<T extends object>(name: string, part: Partial<T>): T {
  return new Proxy(part, {
    get(target, prop, receiver) {
      if (typeof prop === 'string' && !(prop in target)) throw new Error(`${name}.${prop} is not faked: the calls service did not use it when these tests were written`);
      return Reflect.get(target, prop, receiver);
    },
  }) as T;
}

function userRow(id: string): UserRow {
  return {
    id,
    username: id,
    username_lower: id,
    nickname: id,
    nickname_lower: id,
    email: null,
    email_lower: null,
    password_hash: null,
    is_guest: 0,
    is_bot: 0,
    avatar_url: null,
    bio: '',
    created_at: 0,
    updated_at: 0,
    last_login_at: 0,
    last_seen_at: null,
  };
}

export function createCallWorld(overrides: Partial<CallsConfig> = {}) {
  const config = { ...DEFAULT_CONFIG, ...overrides };
  const clock: Clock = { now: () => new Date(Date.now()) };
  const cache = new MemoryCache(() => clock.now().getTime());

  const rows = new Map<string, CallRow>();
  const people = new Map(['alice', 'bob', 'carol', 'dave'].map((id) => [id, userRow(id)]));
  const users = onlyMethods<UsersRepository>('users', {
    findById: async (id) => people.get(id),
    findByIds: async (ids) => ids.flatMap((id) => people.get(id) ?? []),
  });

  const pair = (a: string, b: string) => (a < b ? `${a}|${b}` : `${b}|${a}`);
  const friends = new Set<string>();
  const blocked = new Set<string>();
  const policy: CallsServiceDeps['policy'] = {
    async requireContact(from, to) {
      if (blocked.has(pair(from, to))) throw new AppError('FORBIDDEN', 'calls between you and this user are blocked');
    },
    areFriends: async (a, b) => friends.has(pair(a, b)),
    isCallParty: (userId, call) => call.caller_id === userId || call.callee_id === userId,
  };

  /** The messages the calls module left, in id order; `updates` counts the rewrites of each. */
  const messages: Message[] = [];
  const updates = new Map<string, number>();
  const withCall = (message: Message): Message => {
    const call = message.type === 'call' ? decodeCallContent(message.content, message.clientMsgId) : null;
    return call ? { ...message, call } : message;
  };
  const messaging: CallsServiceDeps['messaging'] = {
    async postAs(senderId, conversationId, input) {
      // The real table's unique (sender, clientMsgId): a repeat returns the stored message.
      const stored = messages.find((message) => message.senderId === senderId && message.clientMsgId === input.clientMsgId);
      if (stored) {
        if (stored.conversationId !== conversationId) throw new AppError('CONFLICT', 'clientMsgId was already used for another conversation');
        return structuredClone(stored);
      }
      const message = withCall({
        id: String(messages.length + 1),
        conversationId,
        senderId,
        type: input.type,
        content: input.content,
        clientMsgId: input.clientMsgId,
        replyToId: null,
        attachments: [],
        reactions: [],
        createdAt: clock.now().toISOString(),
        editedAt: null,
        recalledAt: null,
      });
      messages.push(message);
      return structuredClone(message);
    },
    async updateServerMessage(messageId, content) {
      const index = messages.findIndex((message) => message.id === messageId);
      const stored = messages[index];
      if (!stored) throw new AppError('NOT_FOUND', 'message not found');
      const message = withCall({ ...stored, content });
      messages[index] = message;
      updates.set(messageId, (updates.get(messageId) ?? 0) + 1);
      return structuredClone(message);
    },
    async describe(_actor, conversationId): Promise<Conversation> {
      const last = messages.filter((message) => message.conversationId === conversationId).at(-1);
      return {
        id: conversationId,
        type: 'private',
        lastMessage: last ? structuredClone(last) : null,
        unreadCount: 0,
        unreadMentionCount: 0,
        notifications: { level: 'all', until: null },
        lastReadMessageId: null,
        peerLastReadMessageId: null,
        updatedAt: clock.now().toISOString(),
      };
    },
  };

  /** Sockets connected per user: a user with none is offline and is not rung. */
  const sockets = new Map<string, string[]>();
  const invisible = new Set<string>();
  const sent: Sent[] = [];
  const record = <E extends ServerEvent>(entry: Sent<E>) => {
    sent.push(structuredClone(entry) as Sent);
  };
  const publisher: Publisher = {
    toUsers: (userIds, event, payload, options) =>
      record({ via: 'users', to: userIds, event, payload, ...(options?.exceptSocketId ? { exceptSocketId: options.exceptSocketId } : {}) }),
    toSockets: (socketIds, event, payload) => record({ via: 'sockets', to: socketIds, event, payload }),
    socketsOf: async (userId) => [...(sockets.get(userId) ?? [])],
    toConversation: (conversationId, event, payload) => record({ via: 'conversation', to: [conversationId], event, payload }),
    joinConversation: async () => {},
    leaveConversation: () => {},
    disconnectSessions: () => {},
  };

  const service = createCallsService({
    calls: fakeCallsRepository(rows),
    users,
    policy,
    messaging,
    presence: { nodeId: 'node-1', isNodeAlive: async () => true, isInvisible: async (userId) => invisible.has(userId) },
    publisher,
    cache,
    clock,
    config,
    logger: pino({ level: 'silent' }),
  });

  return {
    service,
    config,
    cache,
    /** Call records by id. */
    rows,
    messages,
    updates,
    /** Everything sent so far, in order. */
    sent,
    /** The payloads of one event, in order. */
    events<E extends ServerEvent>(event: E): Sent<E>[] {
      return sent.filter((entry): entry is Sent<E> => entry.event === event);
    },
    /** The user's devices are connected (their sockets exist), so a call to them rings. */
    online(...devices: FakeDevice[]) {
      for (const { actor, ref } of devices) sockets.set(actor.userId, [...(sockets.get(actor.userId) ?? []), ref.socketId]);
    },
    befriend: (a: string, b: string) => friends.add(pair(a, b)),
    block: (a: string, b: string) => blocked.add(pair(a, b)),
    hide: (userId: string) => invisible.add(userId),
    async close() {
      await service.stop();
      await cache.close();
    },
  };
}

export type CallWorld = ReturnType<typeof createCallWorld>;
