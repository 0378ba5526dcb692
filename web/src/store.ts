/**
 * App state and the live connection: one ParleyClient (the SDK) for REST and the socket, token
 * rotation, and the socket events folded into a small observable state.
 */
import { useEffect, useState } from 'preact/hooks';
import {
  type AiMessage,
  type Attachment,
  type Conversation,
  type Friend,
  type FriendRequest,
  type GroupInvitation,
  type Me,
  type Message,
  type MessageType,
  ParleyClient,
  ParleyError,
  type ParleyRest,
  type ParleySocket,
  type Tokens,
  type User,
  rest,
} from '../../src/client/index.js';

export interface MessageList {
  /** Oldest first. */
  items: Message[];
  /** Cursor for the page before `items[0]`; null once the start is reached. */
  nextCursor: string | null;
  loading: boolean;
}

export interface State {
  me: Me | null;
  booting: boolean;
  connected: boolean;
  route: string;
  conversations: Conversation[];
  friends: Friend[];
  incoming: FriendRequest[];
  outgoing: FriendRequest[];
  /** Pending invitations into groups (someone who is not a friend added me: I join by accepting). */
  invitations: GroupInvitation[];
  presence: Record<string, 'online' | 'away' | 'offline'>;
  users: Record<string, User>;
  messages: Record<string, MessageList>;
  /** conversationId → userId → when the typing flag expires (ms). */
  typing: Record<string, Record<string, number>>;
  /** conversationId → userId → the last message id they read. */
  readBy: Record<string, Record<string, string>>;
  toast: string | null;
  /** Optional server features (GET /web-config.json): AI shows only where a provider is configured. */
  features: { ai?: boolean };
  /** The call on screen (calls.tsx keeps the peer connection and streams). */
  call: CallView | null;
  /** AI conversations' messages by conversation id, streamed replies included (ai.tsx). */
  aiMessages: Record<string, AiMessage[]>;
}

export interface CallView {
  callId: string;
  peer: { id: string; name: string; avatarUrl: string | null };
  media: 'audio' | 'video';
  direction: 'outgoing' | 'incoming';
  phase: 'ringing' | 'connecting' | 'active';
  muted: boolean;
  cameraOff: boolean;
}

let state: State = {
  me: null,
  booting: true,
  connected: false,
  route: location.pathname,
  conversations: [],
  friends: [],
  incoming: [],
  outgoing: [],
  invitations: [],
  presence: {},
  users: {},
  messages: {},
  typing: {},
  readBy: {},
  toast: null,
  features: {},
  call: null,
  aiMessages: {},
};
const listeners = new Set<() => void>();

export const getState = (): State => state;

export function update(patch: Partial<State> | ((current: State) => Partial<State>)): void {
  state = { ...state, ...(typeof patch === 'function' ? patch(state) : patch) };
  for (const listener of listeners) listener();
}

/** Re-renders the calling component on every state change (the app is small enough). */
export function useStore(): State {
  const [, setTick] = useState(0);
  const rendered = state;
  useEffect(() => {
    const listener = () => setTick((tick) => tick + 1);
    listeners.add(listener);
    // Effects run after paint: catch a change made between this render and the subscription.
    if (state !== rendered) listener();
    return () => void listeners.delete(listener);
  }, []);
  return state;
}

export function navigate(path: string, replace = false): void {
  if (path === location.pathname) return;
  if (replace) history.replaceState(null, '', path);
  else history.pushState(null, '', path);
  update({ route: path });
}
addEventListener('popstate', () => update({ route: location.pathname }));

export const compareIds = (a: string, b: string): number => {
  const x = BigInt(a);
  const y = BigInt(b);
  return x < y ? -1 : x > y ? 1 : 0;
};

export function newClientMsgId(): string {
  // crypto.randomUUID needs a secure context; plain http on a LAN address is not one.
  return typeof crypto.randomUUID === 'function' ? crypto.randomUUID() : `${Date.now().toString(36)}-${Math.random().toString(36).slice(2)}`;
}

