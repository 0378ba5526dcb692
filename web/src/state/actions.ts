/** What the user does that goes to the server: send, mark read, type, open a chat. */
import type { Attachment, Message, MessageType } from '../../../src/client/index.js';
import { api, client } from './client.js';
import { loadConversations } from './loaders.js';
import { conversationAdded, conversationRead, hasConversation, messageChanged, unreadUpTo } from './reducers.js';
import { navigate } from './router.js';
import { apply, getState } from './state.js';

export function newClientMsgId(): string {
  // crypto.randomUUID needs a secure context; plain http on a LAN address is not one.
  return typeof crypto.randomUUID === 'function' ? crypto.randomUUID() : `${Date.now().toString(36)}-${Math.random().toString(36).slice(2)}`;
}

/** Tells the server (and so the other members) that everything up to the newest message is read. */
export function markRead(conversationId: string): void {
  const messageId = unreadUpTo(getState(), conversationId);
  if (!messageId) return;
  apply((s) => conversationRead(s, conversationId, messageId));
  if (client.socket?.connected) void client.emit('read', { conversationId, messageId }).catch(() => {});
  else void api.conversations.markRead(conversationId, messageId).catch(() => {});
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
  const known = hasConversation(getState(), message.conversationId);
  apply((s) => messageChanged(s, message));
  // The first message of a conversation the list does not hold yet (a chat just opened elsewhere).
  if (!known) await loadConversations();
}

/** An edited, recalled or reacted-to message, as the server answered it. */
export function replaceMessage(message: Message): void {
  apply((s) => messageChanged(s, message));
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
  apply((s) => conversationAdded(s, conversation));
  navigate(`/chats/${encodeURIComponent(conversation.id)}`);
}
