import { createECDH, randomBytes, randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Ack, ParleyClient, type ParleySocket } from '../src/client/index.js';
import { type FakeLlm, startFakeLlm } from './support/fake-llm.js';
import { type ApiResponse, apiClient, expectError, newUser, type TestUser } from './support/http.js';
import { type ConnectedUser, connectedUser } from './support/realtime.js';
import { storageLabel } from './support/server.js';
import { useTestServer } from './support/suite.js';

/**
 * "User X tries Y on Z's resource", table-driven: every REST route and socket event that takes an
 * id is tried by a stranger (no relation to the owner) on the owner's resources, and by a member
 * on what only the owner may do. Strangers must get NOT_FOUND, exactly what an id that does not
 * exist gets (no enumeration by comparing answers). Add a row when a route or event takes an id.
 */

interface Resources {
  owner: ConnectedUser & { accessToken: string };
  member: ConnectedUser & { accessToken: string };
  stranger: ConnectedUser & { accessToken: string };
  /** The owner's bot signed in with a pbt_ token scoped to the group conversation and messages:read only. */
  bot: ConnectedUser & { accessToken: string };
  ids: Record<string, string | undefined>;
}

type Attempt = { via: 'rest'; method: string; path: string; body?: unknown } | { via: 'event'; event: string; payload: unknown };

interface Row {
  /** What is tried, in words. */
  name: string;
  /** The kind of id it targets (a key of Resources.ids). */
  target: string;
  attempt(id: string, ids: Resources['ids']): Attempt;
  /** Who tries: the stranger by default, a member who lacks the right, or a bot token outside its scope. */
  actor?: 'stranger' | 'member' | 'bot';
  /** Expected refusal; NOT_FOUND for strangers. */
  expect?: Array<'NOT_FOUND' | 'FORBIDDEN'>;
}

const rest = (method: string, path: string, body?: unknown): Attempt => ({ via: 'rest', method, path, body });
const event = (name: string, payload: unknown): Attempt => ({ via: 'event', event: name, payload });