// Tokens live in sessionStorage: each tab is its own session, so two tabs never spend the same
// refresh token (a reuse would revoke the session).
const TOKENS_KEY = 'parley.tokens';

/** The SDK client, plus a transparent refresh-and-retry on 401 and a refresh timer before expiry. */
class WebClient extends ParleyClient {
  private refreshing: Promise<Tokens> | undefined;
  private timer: ReturnType<typeof setTimeout> | undefined;

  override async request<T = unknown>(method: string, path: string, body?: unknown): Promise<T> {
    try {
      return await super.request<T>(method, path, body);
    } catch (error) {
      const retriable = error instanceof ParleyError && error.status === 401 && this.refreshToken && !/^\/auth\/(refresh|login|register|guest)/.test(path);
      if (!retriable) throw error;
      await this.refreshOnce();
      return super.request<T>(method, path, body);
    }
  }

  /** One refresh at a time: concurrent 401s wait for the same rotation. */
  refreshOnce(): Promise<Tokens> {
    const spent = this.refreshToken;
    this.refreshing ??= this.refresh()
      .then((tokens) => {
        this.keep(tokens);
        return tokens;
      })
      .catch((error: unknown) => {
        // Rotated over REST but the socket hand-over failed: the old refresh token is spent, so the
        // new pair must be kept (a reload presenting the old one would end the session).
        if (this.refreshToken !== spent && this.accessToken && this.refreshToken) {
          this.keep({ accessToken: this.accessToken, refreshToken: this.refreshToken, expiresIn: 60 });
        } else if (error instanceof ParleyError && error.status === 401) void signedOut();
        throw error;
      })
      .finally(() => {
        this.refreshing = undefined;
      });
    return this.refreshing;
  }

  /** Stores the pair and rotates again at three quarters of the access token's life. */
  keep(tokens: Tokens): void {
    sessionStorage.setItem(TOKENS_KEY, JSON.stringify({ accessToken: tokens.accessToken, refreshToken: tokens.refreshToken }));
    clearTimeout(this.timer);
    this.timer = setTimeout(() => void this.refreshOnce().catch(() => {}), Math.max(10, tokens.expiresIn * 0.75) * 1000);
  }

  forget(): void {
    clearTimeout(this.timer);
    sessionStorage.removeItem(TOKENS_KEY);
    this.accessToken = undefined;
    this.refreshToken = undefined;
  }
}

const saved = JSON.parse(sessionStorage.getItem(TOKENS_KEY) ?? 'null') as Partial<Tokens> | null;
export const client = new WebClient(location.origin, saved ?? undefined);
export const api: ParleyRest = rest(client);

export function showError(error: unknown): void {
  const text = error instanceof ParleyError ? error.message.replace(/^[A-Z_]+: /, '') : error instanceof Error ? error.message : String(error);
  update({ toast: text });
}

export function rememberUsers(users: User[]): void {
  update((s) => {
    const next = { ...s.users };
    for (const user of users) next[user.id] = user;
    return { users: next };
  });
}

const pendingUsers = new Set<string>();
/** A user's public profile, fetched once when first needed (senders in groups). */
export function userName(userId: string): string {
  const known = state.users[userId];
  if (known) return known.nickname || known.username;
  if (!pendingUsers.has(userId)) {
    pendingUsers.add(userId);
    api.users.get(userId).then((user) => rememberUsers([user]), () => {});
  }
  return '…';
}

/** After register, login, guest or upgrade: keep the tokens, load the account and go live. */
export async function signedIn(tokens: Tokens): Promise<void> {
  client.keep(tokens);
  await start();
}

async function start(): Promise<void> {
  const me = await api.users.me();
  rememberUsers([me]);
  update({ me, booting: false });
  if (state.route === '/' || state.route === '/login') navigate('/chats', true);
  // Live first, then load: what changes once the socket is up arrives as an event, what changed
  // before is in the lists, so nothing (an invitation, a friend request) falls between the two.
  await connectSocket();
  await Promise.all([loadConversations(), loadContacts()]);
}

