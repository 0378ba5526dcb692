import { describe, expect, it } from 'vitest';
import type { Conversation, Me, Message, User } from '../../src/client/index.js';
import type { CallSummary } from '../../src/contract/calls.js';
import { initialState, type State } from '../../web/src/state/model.js';
import {
  aiMessageUpserted,
  contactsLoaded,
  conversationIdOfRoute,
  conversationsLoaded,
  hasConversation,
  messageArrived,
  messageChanged,
  messagePageLoaded,
  readPositionsLoaded,
  readReceived,
  sessionCleared,
  TYPING_TTL_MS,
  typingChanged,
  typingExpired,
  unreadUpTo,
  upsertMessage,
} from '../../web/src/state/reducers.js';

// The web client's reducers run here in Node, with no document, window or storage: what they need
// (the time, whether the conversation is on screen) comes in as arguments.

const user = (id: string): User => ({ id, username: id, nickname: id, avatarUrl: null, isGuest: false }) as User;
const me = { ...user('me'), email: null, lastLoginAt: '2026-01-01T00:00:00.000Z', profile: {} } as Me;

let clock = 0;
function message(id: string, fields: Partial<Message> = {}): Message {
  clock += 1;
  return {
    id,
    conversationId: 'c1',
    senderId: 'bob',
    type: 'text',
    content: `message ${id}`,
    clientMsgId: `client-${id}`,
    replyToId: null,
    attachments: [],
    reactions: [],
    createdAt: new Date(Date.UTC(2026, 0, 1, 12, 0, clock)).toISOString(),
    editedAt: null,
    recalledAt: null,
    ...fields,
  };
}

function conversation(id: string, lastMessage: Message | null, fields: Partial<Conversation> = {}): Conversation {
  return {
    id,
    type: 'private',
    peer: user(`peer-${id}`),
    lastMessage,
    unreadCount: 0,
    unreadMentionCount: 0,
    notifications: { level: 'all', until: null },
    lastReadMessageId: lastMessage?.id ?? null,
    peerLastReadMessageId: null,
    updatedAt: '2026-01-01T00:00:00.000Z',
    ...fields,
  };
}

/** Freezes every level, so a reducer that mutates its input throws instead of passing. */
function frozen<T>(value: T): T {
  if (value && typeof value === 'object' && !Object.isFrozen(value)) {
    for (const key of Object.keys(value)) frozen((value as Record<string, unknown>)[key]);
    Object.freeze(value);
  }
  return value;
}

/** Signed in as `me`, with conversation c1 open and its messages loaded. */
function signedIn(messages: Message[], conversations: Conversation[] = [conversation('c1', messages.at(-1) ?? null)]): State {
  return frozen({
    ...initialState('/chats/c1'),
    me,
    booting: false,
    conversations,
    messages: { c1: { items: messages, nextCursor: null, loading: false } },
  });
}

const ids = (state: State, conversationId = 'c1') => state.messages[conversationId]?.items.map((m) => m.id);