const ROWS: Row[] = [
  // users and sessions
  { name: 'end another user’s session', target: 'session', attempt: (id) => rest('DELETE', `/auth/sessions/${id}`) },
  { name: 'unsubscribe another user’s Web Push device', target: 'pushSubscription', attempt: (id) => rest('DELETE', `/push/subscriptions/${id}`) },
  { name: 'unfriend someone who is not a friend', target: 'user', attempt: (id) => rest('DELETE', `/friends/${id}`) },
  // friend requests
  { name: 'accept a request sent to someone else', target: 'friendRequest', attempt: (id) => rest('POST', `/friend-requests/${id}/accept`) },
  { name: 'reject a request sent to someone else', target: 'friendRequest', attempt: (id) => rest('POST', `/friend-requests/${id}/reject`) },
  // groups
  { name: 'read a group', target: 'group', attempt: (id) => rest('GET', `/groups/${id}`) },
  { name: 'rename a group', target: 'group', attempt: (id) => rest('PATCH', `/groups/${id}`, { name: 'owned' }) },
  { name: 'dissolve a group', target: 'group', attempt: (id) => rest('DELETE', `/groups/${id}`) },
  { name: 'list group members', target: 'group', attempt: (id) => rest('GET', `/groups/${id}/members`) },
  { name: 'add oneself to a group', target: 'group', attempt: (id, ids) => rest('POST', `/groups/${id}/members`, { userIds: [ids.strangerId] }) },
  { name: 'remove a member of a group', target: 'group', attempt: (id, ids) => rest('DELETE', `/groups/${id}/members/${ids.memberId}`) },
  { name: 'change a member’s role', target: 'group', attempt: (id, ids) => rest('PATCH', `/groups/${id}/members/${ids.memberId}`, { role: 'admin' }) },
  { name: 'rename a group as a plain member', target: 'group', actor: 'member', expect: ['FORBIDDEN'], attempt: (id) => rest('PATCH', `/groups/${id}`, { name: 'mine now' }) },
  { name: 'dissolve a group as a plain member', target: 'group', actor: 'member', expect: ['FORBIDDEN'], attempt: (id) => rest('DELETE', `/groups/${id}`) },
  // group invitations: only the invitee answers; anyone else sees an id that does not exist
  { name: 'accept an invitation sent to someone else', target: 'groupInvitation', attempt: (id) => rest('POST', `/group-invitations/${id}/accept`) },
  { name: 'decline an invitation sent to someone else', target: 'groupInvitation', attempt: (id) => rest('POST', `/group-invitations/${id}/decline`) },
  {
    name: 'accept an invitation as a member of the group',
    target: 'groupInvitation',
    actor: 'member',
    expect: ['NOT_FOUND'],
    attempt: (id) => rest('POST', `/group-invitations/${id}/accept`),
  },
  // invite links: a group's owner and admins make, list and revoke them
  { name: 'create an invite link to a group', target: 'group', attempt: (id) => rest('POST', `/groups/${id}/invite-links`, {}) },
  { name: 'list the invite links of a group', target: 'group', attempt: (id) => rest('GET', `/groups/${id}/invite-links`) },
  { name: 'revoke an invite link of a group', target: 'inviteLink', attempt: (id, ids) => rest('DELETE', `/groups/${ids.group}/invite-links/${id}`) },
  { name: 'create an invite link as a plain member', target: 'group', actor: 'member', expect: ['FORBIDDEN'], attempt: (id) => rest('POST', `/groups/${id}/invite-links`, {}) },
  { name: 'list invite links as a plain member', target: 'group', actor: 'member', expect: ['FORBIDDEN'], attempt: (id) => rest('GET', `/groups/${id}/invite-links`) },
  {
    name: 'revoke an invite link as a plain member',
    target: 'inviteLink',
    actor: 'member',
    expect: ['FORBIDDEN'],
    attempt: (id, ids) => rest('DELETE', `/groups/${ids.group}/invite-links/${id}`),
  },
  // conversations
  { name: 'read a private conversation', target: 'conversation', attempt: (id) => rest('GET', `/conversations/${id}`) },
  { name: 'read a private conversation’s history', target: 'conversation', attempt: (id) => rest('GET', `/conversations/${id}/messages`) },
  {
    name: 'post into a private conversation',
    target: 'conversation',
    attempt: (id) => rest('POST', `/conversations/${id}/messages`, { type: 'text', content: 'hi', clientMsgId: randomUUID() }),
  },
  { name: 'mark a private conversation read', target: 'conversation', attempt: (id, ids) => rest('POST', `/conversations/${id}/read`, { messageId: ids.message }) },
  { name: 'search a private conversation', target: 'conversation', attempt: (id) => rest('GET', `/messages/search?q=secret&conversationId=${encodeURIComponent(id)}`) },
  { name: 'read a group conversation’s history', target: 'groupConversation', attempt: (id) => rest('GET', `/conversations/${id}/messages`) },
  { name: 'read who read what in a private conversation', target: 'conversation', attempt: (id) => rest('GET', `/conversations/${id}/reads`) },
  { name: 'read who read what in a group conversation', target: 'groupConversation', attempt: (id) => rest('GET', `/conversations/${id}/reads`) },
  {
    name: 'chat into a private conversation',
    target: 'conversation',
    attempt: (id) => event('chat', { conversationId: id, type: 'text', content: 'hi', clientMsgId: randomUUID() }),
  },
  {
    name: 'chat into a group conversation',
    target: 'groupConversation',
    attempt: (id) => event('chat', { conversationId: id, type: 'text', content: 'hi', clientMsgId: randomUUID() }),
  },
  { name: 'type into a conversation', target: 'conversation', attempt: (id) => event('typing', { conversationId: id, typing: true }) },
  { name: 'mark read via socket', target: 'conversation', attempt: (id, ids) => event('read', { conversationId: id, messageId: ids.message }) },
  // messages
  { name: 'edit a message', target: 'message', attempt: (id) => rest('PATCH', `/messages/${id}`, { content: 'edited' }) },
  { name: 'recall a message', target: 'message', attempt: (id) => rest('DELETE', `/messages/${id}`) },
  { name: 'react to a message', target: 'message', attempt: (id) => rest('PUT', `/messages/${id}/reactions/${encodeURIComponent('👍')}`) },
  { name: 'remove a reaction from a message', target: 'message', attempt: (id) => rest('DELETE', `/messages/${id}/reactions/${encodeURIComponent('👍')}`) },
  {
    name: 'edit a group message as another member',
    target: 'groupMessage',
    actor: 'member',
    expect: ['FORBIDDEN', 'NOT_FOUND'],
    attempt: (id) => rest('PATCH', `/messages/${id}`, { content: 'edited' }),
  },
  // notification settings
  { name: 'set notifications in a private conversation', target: 'conversation', attempt: (id) => rest('PUT', `/conversations/${id}/notifications`, { level: 'none' }) },
  { name: 'set notifications in a group conversation', target: 'groupConversation', attempt: (id) => rest('PUT', `/conversations/${id}/notifications`, { level: 'mentions' }) },
  // pins and forwarding
  { name: 'pin a message', target: 'message', attempt: (id) => rest('PUT', `/messages/${id}/pin`) },
  { name: 'unpin a message', target: 'message', attempt: (id) => rest('DELETE', `/messages/${id}/pin`) },
  { name: 'list a private conversation’s pins', target: 'conversation', attempt: (id) => rest('GET', `/conversations/${id}/pins`) },
  { name: 'list a group conversation’s pins', target: 'groupConversation', attempt: (id) => rest('GET', `/conversations/${id}/pins`) },
  { name: 'pin a group message as a plain member', target: 'groupMessage', actor: 'member', expect: ['FORBIDDEN'], attempt: (id) => rest('PUT', `/messages/${id}/pin`) },
  {
    name: 'forward someone else’s message into one’s own conversation',
    target: 'message',
    attempt: (id, ids) => rest('POST', '/messages/forward', { messageIds: [id], conversationIds: [ids.strangerConversation], clientMsgId: randomUUID() }),
  },
  {
    name: 'forward one’s own message into someone else’s conversation',
    target: 'conversation',
    attempt: (id, ids) => rest('POST', '/messages/forward', { messageIds: [ids.strangerMessage], conversationIds: [id], clientMsgId: randomUUID() }),
  },
  {
    name: 'forward one’s own message into someone else’s group',
    target: 'groupConversation',
    attempt: (id, ids) => rest('POST', '/messages/forward', { messageIds: [ids.strangerMessage], conversationIds: [id], clientMsgId: randomUUID() }),
  },
  // calls, files, AI
  { name: 'read a call record', target: 'call', attempt: (id) => rest('GET', `/calls/${id}`) },
  { name: 'accept a call meant for someone else', target: 'call', attempt: (id) => event('call_accept', { callId: id }) },
  { name: 'reject a call meant for someone else', target: 'call', attempt: (id) => event('call_reject', { callId: id }) },
  { name: 'cancel someone else’s call', target: 'call', attempt: (id) => event('call_cancel', { callId: id }) },
  { name: 'hang up someone else’s call', target: 'call', attempt: (id) => event('call_hangup', { callId: id }) },
  { name: 'send an SDP offer into someone else’s call', target: 'call', attempt: (id) => event('webrtc_offer', { callId: id, sdp: 'v=0' }) },
  { name: 'send ICE into someone else’s call', target: 'call', attempt: (id) => event('ice_candidate', { callId: id, candidate: { candidate: '' } }) },
  { name: 'read a file’s metadata', target: 'file', attempt: (id) => rest('GET', `/files/${id}`) },
  { name: 'get a download URL for a file', target: 'file', attempt: (id) => rest('GET', `/files/${id}/url`) },
  { name: 'read an AI conversation', target: 'aiConversation', attempt: (id) => rest('GET', `/ai/conversations/${id}`) },
  { name: 'delete an AI conversation', target: 'aiConversation', attempt: (id) => rest('DELETE', `/ai/conversations/${id}`) },
  { name: 'post into an AI conversation', target: 'aiConversation', attempt: (id) => rest('POST', `/ai/conversations/${id}/messages`, { content: 'hi' }) },
  { name: 'page an AI conversation’s messages', target: 'aiConversation', attempt: (id) => rest('GET', `/ai/conversations/${id}/messages`) },
  { name: 'retry a reply in an AI conversation', target: 'aiConversation', attempt: (id, ids) => rest('POST', `/ai/conversations/${id}/messages/${ids.aiMessage}/retry`, {}) },
  // instance administration: a user without the admin role finds no /admin route at all
  { name: 'read a user as an admin', target: 'user', attempt: (id) => rest('GET', `/admin/users/${id}`) },
  { name: 'list users as an admin', target: 'user', attempt: (id) => rest('GET', `/admin/users?q=${id}`) },
  { name: 'delete a user as an admin', target: 'user', attempt: (id) => rest('DELETE', `/admin/users/${id}`) },
  { name: 'grant oneself the admin role', target: 'strangerId', attempt: (id) => rest('PUT', `/admin/users/${id}/admin`) },
  { name: 'revoke an admin role', target: 'user', attempt: (id) => rest('DELETE', `/admin/users/${id}/admin`) },
  { name: 'suspend a user', target: 'user', attempt: (id) => rest('PUT', `/admin/users/${id}/suspension`, { reason: 'mine' }) },
  { name: 'unsuspend a user', target: 'user', attempt: (id) => rest('DELETE', `/admin/users/${id}/suspension`) },
  { name: 'reset a user’s password', target: 'user', attempt: (id) => rest('POST', `/admin/users/${id}/password`, { password: 'taken over now' }) },
  { name: 'delete any message as an admin', target: 'message', attempt: (id) => rest('DELETE', `/admin/messages/${id}`) },
  { name: 'dissolve any group as an admin', target: 'group', attempt: (id) => rest('DELETE', `/admin/groups/${id}`) },
  { name: 'read instance statistics', target: 'user', attempt: () => rest('GET', '/admin/stats') },
  { name: 'read the audit log', target: 'user', attempt: () => rest('GET', '/admin/audit') },
  // moderation: reports of what one cannot see, the admins' report queue, removing others' group messages
  { name: 'report a private message one cannot see', target: 'message', attempt: (id) => rest('POST', '/reports', { target: { messageId: id }, reason: 'spam' }) },
  { name: 'report a group message one cannot see', target: 'groupMessage', attempt: (id) => rest('POST', '/reports', { target: { messageId: id }, reason: 'abuse' }) },
  { name: 'read the report queue', target: 'report', attempt: () => rest('GET', '/admin/reports?status=open') },
  { name: 'resolve a report', target: 'report', attempt: (id) => rest('POST', `/admin/reports/${id}/resolve`, { action: 'suspend_user' }) },
  { name: 'dismiss a report', target: 'report', attempt: (id) => rest('POST', `/admin/reports/${id}/dismiss`, {}) },
  { name: 'read the report queue as the reported user', target: 'report', actor: 'member', attempt: () => rest('GET', '/admin/reports') },
  {
    name: 'remove the owner’s group message as a plain member',
    target: 'groupMessage',
    actor: 'member',
    expect: ['FORBIDDEN'],
    attempt: (id) => rest('DELETE', `/messages/${id}`),
  },
  { name: 'ask in an AI conversation over the socket', target: 'aiConversation', attempt: (id) => event('ai_chat', { conversationId: id, content: 'hi' }) },
  { name: 'read a file’s bytes', target: 'file', attempt: (id) => rest('GET', `/files/${id}/content`) },
  { name: 'read a file’s thumbnail', target: 'file', attempt: (id) => rest('GET', `/files/${id}/thumbnail`) },
  { name: 'send an SDP answer into someone else’s call', target: 'call', attempt: (id) => event('webrtc_answer', { callId: id, sdp: 'v=0' }) },
  // bots and webhooks (docs/webhooks.md): only the owner sees a bot, a webhook or its log
  {
    name: 'issue a token for someone else’s bot',
    target: 'bot',
    attempt: (id, ids) => rest('POST', `/bots/${id}/tokens`, { scopes: { conversationIds: [ids.groupConversation], actions: ['messages:read'] } }),
  },
  { name: 'list someone else’s bot tokens', target: 'bot', attempt: (id) => rest('GET', `/bots/${id}/tokens`) },
  { name: 'revoke someone else’s bot token', target: 'botToken', attempt: (id, ids) => rest('DELETE', `/bots/${ids.bot}/tokens/${id}`) },
  {
    name: 'subscribe a webhook for someone else’s bot',
    target: 'bot',
    attempt: (id, ids) => rest('POST', '/webhooks', { url: 'http://127.0.0.1:9/hook', events: ['bot.mentioned'], conversationIds: [ids.groupConversation], botId: id }),
  },
  {
    name: 'subscribe a webhook to someone else’s group',
    target: 'groupConversation',
    attempt: (id) => rest('POST', '/webhooks', { url: 'http://127.0.0.1:9/hook', events: ['message.created'], conversationIds: [id] }),
  },
  {
    name: 'subscribe a webhook to a group as a plain member',
    target: 'groupConversation',
    actor: 'member',
    expect: ['FORBIDDEN'],
    attempt: (id) => rest('POST', '/webhooks', { url: 'http://127.0.0.1:9/hook', events: ['message.created'], conversationIds: [id] }),
  },
  { name: 'delete someone else’s webhook', target: 'webhook', attempt: (id) => rest('DELETE', `/webhooks/${id}`) },
  { name: 'read someone else’s webhook deliveries', target: 'webhook', attempt: (id) => rest('GET', `/webhooks/${id}/deliveries`) },
  { name: 'replay someone else’s webhook delivery', target: 'webhookDelivery', attempt: (id, ids) => rest('POST', `/webhooks/${ids.webhook}/deliveries/${id}/replay`) },
  { name: 'create an incoming webhook in someone else’s group', target: 'groupConversation', attempt: (id) => rest('POST', `/conversations/${id}/incoming-webhooks`, {}) },
  { name: 'list the incoming webhooks of someone else’s group', target: 'groupConversation', attempt: (id) => rest('GET', `/conversations/${id}/incoming-webhooks`) },
  {
    name: 'revoke an incoming webhook of someone else’s group',
    target: 'incomingWebhook',
    attempt: (id, ids) => rest('DELETE', `/conversations/${ids.groupConversation}/incoming-webhooks/${id}`),
  },
  {
    name: 'create an incoming webhook as a plain member',
    target: 'groupConversation',
    actor: 'member',
    expect: ['FORBIDDEN'],
    attempt: (id) => rest('POST', `/conversations/${id}/incoming-webhooks`, {}),
  },
  // a bot token (pbt_…) reaches only the conversations and actions it lists, and only the bot surface of the API:
  // anything else is FORBIDDEN, whether or not the bot is a member (docs/webhooks.md, Bots)
  {
    name: 'read a group it is in but its token does not list',
    target: 'botOutOfScopeConversation',
    actor: 'bot',
    expect: ['FORBIDDEN'],
    attempt: (id) => rest('GET', `/conversations/${id}/messages`),
  },
  {
    name: 'send over the socket into a group its token does not list',
    target: 'botOutOfScopeConversation',
    actor: 'bot',
    expect: ['FORBIDDEN'],
    attempt: (id) => event('chat', { conversationId: id, type: 'text', content: 'bot out of scope', clientMsgId: randomUUID() }),
  },
  { name: 'read a private conversation of its owner', target: 'conversation', actor: 'bot', expect: ['FORBIDDEN'], attempt: (id) => rest('GET', `/conversations/${id}/messages`) },
  {
    name: 'write in its scope without messages:write',
    target: 'groupConversation',
    actor: 'bot',
    expect: ['FORBIDDEN'],
    attempt: (id) => rest('POST', `/conversations/${id}/messages`, { type: 'text', content: 'bot write', clientMsgId: randomUUID() }),
  },
  { name: 'list members without members:read', target: 'group', actor: 'bot', expect: ['FORBIDDEN'], attempt: (id) => rest('GET', `/groups/${id}/members`) },
  { name: 'edit a message in its scope', target: 'groupMessage', actor: 'bot', expect: ['FORBIDDEN'], attempt: (id) => rest('PATCH', `/messages/${id}`, { content: 'bot edit' }) },
  {
    name: 'issue itself another token',
    target: 'bot',
    actor: 'bot',
    expect: ['FORBIDDEN'],
    attempt: (id, ids) => rest('POST', `/bots/${id}/tokens`, { scopes: { conversationIds: [ids.groupConversation], actions: ['messages:write'] } }),
  },
  { name: 'read its owner’s webhook deliveries', target: 'webhook', actor: 'bot', expect: ['FORBIDDEN'], attempt: (id) => rest('GET', `/webhooks/${id}/deliveries`) },
  {
    name: 'create an incoming webhook in its scope',
    target: 'groupConversation',
    actor: 'bot',
    expect: ['FORBIDDEN'],
    attempt: (id) => rest('POST', `/conversations/${id}/incoming-webhooks`, {}),
  },
  // admin routes answer NOT_FOUND to anyone who is not an instance admin, a bot token included
  { name: 'read an account through an admin route', target: 'user', actor: 'bot', expect: ['NOT_FOUND'], attempt: (id) => rest('GET', `/admin/users/${id}`) },
  { name: 'read the admin audit log', target: 'user', actor: 'bot', expect: ['NOT_FOUND'], attempt: () => rest('GET', '/admin/audit') },
];