export async function boot(): Promise<void> {
  void fetch('/web-config.json')
    .then((response) => (response.ok ? (response.json() as Promise<{ features: State['features'] }>) : { features: {} }))
    .then(({ features }) => update({ features }), () => {});
  if (!client.refreshToken) {
    update({ booting: false });
    if (!state.route.startsWith('/login')) navigate('/login', true);
    return;
  }
  try {
    // Rotate at once: the stored access token may be long expired.
    await client.refreshOnce();
    await start();
  } catch {
    client.forget();
    update({ booting: false, me: null });
    navigate('/login', true);
  }
}

/** Upgrading ends every guest session (this one too): drop the socket first, reconnect with the new pair. */
export async function upgradeGuest(input: { username: string; password: string }): Promise<void> {
  client.disconnect();
  try {
    const result = await api.auth.upgrade(input);
    await signedIn(result);
  } catch (error) {
    await connectSocket().catch(() => {});
    throw error;
  }
}

export async function signedOut(): Promise<void> {
  client.disconnect();
  client.forget();
  update({ me: null, conversations: [], friends: [], incoming: [], outgoing: [], invitations: [], messages: {}, readBy: {}, typing: {}, connected: false, call: null, aiMessages: {} });
  navigate('/login', true);
}

export async function logout(): Promise<void> {
  await api.auth.logout().catch(() => {});
  await signedOut();
}

export async function loadConversations(): Promise<void> {
  // Walks the pages (most recent first); a few hundred conversations cover every sidebar.
  const items: Conversation[] = [];
  let cursor: string | undefined;
  for (let pages = 0; pages < 10; pages++) {
    const page = await api.conversations.list(cursor, 200);
    items.push(...page.items);
    if (!page.nextCursor) break;
    cursor = page.nextCursor;
  }
  rememberUsers(items.flatMap((c) => (c.peer ? [c.peer] : [])));
  update({ conversations: sortConversations(items) });
  // A peer without a known presence is a new friend (or a stranger): the friends list carries it.
  if (items.some((c) => c.peer && !(c.peer.id in state.presence))) await loadContacts();
}

export async function loadContacts(): Promise<void> {
  const [friends, incoming, outgoing, invitations] = await Promise.all([
    api.friends.list(),
    api.friends.requests('incoming'),
    api.friends.requests('outgoing'),
    api.groups.invitations(undefined, 200),
  ]);
  rememberUsers(friends.items.map((f) => f.user));
  const presence = { ...state.presence };
  for (const friend of friends.items) presence[friend.user.id] = friend.presence.status;
  update({ friends: friends.items, incoming: incoming.items, outgoing: outgoing.items, invitations: invitations.items, presence });
}

const activity = (c: Conversation): string => c.lastMessage?.createdAt ?? c.updatedAt;
function sortConversations(list: Conversation[]): Conversation[] {
  return [...list].sort((a, b) => (activity(a) < activity(b) ? 1 : activity(a) > activity(b) ? -1 : 0));
}

/** The conversation on screen, if any (its messages are read as they arrive). */
export function openConversationId(): string | null {
  const match = /^\/chats\/([^/]+)$/.exec(state.route);
  return match?.[1] ? decodeURIComponent(match[1]) : null;
}

function upsertMessage(message: Message): void {
  update((s) => {
    const list = s.messages[message.conversationId];
    if (!list) return {};
    const items = list.items.filter((m) => m.id !== message.id);
    items.push(message);
    items.sort((a, b) => compareIds(a.id, b.id));
    return { messages: { ...s.messages, [message.conversationId]: { ...list, items } } };
  });
}

/** Moves a conversation to the top with its new last message (live reordering). */
function touchConversation(message: Message, countUnread: boolean): boolean {
  const existing = state.conversations.find((c) => c.id === message.conversationId);
  if (!existing) return false;
  const isNewer = !existing.lastMessage || compareIds(message.id, existing.lastMessage.id) >= 0;
  const updated: Conversation = {
    ...existing,
    lastMessage: isNewer ? message : existing.lastMessage,
    unreadCount: existing.unreadCount + (countUnread ? 1 : 0),
    updatedAt: isNewer ? message.createdAt : existing.updatedAt,
  };
  update((s) => ({ conversations: sortConversations(s.conversations.map((c) => (c.id === updated.id ? updated : c))) }));
  return true;
}