describe('web state: messages', () => {
  it('stores a message that arrives twice once, in id order (ids compared as numbers beyond 2^53)', () => {
    // 9007199254740993 and …992 are one double apart from nothing: compared as numbers they are equal.
    let state = signedIn([message('9'), message('9007199254740992')]);
    const late = message('9007199254740993');
    const between = message('10');
    state = messageArrived(state, late, true);
    state = messageArrived(state, between, true);
    state = messageArrived(state, late, true);
    state = upsertMessage(state, between);
    expect(ids(state)).toEqual(['9', '10', '9007199254740992', '9007199254740993']);
  });

  it('counts a message from someone else unread when not watching, but never a group event (system message)', () => {
    let state = signedIn([message('1')]);
    state = messageArrived(state, message('2'), false);
    expect(state.conversations[0]?.unreadCount).toBe(1);
    const event = message('3', { type: 'system', content: '{}', system: { kind: 'member_added', actorId: 'bob', userIds: ['me'] } });
    state = messageArrived(state, event, false);
    expect(state.conversations[0]?.unreadCount).toBe(1);
    expect(state.conversations[0]?.lastMessage?.id).toBe('3');
  });

  it('merges a history page under the held messages without doubling the ones that came live meanwhile', () => {
    let state = signedIn([message('40'), message('50')]);
    state = messagePageLoaded(state, 'c1', { items: [message('20'), message('30'), message('40')], nextCursor: 'older' });
    expect(ids(state)).toEqual(['20', '30', '40', '50']);
    expect(state.messages.c1).toMatchObject({ nextCursor: 'older', loading: false });
  });

  it('keeps no messages for a conversation whose history is not loaded (the first open loads it)', () => {
    const state = signedIn([]);
    expect(upsertMessage(state, message('5', { conversationId: 'c2' }))).toBe(state);
  });

  it('replaces a message by an edit or a recall, and the list shows the new last message', () => {
    const original = message('7', { senderId: 'me', content: 'helo' });
    let state = signedIn([message('6'), original]);
    state = messageChanged(state, { ...original, content: 'hello', editedAt: '2026-01-01T13:00:00.000Z' });
    expect(state.messages.c1?.items).toHaveLength(2);
    expect(state.messages.c1?.items.at(-1)).toMatchObject({ id: '7', content: 'hello', editedAt: '2026-01-01T13:00:00.000Z' });
    expect(state.conversations[0]?.lastMessage).toMatchObject({ id: '7', content: 'hello' });

    state = messageChanged(state, { ...original, content: '', recalledAt: '2026-01-01T13:01:00.000Z' });
    expect(state.messages.c1?.items.map((m) => [m.id, m.content])).toEqual([
      ['6', 'message 6'],
      ['7', ''],
    ]);
    expect(state.conversations[0]?.lastMessage?.recalledAt).toBe('2026-01-01T13:01:00.000Z');
    // Changes are never unread, not even someone else's.
    expect(state.conversations[0]?.unreadCount).toBe(0);
  });

  it('an edit of an older message leaves the newer last message in the conversation list', () => {
    const older = message('6');
    let state = signedIn([older, message('7')]);
    state = messageChanged(state, { ...older, content: 'changed' });
    expect(state.conversations[0]?.lastMessage?.id).toBe('7');
    expect(state.messages.c1?.items[0]?.content).toBe('changed');
  });

  it('a folded call message update replaces the earlier one (same message, higher count)', () => {
    const call = (count: number): CallSummary => ({ callId: 'call-1', state: 'missed', media: 'audio', durationSec: 0, count });
    const first = message('80', { type: 'call', content: 'missed voice call', call: call(1) });
    let state = signedIn([message('70')]);
    state = messageArrived(state, first, false);
    expect(state.conversations[0]?.unreadCount).toBe(1);
    state = messageChanged(state, { ...first, content: '2 missed voice calls', call: call(2) });
    expect(ids(state)).toEqual(['70', '80']);
    expect(state.messages.c1?.items.at(-1)?.call).toEqual(call(2));
    expect(state.conversations[0]?.lastMessage?.call?.count).toBe(2);
    // The fold is the same missed call, not a new one to count.
    expect(state.conversations[0]?.unreadCount).toBe(1);
  });
});

