/**
 * Every state transition of the web client as a pure function `(state, input) => state`: socket
 * events folded in, REST pages merged, lists re-sorted. No browser, clock or network here (the time
 * and what the user is looking at come in as arguments), so they run and are tested in plain Node.
 * A reducer that changes nothing returns the state it was given.
 */
import type {
  AiMessage,
  Conversation,
  Friend,
  FriendRequest,
  GroupInvitation,
  Message,
  Page,
  PublicProfile,
  ReadEvent,
  ReadPosition,
  TypingEvent,
  User,
  UserStatusEvent,
} from '../../../src/client/index.js';
import { mentionsMe } from '../../../src/client/mentions.js';
import type { State } from './model.js';

/** How long a `typing: true` shows without a refresh (senders repeat it while typing). */
export const TYPING_TTL_MS = 6000;

/** Message ids are decimal snowflakes: longer than a double holds, ordered by time. */
export const compareIds = (a: string, b: string): number => {
  const x = BigInt(a);
  const y = BigInt(b);
  return x < y ? -1 : x > y ? 1 : 0;
};

const activity = (c: Conversation): string => c.lastMessage?.createdAt ?? c.updatedAt;

/** Most recent activity first. */
export function sortConversations(list: Conversation[]): Conversation[] {
  return [...list].sort((a, b) => (activity(a) < activity(b) ? 1 : activity(a) > activity(b) ? -1 : 0));
}

/** The conversation a route shows, if any (its messages are read as they arrive). */
export function conversationIdOfRoute(route: string): string | null {
  const match = /^\/chats\/([^/]+)$/.exec(route);
  return match?.[1] ? decodeURIComponent(match[1]) : null;
}

export const hasConversation = (state: State, conversationId: string): boolean => state.conversations.some((c) => c.id === conversationId);

/** Stores a message once, in id order, replacing an earlier copy (a retry, an edit, a recall, a folded call). Only loaded lists hold messages. */
export function upsertMessage(state: State, message: Message): State {
  const list = state.messages[message.conversationId];
  if (!list) return state;
  const items = list.items.filter((m) => m.id !== message.id);
  items.push(message);
  items.sort((a, b) => compareIds(a.id, b.id));
  return { ...state, messages: { ...state.messages, [message.conversationId]: { ...list, items } } };
}

/** Moves a conversation to its place by its new last message (live reordering), optionally counting it unread. */
export function touchConversation(state: State, message: Message, countUnread: boolean): State {
  const existing = state.conversations.find((c) => c.id === message.conversationId);
  if (!existing) return state;
  const isNewer = !existing.lastMessage || compareIds(message.id, existing.lastMessage.id) >= 0;
  const updated: Conversation = {
    ...existing,
    lastMessage: isNewer ? message : existing.lastMessage,
    unreadCount: existing.unreadCount + (countUnread ? 1 : 0),
    unreadMentionCount: existing.unreadMentionCount + (countUnread && mentionsMe(message, state.me?.id ?? '') ? 1 : 0),
    updatedAt: isNewer ? message.createdAt : existing.updatedAt,
  };
  return { ...state, conversations: sortConversations(state.conversations.map((c) => (c.id === updated.id ? updated : c))) };
}

/** A message I sent, or one changed (edited, recalled, reacted to, a call folded into it): never unread. */
export function messageChanged(state: State, message: Message): State {
  return touchConversation(upsertMessage(state, message), message, false);
}

/**
 * A `chat` event. `watching`: the conversation is on screen and the page visible, so the message is
 * read at once rather than counted unread. Its sender has stopped typing.
 */
export function messageArrived(state: State, message: Message, watching: boolean): State {
  const mine = message.senderId === state.me?.id;
  // A group's own events (system messages) are never unread, as the server counts.
  const stored = touchConversation(upsertMessage(state, message), message, !mine && !watching && message.type !== 'system');
  return typingChanged(stored, { conversationId: message.conversationId, userId: message.senderId, typing: false }, 0);
}