export async function loadMessages(conversationId: string, older: boolean): Promise<void> {
  const list = state.messages[conversationId];
  if (list?.loading || (older && (!list || list.nextCursor === null)) || (!older && list)) return;
  const setList = (next: MessageList) => update((s) => ({ messages: { ...s.messages, [conversationId]: next } }));
  setList({ items: list?.items ?? [], nextCursor: list?.nextCursor ?? null, loading: true });
  try {
    const page = await api.conversations.messages(conversationId, { limit: 30, ...(older && list?.nextCursor ? { cursor: list.nextCursor } : {}) });
    const current = state.messages[conversationId];
    const known = new Set(current?.items.map((m) => m.id));
    const items = [...page.items.filter((m) => !known.has(m.id)), ...(current?.items ?? [])].sort((a, b) => compareIds(a.id, b.id));
    setList({ items, nextCursor: page.nextCursor, loading: false });
  } catch (error) {
    setList({ items: list?.items ?? [], nextCursor: list?.nextCursor ?? null, loading: false });
    throw error;
  }
}

/** Tells the server (and so the other members) that everything up to the newest message is read. */
export function markRead(conversationId: string): void {
  const list = state.messages[conversationId];
  const last = list?.items.at(-1);
  const conversation = state.conversations.find((c) => c.id === conversationId);
  if (!last || !conversation) return;
  if (conversation.lastReadMessageId && compareIds(conversation.lastReadMessageId, last.id) >= 0 && conversation.unreadCount === 0) return;
  update((s) => ({ conversations: s.conversations.map((c) => (c.id === conversationId ? { ...c, unreadCount: 0, lastReadMessageId: last.id } : c)) }));
  if (client.socket?.connected) void client.emit('read', { conversationId, messageId: last.id }).catch(() => {});
  else void api.conversations.markRead(conversationId, last.id).catch(() => {});
}

export async function sendMessage(input: { conversationId: string; content: string; replyToId?: string; type?: MessageType; attachments?: Attachment[] }): Promise<void> {
  const type = input.type ?? (/^\p{Extended_Pictographic}(\u200d\p{Extended_Pictographic}|\ufe0f)*$/u.test(input.content) ? 'emoji' : 'text');
  const message = await client.emit('chat', {
    conversationId: input.conversationId,
    type,
    content: input.content,
    clientMsgId: newClientMsgId(),
    ...(input.replyToId ? { replyToId: input.replyToId } : {}),
    ...(input.attachments ? { attachments: input.attachments } : {}),
  });
  upsertMessage(message);
  if (!touchConversation(message, false)) await loadConversations();
}

export function replaceMessage(message: Message): void {
  upsertMessage(message);
  touchConversation(message, false);
}

let typingTimer: ReturnType<typeof setInterval> | undefined;

/** Feature modules (calls, AI) add their socket handlers here; each runs for every new socket. */
const socketHooks: Array<(socket: ParleySocket) => void> = [];
export function onSocket(hook: (socket: ParleySocket) => void): void {
  socketHooks.push(hook);
  if (client.socket) hook(client.socket);
}

