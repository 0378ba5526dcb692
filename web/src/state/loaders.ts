/** REST loads: each fetches a list and hands it to its reducer. */
import type { Conversation, ReadPosition, User } from '../../../src/client/index.js';
import { api } from './client.js';
import { contactsLoaded, conversationsLoaded, messagePageLoaded, messagesLoading, readPositionsLoaded, upsertMessage, usersSeen } from './reducers.js';
import { apply, getState } from './state.js';

export function rememberUsers(users: User[]): void {
  apply((s) => usersSeen(s, users));
}

const pendingUsers = new Set<string>();
/** A user's public profile, fetched once when first needed (senders in groups). */
export function userName(userId: string): string {
  const known = getState().users[userId];
  if (known) return known.nickname || known.username;
  if (!pendingUsers.has(userId)) {
    pendingUsers.add(userId);
    api.users.get(userId).then(
      (user) => rememberUsers([user]),
      () => {},
    );
  }
  return '…';
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
  apply((s) => conversationsLoaded(s, items));
  // A peer without a known presence is a new friend (or a stranger): the friends list carries it.
  const { presence } = getState();
  if (items.some((c) => c.peer && !(c.peer.id in presence))) await loadContacts();
}

export async function loadContacts(): Promise<void> {
  const [friends, incoming, outgoing, invitations] = await Promise.all([
    api.friends.list(),
    api.friends.requests('incoming'),
    api.friends.requests('outgoing'),
    api.groups.invitations(undefined, 200),
  ]);
  apply((s) => contactsLoaded(s, { friends: friends.items, incoming: incoming.items, outgoing: outgoing.items, invitations: invitations.items }));
}

/** The newest page of a conversation on first open, or the page before the oldest held (`older`). */
export async function loadMessages(conversationId: string, older: boolean): Promise<void> {
  const list = getState().messages[conversationId];
  if (list?.loading || (older && (!list || list.nextCursor === null)) || (!older && list)) return;
  apply((s) => messagesLoading(s, conversationId, true));
  try {
    const page = await api.conversations.messages(conversationId, { limit: 30, ...(older && list?.nextCursor ? { cursor: list.nextCursor } : {}) });
    apply((s) => messagePageLoaded(s, conversationId, page));
  } catch (error) {
    apply((s) => messagesLoading(s, conversationId, false));
    throw error;
  }
}

/** After a reconnect: the messages of a held conversation newer than its last one. */
export async function loadNewerMessages(conversationId: string): Promise<void> {
  const last = getState().messages[conversationId]?.items.at(-1);
  if (!last) return;
  const page = await api.conversations.messages(conversationId, { after: last.id, limit: 200 });
  for (const message of page.items) apply((s) => upsertMessage(s, message));
}

/**
 * The other members' read positions in a conversation, as stored (live `read` events only move
 * them on): without this a reload showed "Sent" under a message the others had read.
 */
export async function loadReadPositions(conversationId: string): Promise<void> {
  const positions: ReadPosition[] = [];
  let cursor: string | undefined;
  // Ten pages of 200 hold a group at its member limit (2,000).
  for (let pages = 0; pages < 10; pages++) {
    const page = await api.conversations.reads(conversationId, { limit: 200, ...(cursor ? { cursor } : {}) });
    positions.push(...page.items);
    if (!page.nextCursor) break;
    cursor = page.nextCursor;
  }
  apply((s) => readPositionsLoaded(s, conversationId, positions));
}