describe('web state: conversation list', () => {
  const a = conversation('a', message('100', { conversationId: 'a' }));
  const b = conversation('b', message('200', { conversationId: 'b' }));
  const c = conversation('c', message('300', { conversationId: 'c' }));

  it('sorts a loaded list by last activity, most recent first, and keeps its peers', () => {
    const state = conversationsLoaded(frozen(initialState('/chats')), [a, c, b]);
    expect(state.conversations.map((x) => x.id)).toEqual(['c', 'b', 'a']);
    expect(Object.keys(state.users).sort()).toEqual(['peer-a', 'peer-b', 'peer-c']);
  });

  it('moves a conversation to the top on a new message and counts it unread unless it is on screen or mine', () => {
    let state = signedIn([], [c, b, a]);
    state = messageArrived(state, message('400', { conversationId: 'a' }), false);
    expect(state.conversations.map((x) => [x.id, x.unreadCount])).toEqual([
      ['a', 1],
      ['c', 0],
      ['b', 0],
    ]);
    expect(state.conversations[0]?.lastMessage?.id).toBe('400');

    state = messageArrived(state, message('500', { conversationId: 'b' }), true);
    state = messageArrived(state, message('600', { conversationId: 'c', senderId: 'me' }), false);
    expect(state.conversations.map((x) => [x.id, x.unreadCount])).toEqual([
      ['c', 0],
      ['b', 0],
      ['a', 1],
    ]);
  });

  it('leaves the list as it is for a message of a conversation it does not hold (the caller reloads the list)', () => {
    const state = signedIn([], [a]);
    expect(hasConversation(state, 'z')).toBe(false);
    expect(messageArrived(state, message('1', { conversationId: 'z' }), false).conversations).toBe(state.conversations);
  });
});

describe('web state: read receipts', () => {
  it("moves a reader's mark forward only", () => {
    let state = signedIn([message('1'), message('2'), message('3')]);
    state = readReceived(state, { conversationId: 'c1', userId: 'bob', messageId: '3' });
    state = readReceived(state, { conversationId: 'c1', userId: 'bob', messageId: '2' });
    expect(state.readBy.c1).toEqual({ bob: '3' });
    // Someone else's read says nothing about mine.
    expect(state.conversations[0]).toMatchObject({ lastReadMessageId: '3', unreadCount: 0 });
  });

  it('clears the unread count when I read on another device', () => {
    const messages = [message('1'), message('2'), message('3')];
    let state = signedIn(messages, [conversation('c1', messages[2] ?? null, { unreadCount: 2, lastReadMessageId: '1' })]);
    expect(unreadUpTo(state, 'c1')).toBe('3');
    state = readReceived(state, { conversationId: 'c1', userId: 'me', messageId: '3' });
    expect(state.conversations[0]).toMatchObject({ unreadCount: 0, lastReadMessageId: '3' });
    expect(state.readBy.c1).toEqual({ me: '3' });
    // Nothing is left to mark read here.
    expect(unreadUpTo(state, 'c1')).toBeNull();
  });

  it("takes the stored positions a reload brings (a private chat's peer from the list, a group's from /reads) without moving a mark back", () => {
    let state = signedIn([message('1'), message('2'), message('3')]);
    state = conversationsLoaded(state, [conversation('c1', null, { peerLastReadMessageId: '2' }), conversation('g1', null, { type: 'group', peer: undefined })]);
    expect(state.readBy).toEqual({ c1: { 'peer-c1': '2' } });
    state = readPositionsLoaded(state, 'g1', [
      { userId: 'bob', lastReadMessageId: '3', readAt: '2026-01-01T00:00:00.000Z' },
      { userId: 'carol', lastReadMessageId: '1', readAt: '2026-01-01T00:00:00.000Z' },
    ]);
    state = readReceived(state, { conversationId: 'g1', userId: 'carol', messageId: '2' });
    // A slower load answering with an older position leaves the live one.
    state = readPositionsLoaded(state, 'g1', [{ userId: 'carol', lastReadMessageId: '1', readAt: '2026-01-01T00:00:00.000Z' }]);
    expect(state.readBy.g1).toEqual({ bob: '3', carol: '2' });
  });
});

