import { randomUUID } from 'node:crypto';
import { expect } from 'vitest';
import { type Attachment, type Conversation, type Message, type MessageType, type Page, type ParleyClient, ParleyError, type ParleySocket } from '../../src/client/index.js';
import { type ConnectedUser, collect, connectedUser, secondDevice } from './realtime.js';

/** The fields every stored message carries, on acks, REST results, events and history alike. */
export const MESSAGE_FIELDS = [
  'attachments',
  'clientMsgId',
  'content',
  'conversationId',
  'createdAt',
  'editedAt',
  'id',
  'reactions',
  'recalledAt',
  'replyToId',
  'senderId',
  'type',
];

// The wire types are the SDK's (the contract's); the old names stay for the suites that use them.
export type { Page };
export type ConversationView = Conversation;

/**
 * Connected users and extra devices opened by a suite, closed together at the end of each test so a
 * failing test never leaves sockets behind.
 */
export function people(baseUrl: () => string) {
  const opened: ParleyClient[] = [];
  return {
    async user(): Promise<ConnectedUser> {
      const person = await connectedUser(baseUrl());
      opened.push(person.client);
      return person;
    },
    async device(person: { username: string; password: string }): Promise<ParleyClient & { socket: ParleySocket }> {
      const client = await secondDevice(baseUrl(), person);
      opened.push(client);
      return client as ParleyClient & { socket: ParleySocket };
    },
    closeAll(): void {
      for (const client of opened.splice(0)) client.disconnect();
    },
  };
}

export const newClientMsgId = (): string => randomUUID();

export async function openPrivate(client: ParleyClient, peerId: string): Promise<string> {
  return (await client.request<ConversationView>('POST', '/conversations', { peerId })).id;
}

/**
 * Creates a group owned by `owner`; the members (not the owner's friends, so invited) accept their
 * invitations, as people joining on someone else's initiative must. Returns the group's ids.
 */
export async function createGroup(owner: ParleyClient, members: Array<{ id: string; client: ParleyClient }>, name = 'team 🚀'): Promise<{ id: string; conversationId: string }> {
  const group = await owner.request<{ id: string; conversationId: string; invited: Array<{ id: string; inviteeId: string }> }>('POST', '/groups', {
    name,
    memberIds: members.map((m) => m.id),
  });
  for (const member of members) {
    const invitation = group.invited.find((i) => i.inviteeId === member.id);
    if (invitation) await member.client.request('POST', `/group-invitations/${invitation.id}/accept`);
  }
  return group;
}

/** Sends a text message over the socket and returns the ack's stored message. */
export function sendText(client: ParleyClient, conversationId: string, content: string, clientMsgId: string = newClientMsgId()): Promise<Message> {
  return client.emit('chat', { conversationId, type: 'text', content, clientMsgId });
}

/** Sends over REST, `POST /conversations/:id/messages`. */
export function postMessage(
  client: ParleyClient,
  conversationId: string,
  body: { type: MessageType; content: string; clientMsgId?: string; replyToId?: string; attachments?: Attachment[] },
): Promise<Message> {
  return client.request<Message>('POST', `/conversations/${encodeURIComponent(conversationId)}/messages`, { clientMsgId: newClientMsgId(), ...body });
}

export function history(client: ParleyClient, conversationId: string, query = ''): Promise<Page<Message>> {
  return client.request<Page<Message>>('GET', `/conversations/${encodeURIComponent(conversationId)}/messages${query}`);
}

export async function conversations(client: ParleyClient): Promise<ConversationView[]> {
  return (await client.request<Page<ConversationView>>('GET', '/conversations')).items;
}

/** Resolves with the error a rejected call carries, failing the test when it resolved. */
export async function failure(call: Promise<unknown>): Promise<ParleyError> {
  try {
    await call;
  } catch (error) {
    if (error instanceof ParleyError) return error;
    throw error;
  }
  throw new Error('expected the call to fail, but it succeeded');
}

/** Asserts that a call fails with the given code (and HTTP status for REST calls). */
export async function expectFailure(call: Promise<unknown>, code: string, status?: number): Promise<ParleyError> {
  const error = await failure(call);
  expect(error.code).toBe(code);
  if (status !== undefined) expect(error.status).toBe(status);
  return error;
}

/** Collects `count` events of one kind, resolving once they are all in (or rejecting after `timeoutMs`). */
export function collectN<T>(socket: ParleySocket, event: 'chat' | 'message_updated' | 'typing' | 'read', count: number, timeoutMs = 10_000): Promise<T[]> {
  const received = collect(socket, event) as unknown as T[];
  return new Promise((resolve, reject) => {
    const started = Date.now();
    const check = () => {
      if (received.length >= count) return resolve(received);
      if (Date.now() - started > timeoutMs) return reject(new Error(`got ${received.length} of ${count} ${event} events`));
      setTimeout(check, 10);
    };
    check();
  });
}

/** Numeric comparison of opaque-looking but numeric message ids. */
export const byId = (a: { id: string }, b: { id: string }) => (BigInt(a.id) < BigInt(b.id) ? -1 : BigInt(a.id) > BigInt(b.id) ? 1 : 0);

export const bytes = (text: string) => Buffer.from(text, 'utf8').toString('hex');