export function messagesLoading(state: State, conversationId: string, loading: boolean): State {
  const list = state.messages[conversationId];
  return { ...state, messages: { ...state.messages, [conversationId]: { items: list?.items ?? [], nextCursor: list?.nextCursor ?? null, loading } } };
}

/** A page of history merged under what is held (messages that arrived live while it loaded stay, once). */
export function messagePageLoaded(state: State, conversationId: string, page: Page<Message>): State {
  const current = state.messages[conversationId];
  const known = new Set(current?.items.map((m) => m.id));
  const items = [...page.items.filter((m) => !known.has(m.id)), ...(current?.items ?? [])].sort((a, b) => compareIds(a.id, b.id));
  return { ...state, messages: { ...state.messages, [conversationId]: { items, nextCursor: page.nextCursor, loading: false } } };
}

/** The newest message of a loaded conversation not yet marked read by me, or null when all is read. */
export function unreadUpTo(state: State, conversationId: string): string | null {
  const last = state.messages[conversationId]?.items.at(-1);
  const conversation = state.conversations.find((c) => c.id === conversationId);
  if (!last || !conversation) return null;
  if (conversation.lastReadMessageId && compareIds(conversation.lastReadMessageId, last.id) >= 0 && conversation.unreadCount === 0) return null;
  return last.id;
}

/** I read a conversation up to `messageId`, here or on another device of mine. */
export function conversationRead(state: State, conversationId: string, messageId: string): State {
  return { ...state, conversations: state.conversations.map((c) => (c.id === conversationId ? { ...c, unreadCount: 0, unreadMentionCount: 0, lastReadMessageId: messageId } : c)) };
}

/** Someone's read position, live or loaded: it only moves forward. */
function readerMoved(state: State, conversationId: string, userId: string, messageId: string): State {
  const previous = state.readBy[conversationId]?.[userId];
  if (previous && compareIds(previous, messageId) >= 0) return state;
  return { ...state, readBy: { ...state.readBy, [conversationId]: { ...state.readBy[conversationId], [userId]: messageId } } };
}

/** A `read` receipt: the reader's mark only moves forward; my own (another device) clears the unread count. */
export function readReceived(state: State, event: ReadEvent): State {
  const next = readerMoved(state, event.conversationId, event.userId, event.messageId);
  return event.userId === state.me?.id ? conversationRead(next, event.conversationId, event.messageId) : next;
}

/** The others' stored read positions (`GET /conversations/:id/reads`): what they read before this page loaded. */
export function readPositionsLoaded(state: State, conversationId: string, positions: ReadPosition[]): State {
  return positions.reduce((next, p) => readerMoved(next, conversationId, p.userId, p.lastReadMessageId), state);
}

/** A private chat's peer position as the conversation carries it (after a reload, on another device). */
function peerReadSeen(state: State, conversations: Conversation[]): State {
  return conversations.reduce((next, c) => (c.peer && c.peerLastReadMessageId ? readerMoved(next, c.id, c.peer.id, c.peerLastReadMessageId) : next), state);
}

/** A `typing` event at time `now` (ms): shown until `now + TYPING_TTL_MS`, or cleared. */
export function typingChanged(state: State, event: TypingEvent, now: number): State {
  if (event.typing) {
    return { ...state, typing: { ...state.typing, [event.conversationId]: { ...state.typing[event.conversationId], [event.userId]: now + TYPING_TTL_MS } } };
  }
  if (!state.typing[event.conversationId]?.[event.userId]) return state;
  const users = { ...state.typing[event.conversationId] };
  delete users[event.userId];
  return { ...state, typing: { ...state.typing, [event.conversationId]: users } };
}

/** Drops the typing flags that expired before `now` (ms). */
export function typingExpired(state: State, now: number): State {
  const expired = Object.values(state.typing).some((users) => Object.values(users).some((until) => until < now));
  if (!expired) return state;
  const typing: State['typing'] = {};
  for (const [conversationId, users] of Object.entries(state.typing)) {
    typing[conversationId] = Object.fromEntries(Object.entries(users).filter(([, until]) => until >= now));
  }
  return { ...state, typing };
}