describe('web state: typing', () => {
  it('shows a typing flag until it expires, and not after', () => {
    const start = signedIn([]);
    const typing = typingChanged(start, { conversationId: 'c1', userId: 'bob', typing: true }, 1000);
    expect(typing.typing.c1).toEqual({ bob: 1000 + TYPING_TTL_MS });
    // Not yet expired: the very same state comes back, so nothing re-renders.
    expect(typingExpired(typing, 1000 + TYPING_TTL_MS)).toBe(typing);
    expect(typingExpired(typing, 1001 + TYPING_TTL_MS).typing.c1).toEqual({});
  });

  it('clears a typing flag on `typing: false` and when the typist’s message arrives', () => {
    const start = signedIn([]);
    const typing = typingChanged(start, { conversationId: 'c1', userId: 'bob', typing: true }, 1000);
    expect(typingChanged(typing, { conversationId: 'c1', userId: 'bob', typing: false }, 2000).typing.c1).toEqual({});
    expect(messageArrived(typing, message('1'), true).typing.c1).toEqual({});
    // Clearing a flag nobody set changes nothing.
    expect(typingChanged(start, { conversationId: 'c1', userId: 'bob', typing: false }, 2000)).toBe(start);
  });
});

describe('web state: the rest', () => {
  it('reads the open conversation from the route', () => {
    expect(conversationIdOfRoute('/chats/a%2Fb')).toBe('a/b');
    expect(conversationIdOfRoute('/chats')).toBeNull();
    expect(conversationIdOfRoute('/chats/1/info')).toBeNull();
  });

  it("takes friends' presence and profiles from the contact lists", () => {
    const state = contactsLoaded(signedIn([]), {
      friends: [{ user: user('bob'), since: '2026-01-01T00:00:00.000Z', presence: { status: 'away', lastSeenAt: null } }] as never,
      incoming: [],
      outgoing: [],
      invitations: [],
    });
    expect(state.presence).toEqual({ bob: 'away' });
    expect(state.users.bob?.username).toBe('bob');
    expect(state.friends).toHaveLength(1);
  });

  it('folds a streamed AI reply into one message, then replaces it with the finished one', () => {
    const base = { conversationId: 'ai1', role: 'assistant', model: null, error: null, usage: null, createdAt: '2026-01-01T00:00:00.000Z', completedAt: null } as const;
    let state = frozen(initialState('/ai/ai1'));
    for (const delta of ['Hel', 'lo']) {
      state = aiMessageUpserted(state, 'ai1', 'm1', (m) => ({ ...(m ?? { ...base, id: 'm1', content: '', status: 'streaming' }), content: (m?.content ?? '') + delta }));
    }
    expect(state.aiMessages.ai1?.map((m) => m.content)).toEqual(['Hello']);
    state = aiMessageUpserted(state, 'ai1', 'm1', () => ({ ...base, id: 'm1', content: 'Hello!', status: 'complete' }) as never);
    expect(state.aiMessages.ai1).toHaveLength(1);
    expect(state.aiMessages.ai1?.[0]?.content).toBe('Hello!');
  });

  it('forgets the account on sign-out but keeps the route and the server features', () => {
    const state = sessionCleared({ ...signedIn([message('1')]), features: { ai: true }, readBy: { c1: { bob: '1' } } });
    expect(state).toMatchObject({ me: null, conversations: [], messages: {}, readBy: {}, typing: {}, connected: false, route: '/chats/c1', features: { ai: true } });
  });
});

describe('web state: modules', () => {
  it('touch no browser global when imported: the client, storage, the router and timers start in init()', async () => {
    // Node has none of these, so any module reading them at import would throw here.
    for (const global of ['window', 'document', 'location', 'history', 'sessionStorage', 'addEventListener']) expect(global in globalThis, global).toBe(false);
    // Imported by name at run time: a static import would bring the Preact (DOM) typings into the server's type check.
    for (const name of ['session', 'live', 'loaders', 'actions', 'router', 'client', 'state']) {
      await expect(import(`../../web/src/state/${name}.ts`), name).resolves.toBeTypeOf('object');
    }
  });
});