/** A small file uploaded with tus (issue 5) into a conversation; undefined when this server has no uploads. */
async function uploadFile(baseUrl: string, token: string, conversationId: string): Promise<string | undefined> {
  const bytes = Buffer.from('private notes\n');
  const b64 = (text: string) => Buffer.from(text).toString('base64');
  const created = await fetch(`${baseUrl}/api/v1/uploads`, {
    method: 'POST',
    headers: {
      authorization: `Bearer ${token}`,
      'tus-resumable': '1.0.0',
      'upload-length': String(bytes.length),
      'upload-metadata': `filename ${b64('notes.txt')},filetype ${b64('text/plain')},conversationId ${b64(conversationId)}`,
    },
  });
  const location = created.headers.get('location');
  if (created.status !== 201 || !location) return undefined;
  const url = new URL(location, `${baseUrl}/api/v1/uploads/`);
  const patched = await fetch(url, {
    method: 'PATCH',
    headers: { authorization: `Bearer ${token}`, 'tus-resumable': '1.0.0', 'upload-offset': '0', 'content-type': 'application/offset+octet-stream' },
    body: bytes,
  });
  if (patched.status !== 204) return undefined;
  return url.pathname.split('/').pop();
}

/** An id of the same shape as `id` that names nothing. */
function unknownLike(id: string): string {
  if (/^\d+$/.test(id)) return String(BigInt(id) + 9_000_000n);
  if (/^[0-9a-f-]{36}$/i.test(id)) return randomUUID();
  return id.replace(/[0-9a-f]/gi, (c) => (c === '0' ? '1' : '0'));
}

