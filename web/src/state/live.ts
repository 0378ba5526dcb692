/** The socket: connects it and folds its events into the state through the reducers. */
import type { ParleySocket } from '../../../src/client/index.js';
import { markRead, replaceMessage } from './actions.js';
import { client } from './client.js';
import { loadContacts, loadConversations, loadNewerMessages, loadReadPositions } from './loaders.js';
import { hasConversation, messageArrived, presenceChanged, readReceived, typingChanged, typingExpired, userUpdated } from './reducers.js';
import { openConversationId } from './router.js';
import { apply, getState, update } from './state.js';

let typingTimer: ReturnType<typeof setInterval> | undefined;

/** Feature modules (calls, AI, the session) add their socket handlers here; each runs for every new socket. */
const socketHooks: Array<(socket: ParleySocket) => void> = [];
export function onSocket(hook: (socket: ParleySocket) => void): void {
  socketHooks.push(hook);
  // Pages register when they are imported, before `init()` has created the client.
  if (client?.socket) hook(client.socket);
}

export async function connectSocket(): Promise<void> {
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
    if (open) void loadNewerMessages(open).catch(() => {});
    // Receipts sent while this socket was down.
    if (open) void loadReadPositions(open).catch(() => {});
  });
  socket.on('disconnect', () => update({ connected: false }));
  socket.on('connect_error', (error) => {
    // The access token expired while offline: rotate, then try again.
    if (error.message === 'UNAUTHORIZED')
      void client.refreshOnce().then(
        () => socket.connect(),
        () => {},
      );
  });
  socket.on('chat', (message) => {
    const watching = openConversationId() === message.conversationId && document.visibilityState === 'visible';
    const known = hasConversation(getState(), message.conversationId);
    apply((s) => messageArrived(s, message, watching));
    if (!known) void loadConversations();
    if (watching && message.senderId !== getState().me?.id) markRead(message.conversationId);
  });
  socket.on('message_updated', ({ message }) => replaceMessage(message));
  socket.on('typing', (event) => apply((s) => typingChanged(s, event, Date.now())));
  socket.on('read', (event) => apply((s) => readReceived(s, event)));
  socket.on('user_status', (event) => apply((s) => presenceChanged(s, event)));
  socket.on('user_updated', ({ user }) => apply((s) => userUpdated(s, user)));
  socket.on('group_member', () => {
    void loadConversations().catch(() => {});
  });
  socket.on('friend_request', () => void loadContacts().catch(() => {}));
  socket.on('friend_removed', () => void loadContacts().catch(() => {}));
  // A new invitation, or one answered on another device (accepting it adds a conversation).
  socket.on('group_invitation', () => void Promise.all([loadContacts(), loadConversations()]).catch(() => {}));
  for (const hook of socketHooks) hook(socket);
  clearInterval(typingTimer);
  typingTimer = setInterval(() => apply((s) => typingExpired(s, Date.now())), 1000);
}