async function connectSocket(): Promise<void> {
  if (client.socket) return;
  const socket = await client.connect();
  update({ connected: true });
  socket.on('connect', () => {
    update({ connected: true });
    // Back after a drop: catch up the list, the requests and invitations that came meanwhile, and
    // the open conversation. (Registered after the first connect: this runs on reconnects only.)
    void loadConversations().catch(() => {});
    void loadContacts().catch(() => {});
    const open = openConversationId();
    const last = open ? state.messages[open]?.items.at(-1) : undefined;
    if (open && last) {
      void api.conversations.messages(open, { after: last.id, limit: 200 }).then((page) => page.items.forEach(upsertMessage), () => {});
    }
  });
  socket.on('disconnect', () => update({ connected: false }));
  socket.on('connect_error', (error) => {
    // The access token expired while offline: rotate, then try again.
    if (error.message === 'UNAUTHORIZED') void client.refreshOnce().then(() => socket.connect(), () => {});
  });
  socket.on('chat', (message) => {
    upsertMessage(message);
    const mine = message.senderId === state.me?.id;
    const open = openConversationId() === message.conversationId && document.visibilityState === 'visible';
    if (!touchConversation(message, !mine && !open)) void loadConversations();
    if (open && !mine) markRead(message.conversationId);
    clearTyping(message.conversationId, message.senderId);
  });
  socket.on('message_updated', ({ message }) => replaceMessage(message));
  socket.on('typing', (event) => {
    if (event.typing) {
      update((s) => ({ typing: { ...s.typing, [event.conversationId]: { ...s.typing[event.conversationId], [event.userId]: Date.now() + 6000 } } }));
    } else clearTyping(event.conversationId, event.userId);
  });
  socket.on('read', (event) => {
    update((s) => {
      const previous = s.readBy[event.conversationId]?.[event.userId];
      if (previous && compareIds(previous, event.messageId) >= 0) return {};
      return { readBy: { ...s.readBy, [event.conversationId]: { ...s.readBy[event.conversationId], [event.userId]: event.messageId } } };
    });
    if (event.userId === state.me?.id) {
      // Read on another device of mine.
      update((s) => ({ conversations: s.conversations.map((c) => (c.id === event.conversationId ? { ...c, unreadCount: 0, lastReadMessageId: event.messageId } : c)) }));
    }
  });
  socket.on('user_status', (event) => update((s) => ({ presence: { ...s.presence, [event.userId]: event.status } })));
  socket.on('group_member', () => {
    void loadConversations().catch(() => {});
  });
  socket.on('session_revoked', () => void signedOut());
  socket.on('friend_request', () => void loadContacts().catch(() => {}));
  socket.on('friend_removed', () => void loadContacts().catch(() => {}));
  // A new invitation, or one answered on another device (accepting it adds a conversation).
  socket.on('group_invitation', () => void Promise.all([loadContacts(), loadConversations()]).catch(() => {}));
  for (const hook of socketHooks) hook(socket);
  clearInterval(typingTimer);
  typingTimer = setInterval(() => {
    const now = Date.now();
    const expired = Object.entries(state.typing).some(([, users]) => Object.values(users).some((until) => until < now));
    if (!expired) return;
    update((s) => {
      const typing: State['typing'] = {};
      for (const [conversationId, users] of Object.entries(s.typing)) {
        typing[conversationId] = Object.fromEntries(Object.entries(users).filter(([, until]) => until >= now));
      }
      return { typing };
    });
  }, 1000);
}

function clearTyping(conversationId: string, userId: string): void {
  if (!state.typing[conversationId]?.[userId]) return;
  update((s) => {
    const users = { ...s.typing[conversationId] };
    delete users[userId];
    return { typing: { ...s.typing, [conversationId]: users } };
  });
}

/** Sends `typing: true` while the user types and `false` after a pause or on send. */
export function typingNotifier(conversationId: string) {
  let active = false;
  let idle: ReturnType<typeof setTimeout> | undefined;
  const send = (typing: boolean) => {
    active = typing;
    if (client.socket?.connected) void client.emit('typing', { conversationId, typing }).catch(() => {});
  };
  return {
    input() {
      if (!active) send(true);
      clearTimeout(idle);
      idle = setTimeout(() => send(false), 3000);
    },
    stop() {
      clearTimeout(idle);
      if (active) send(false);
    },
  };
}

export async function openPrivateChat(peerId: string): Promise<void> {
  const conversation = await api.conversations.open({ peerId });
  if (!state.conversations.some((c) => c.id === conversation.id)) update((s) => ({ conversations: sortConversations([conversation, ...s.conversations]) }));
  navigate(`/chats/${encodeURIComponent(conversation.id)}`);
}