async function attempt(api: ReturnType<typeof apiClient>, socket: ParleySocket, token: string, what: Attempt): Promise<{ status?: number; code: string | null; ok: boolean }> {
  if (what.via === 'rest') {
    const res: ApiResponse = await api(what.method, what.path, { token, ...(what.body === undefined ? {} : { body: what.body }) });
    return { status: res.status, code: res.body?.error?.code ?? null, ok: res.status < 300 };
  }
  const ack = (await (socket.timeout(10_000) as unknown as { emitWithAck(e: string, p: unknown): Promise<Ack<unknown>> }).emitWithAck(what.event, what.payload)) as Ack<unknown>;
  return { code: ack.ok ? null : ack.error.code, ok: ack.ok };
}

describe(`access matrix: who may touch whose resources (${storageLabel})`, () => {
  // A provider pointed at a local fake, so AI conversations exist and their rows run too.
  let fake: FakeLlm | undefined;
  const suite = useTestServer(async () => {
    fake = await startFakeLlm();
    // The call made in beforeAll must still ring at the end: a ring timing out on a slow run writes a
    // "missed call" message into the history the last checks compare.
    // OUTBOUND_ALLOW_PRIVATE: the owner's Web Push endpoint is a loopback address (never sent to: the owner stays online),
    // and the owner's webhook points at a local port (nothing listens; its deliveries wait to retry).
    return { DEEPSEEK_API_KEY: 'deepseek-test-key', DEEPSEEK_BASE_URL: fake.openaiBaseUrl, AI_DEFAULT_MODEL: 'deepseek', CALL_RING_TIMEOUT: '600', OUTBOUND_ALLOW_PRIVATE: 'true' };
  });
  let r: Resources;
  let tried = 0;

  beforeAll(async () => {
    const withToken = async () => {
      const user = await connectedUser(suite.server.url);
      return Object.assign(user, { accessToken: user.client.accessToken as string });
    };
    const owner = await withToken();
    const member = await withToken();
    const stranger = await withToken();
    const bystander = await newUser(apiClient(suite.server.url));
    const ids: Resources['ids'] = { strangerId: stranger.id, memberId: member.id, user: owner.id };
    const as = (user: { client: ConnectedUser['client'] }) => user.client;
    // Owner and member are friends, with a private conversation, a group, messages in both.
    const request = await as(owner).request<{ id: string }>('POST', '/friend-requests', { toUserId: member.id });
    await as(member).request('POST', `/friend-requests/${request.id}/accept`);
    ids.friendRequest = (await as(owner).request<{ id: string }>('POST', '/friend-requests', { toUserId: bystander.id })).id;
    ids.conversation = (await as(owner).request<{ id: string }>('POST', '/conversations', { peerId: member.id })).id;
    ids.message = (await as(owner).emit('chat', { conversationId: ids.conversation, type: 'text', content: 'secret', clientMsgId: randomUUID() })).id;
    const group = await as(owner).request<{ id: string; conversationId: string }>('POST', '/groups', { name: 'private club', memberIds: [member.id] });
    ids.group = group.id;
    ids.groupConversation = group.conversationId;
    // The bystander is not the owner's friend: adding them invites them.
    ids.groupInvitation = (await as(owner).request<{ invited: Array<{ id: string }> }>('POST', `/groups/${group.id}/members`, { userIds: [bystander.id] })).invited[0]?.id;
    ids.inviteLink = (await as(owner).request<{ id: string }>('POST', `/groups/${group.id}/invite-links`, {})).id;
    // The owner's bot (in the group), its token, a webhook on the group, an incoming webhook.
    ids.bot = (await as(owner).request<{ user: { id: string } }>('POST', '/bots', { username: `bot${randomUUID().slice(0, 8)}` })).user.id;
    await as(owner).request('POST', `/groups/${group.id}/members`, { userIds: [ids.bot] });
    const botToken = await as(owner).request<{ id: string; token: string }>('POST', `/bots/${ids.bot}/tokens`, {
      scopes: { conversationIds: [group.conversationId], actions: ['messages:read'] },
    });
    ids.botToken = botToken.id;
    // A second group of the owner with the bot in it, which the token does not list.
    ids.botOutOfScopeConversation = (await as(owner).request<{ conversationId: string }>('POST', '/groups', { name: 'bot not scoped', memberIds: [ids.bot] })).conversationId;
    const botClient = new ParleyClient(suite.server.url, { accessToken: botToken.token });
    const bot = Object.assign({ id: ids.bot, username: 'bot', password: '', client: botClient, socket: await botClient.connect() }, { accessToken: botToken.token });
    ids.webhook = (
      await as(owner).request<{ id: string }>('POST', '/webhooks', { url: 'http://127.0.0.1:9/hook', events: ['message.created'], conversationIds: [group.conversationId] })
    ).id;
    ids.incomingWebhook = (await as(owner).request<{ id: string }>('POST', `/conversations/${group.conversationId}/incoming-webhooks`, {})).id;
    ids.groupMessage = (await as(owner).emit('chat', { conversationId: group.conversationId, type: 'text', content: 'group secret', clientMsgId: randomUUID() })).id;
    // A report by the owner of the member's message (the member is the reported user).
    const memberMessage = await as(member).emit('chat', { conversationId: group.conversationId, type: 'text', content: 'reported', clientMsgId: randomUUID() });
    ids.report = (await as(owner).request<{ id: string }>('POST', '/reports', { target: { messageId: memberMessage.id }, reason: 'spam' })).id;
    for (let i = 0; i < 100 && !ids.webhookDelivery; i++) {
      ids.webhookDelivery = (await as(owner).request<{ items: Array<{ id: string }> }>('GET', `/webhooks/${ids.webhook}/deliveries`)).items[0]?.id;
      if (!ids.webhookDelivery) await new Promise((resolve) => setTimeout(resolve, 50));
    }
    ids.session = (await as(owner).request<{ items: Array<{ id: string }> }>('GET', '/auth/sessions')).items[0]?.id;
    const browserKey = createECDH('prime256v1');
    browserKey.generateKeys();
    ids.pushSubscription = (
      await as(owner).request<{ id: string }>('POST', '/push/subscriptions', {
        endpoint: `http://127.0.0.1:9/push/${randomUUID()}`,
        keys: { p256dh: browserKey.getPublicKey().toString('base64url'), auth: randomBytes(16).toString('base64url') },
      })
    ).id;
    // The stranger's own conversation and message, to forward from and into.
    ids.strangerConversation = (await as(stranger).request<{ id: string }>('POST', '/conversations', { peerId: bystander.id })).id;
    ids.strangerMessage = (await as(stranger).emit('chat', { conversationId: ids.strangerConversation, type: 'text', content: 'mine', clientMsgId: randomUUID() })).id;
    // Resources of later modules, when this server has them.
    const call = await (owner.socket.timeout(10_000) as unknown as { emitWithAck(e: string, p: unknown): Promise<Ack<{ callId?: string; id?: string; call?: { id: string } }>> })
      .emitWithAck('call_request', { toUserId: member.id, media: 'audio' })
      .catch(() => null);
    if (call?.ok) ids.call = call.data.callId ?? call.data.call?.id ?? call.data.id;
    ids.file = await uploadFile(suite.server.url, owner.accessToken, ids.conversation);
    const ai = await owner.client.request<{ id: string }>('POST', '/ai/conversations', {});
    ids.aiConversation = ai.id;
    const asked = await owner.client.request<{ message: { id: string } }>('POST', `/ai/conversations/${ai.id}/messages`, { content: 'hello' });
    ids.aiMessage = asked.message.id;
    r = { owner, member, stranger, bot, ids };
  });
  afterAll(async () => {
    console.log(`access matrix: ${tried} attempts over ${ROWS.length} rows`);
    for (const user of [r?.owner, r?.member, r?.stranger, r?.bot]) user?.client.disconnect();
    await fake?.close();
  });

  for (const row of ROWS) {
    it(`${row.actor ?? 'stranger'} may not ${row.name}`, async () => {
      const id = r.ids[row.target];
      // Every resource is made in beforeAll: a row without its resource is a broken set-up, not a skip.
      expect(id, `${row.target} was not created`).toEqual(expect.any(String));
      if (id === undefined) return;
      const actor = r[row.actor ?? 'stranger'];
      const api = apiClient(suite.server.url);
      const foreign = await attempt(api, actor.socket, actor.accessToken, row.attempt(id, r.ids));
      tried++;
      const allowed = row.expect ?? ['NOT_FOUND'];
      expect(foreign.ok, `${row.name}: was allowed`).toBe(false);
      expect(allowed, `${row.name}: answered ${foreign.status ?? ''} ${foreign.code}`).toContain(foreign.code);
      if ((row.actor ?? 'stranger') === 'stranger') {
        // The same answer as for an id that does not exist: nothing to learn by probing ids.
        const unknown = await attempt(api, actor.socket, actor.accessToken, row.attempt(unknownLike(id), r.ids));
        tried++;
        expect({ status: unknown.status, code: unknown.code }, `${row.name}: unknown vs foreign id`).toEqual({ status: foreign.status, code: foreign.code });
      }
    });
  }

  it('the owner still has everything, untouched', async () => {
    const history = await r.owner.client.request<{ items: Array<{ content: string; editedAt: string | null }> }>('GET', `/conversations/${r.ids.conversation}/messages`);
    expect(history.items.map((m) => m.content)).toEqual(['secret']);
    expect(history.items[0]?.editedAt).toBeNull();
    const group = await r.owner.client.request<{ name: string }>('GET', `/groups/${r.ids.group}`);
    expect(group.name).toBe('private club');
    const devices = await r.owner.client.request<{ items: Array<{ id: string }> }>('GET', '/push/subscriptions');
    expect(devices.items.map((d) => d.id)).toEqual([r.ids.pushSubscription]);
  });

  it('sync returns nothing from conversations the caller is not in', async () => {
    const result = await r.stranger.client.emit('sync', { since: { [r.ids.conversation as string]: '0', [r.ids.groupConversation as string]: '0' } });
    expect(Object.values(result.messages).flat()).toEqual([]);
    tried++;
  });
});