export function presenceChanged(state: State, event: Pick<UserStatusEvent, 'userId' | 'status'>): State {
  return { ...state, presence: { ...state.presence, [event.userId]: event.status } };
}

/** Public profiles seen in any answer, for names and avatars. */
export function usersSeen(state: State, users: User[]): State {
  if (users.length === 0) return state;
  const next = { ...state.users };
  for (const user of users) next[user.id] = user;
  return { ...state, users: next };
}

/**
 * A user changed their public profile (`user_updated`): every copy held (people, chat peers,
 * friends, me) shows the new nickname, avatar, bio and status line at once.
 */
export function userUpdated(state: State, user: PublicProfile): State {
  const { nickname, avatarUrl, bio, statusText } = user;
  const fresh = <T extends User>(held: T): T => (held.id === user.id ? { ...held, nickname, avatarUrl, bio } : held);
  return {
    ...state,
    users: { ...state.users, [user.id]: { ...state.users[user.id], ...user } },
    conversations: state.conversations.map((c) => (c.peer?.id === user.id ? { ...c, peer: fresh(c.peer) } : c)),
    friends: state.friends.map((f) => (f.user.id === user.id ? { ...f, user: fresh(f.user) } : f)),
    me: state.me?.id === user.id ? { ...fresh(state.me), profile: { ...state.me.profile, statusText } } : state.me,
  };
}

/** The whole conversation list, as loaded; its peers' profiles are kept. */
export function conversationsLoaded(state: State, items: Conversation[]): State {
  return {
    ...peerReadSeen(
      usersSeen(
        state,
        items.flatMap((c) => (c.peer ? [c.peer] : [])),
      ),
      items,
    ),
    conversations: sortConversations(items),
  };
}

/** A conversation opened from elsewhere (a contact's chat button) joins the list if it was not there. */
export function conversationAdded(state: State, conversation: Conversation): State {
  if (hasConversation(state, conversation.id)) return state;
  return { ...peerReadSeen(state, [conversation]), conversations: sortConversations([conversation, ...state.conversations]) };
}

export interface ContactLists {
  friends: Friend[];
  incoming: FriendRequest[];
  outgoing: FriendRequest[];
  invitations: GroupInvitation[];
}

/** Friends, requests and invitations, as loaded; friends' presence comes with them. */
export function contactsLoaded(state: State, lists: ContactLists): State {
  const presence = { ...state.presence };
  for (const friend of lists.friends) presence[friend.user.id] = friend.presence.status;
  return {
    ...usersSeen(
      state,
      lists.friends.map((f) => f.user),
    ),
    ...lists,
    presence,
  };
}

/** Signed out: nothing of the account stays; the route, the features and the toast do. */
export function sessionCleared(state: State): State {
  return {
    ...state,
    me: null,
    conversations: [],
    friends: [],
    incoming: [],
    outgoing: [],
    invitations: [],
    messages: {},
    readBy: {},
    typing: {},
    connected: false,
    call: null,
    aiMessages: {},
  };
}

/** Folds an AI message in by id: a streamed chunk, the finished reply or its failure replaces the earlier version. */
export function aiMessageUpserted(state: State, conversationId: string, id: string, change: (previous: AiMessage | undefined) => AiMessage): State {
  const list = state.aiMessages[conversationId] ?? [];
  const previous = list.find((m) => m.id === id);
  const next = previous ? list.map((m) => (m.id === id ? change(m) : m)) : [...list, change(undefined)];
  return { ...state, aiMessages: { ...state.aiMessages, [conversationId]: next } };
}

/** My notification setting for a conversation changed (here or as the server answered). */
export function notificationsChanged(state: State, conversationId: string, notifications: Conversation['notifications']): State {
  return { ...state, conversations: state.conversations.map((c) => (c.id === conversationId ? { ...c, notifications } : c)) };
}