describe(`brute force and enumeration at login (${storageLabel})`, () => {
  const suite = useTestServer({ LOGIN_MAX_FAILURES: '5' });

  it('locks a username out after LOGIN_MAX_FAILURES wrong passwords, even for the right one', async () => {
    const api = apiClient(suite.server.url);
    const victim: TestUser = await newUser(api);
    for (let i = 0; i < 5; i++) expectError(await api('POST', '/auth/login', { body: { username: victim.username, password: `guess-${i}-xxxxxxxx` } }), 401, 'UNAUTHORIZED');
    const locked = await api('POST', '/auth/login', { body: { username: victim.username, password: victim.password } });
    expectError(locked, 429, 'RATE_LIMITED');
    expect(Number(locked.headers.get('retry-after'))).toBeGreaterThan(0);
  });

  it('answers an unknown username exactly like a wrong password', async () => {
    const api = apiClient(suite.server.url);
    const known: TestUser = await newUser(api);
    const wrong = await api('POST', '/auth/login', { body: { username: known.username, password: 'not-the-password' } });
    const unknown = await api('POST', '/auth/login', { body: { username: `nobody${randomUUID().slice(0, 8)}`, password: 'not-the-password' } });
    expect({ status: unknown.status, body: unknown.body }).toEqual({ status: wrong.status, body: wrong.body });
  });
});
