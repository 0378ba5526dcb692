import { randomUUID } from 'node:crypto';
import { io, type Socket } from 'socket.io-client';
import { afterEach, describe, expect, it } from 'vitest';
import { type ParleyClient, rest } from '../src/client/index.js';
import { type ApiResponse, expectError } from './support/http.js';
import { registerClient } from './support/realtime.js';
import { storageLabel } from './support/server.js';
import { useTestServer } from './support/suite.js';

interface Person {
  id: string;
  client: ParleyClient;
}

describe(`bots (${storageLabel})`, () => {
  const suite = useTestServer({ BOTS_PER_USER: '3' });
  const sockets: Socket[] = [];
  afterEach(() => {
    for (const socket of sockets.splice(0)) socket.disconnect();
  });
  const as = <T = any>(token: string | undefined, method: string, path: string, body?: unknown): Promise<ApiResponse<T>> => suite.api<T>(method, path, { token, body });
  const call = <T = any>(who: Person, method: string, path: string, body?: unknown) => as<T>(who.client.accessToken, method, path, body);
  const person = () => registerClient(suite.server.url);
  const botName = () => `bot_${randomUUID().slice(0, 8)}`;

  /** An owner, their bot in two of the owner's groups, and a token scoped to the first group only. */
  async function setUp(actions = ['messages:read', 'messages:write', 'members:read']) {
    const owner = await person();
    const bot = (await call(owner, 'POST', '/bots', { username: botName(), nickname: 'Helper' })).body;
    const inScope = (await call(owner, 'POST', '/groups', { name: 'in scope', memberIds: [bot.user.id] })).body;
    const outOfScope = (await call(owner, 'POST', '/groups', { name: 'out of scope', memberIds: [bot.user.id] })).body;
    const token = await call(owner, 'POST', `/bots/${bot.user.id}/tokens`, { scopes: { conversationIds: [`g.${inScope.id}`], actions } });
    expect(token.status).toBe(201);
    return { owner, bot, inScope, outOfScope, token: token.body.token as string, tokenId: token.body.id as string };
  }

  function connect(token: string): Promise<Socket> {
    const socket = io(suite.server.url, { auth: { token }, transports: ['websocket'], reconnection: false });
    sockets.push(socket);
    return new Promise((resolve, reject) => {
      socket.once('connect', () => resolve(socket));
      socket.once('connect_error', reject);
    });
  }

  it('creates a bot owned by the caller, shown with bot: true, listed, and limited per user', async () => {
    const owner = await person();
    const created = await call(owner, 'POST', '/bots', { username: botName() });
    expect(created.status).toBe(201);
    expect(created.body.user.bot).toBe(true);
    expect(created.body.ownerId).toBe(owner.id);
    const profile = await call(owner, 'GET', `/users/${created.body.user.id}`);
    expect(profile.body.bot).toBe(true);
    expect((await call(owner, 'GET', '/users/me')).body.bot).toBe(false);
    for (let i = 0; i < 2; i++) expect((await call(owner, 'POST', '/bots', { username: botName() })).status).toBe(201);
    expectError(await call(owner, 'POST', '/bots', { username: botName() }), 409, 'CONFLICT');
    const list = await call(owner, 'GET', '/bots?limit=2');
    expect(list.body.items).toHaveLength(2);
    const rest = await call(owner, 'GET', `/bots?limit=2&cursor=${list.body.nextCursor}`);
    expect(rest.body.items).toHaveLength(1);
    expectError(await call(owner, 'POST', '/bots', { username: created.body.user.username }), 409, 'CONFLICT');
    expectError(await call(owner, 'POST', '/bots', { username: botName(), extra: 1 }), 400, 'VALIDATION_FAILED');
  });

  it("joins its owner's group at once (no invitation) and appears as a bot in the member list", async () => {
    const { owner, bot, inScope } = await setUp();
    const members = await call(owner, 'GET', `/groups/${inScope.id}/members`);
    const row = members.body.items.find((m: { user: { id: string } }) => m.user.id === bot.user.id);
    expect(row.user.bot).toBe(true);
    // Someone else's bot is invited like any stranger, not added.
    const other = await person();
    const group = (await call(other, 'POST', '/groups', { name: 'x', memberIds: [bot.user.id] })).body;
    expect(group.invited.map((i: { inviteeId: string }) => i.inviteeId)).toEqual([bot.user.id]);
  });

  it('issues a pbt_ token once, lists tokens without secrets, and only the owner manages them', async () => {
    const { owner, bot, token, tokenId } = await setUp();
    expect(token).toMatch(/^pbt_[A-Za-z0-9_-]{40,}$/);
    const list = await call(owner, 'GET', `/bots/${bot.user.id}/tokens`);
    expect(list.body.items).toHaveLength(1);
    expect(list.body.items[0].id).toBe(tokenId);
    expect(JSON.stringify(list.body)).not.toContain(token.slice(4));
    const stranger = await person();
    expectError(await call(stranger, 'GET', `/bots/${bot.user.id}/tokens`), 404, 'NOT_FOUND');
    expectError(await call(stranger, 'POST', `/bots/${bot.user.id}/tokens`, { scopes: { conversationIds: ['g.x'], actions: ['messages:read'] } }), 404, 'NOT_FOUND');
    expectError(await call(stranger, 'DELETE', `/bots/${bot.user.id}/tokens/${tokenId}`), 404, 'NOT_FOUND');
    // A token cannot name a conversation the bot is not in.
    const lonely = (await call(owner, 'POST', '/groups', { name: 'no bot' })).body;
    expectError(
      await call(owner, 'POST', `/bots/${bot.user.id}/tokens`, { scopes: { conversationIds: [`g.${lonely.id}`], actions: ['messages:read'] } }),
      400,
      'VALIDATION_FAILED',
    );
    expectError(await call(owner, 'POST', `/bots/${bot.user.id}/tokens`, { scopes: { conversationIds: [`g.${lonely.id}`], actions: ['admin:all'] } }), 400, 'VALIDATION_FAILED');
  });

  it('authenticates REST with the token within its scope only', async () => {
    const { owner, bot, inScope, outOfScope, token } = await setUp();
    const me = await as(token, 'GET', '/users/me');
    expect(me.status).toBe(200);
    expect(me.body.id).toBe(bot.user.id);
    await call(owner, 'POST', `/conversations/g.${inScope.id}/messages`, { type: 'text', content: 'hello bot', clientMsgId: randomUUID() });
    const history = await as(token, 'GET', `/conversations/g.${inScope.id}/messages`);
    expect(history.status).toBe(200);
    expect(history.body.items.some((m: { content: string }) => m.content === 'hello bot')).toBe(true);
    const sent = await as(token, 'POST', `/conversations/g.${inScope.id}/messages`, { type: 'text', content: 'beep', clientMsgId: randomUUID() });
    expect(sent.status).toBe(201);
    expect(sent.body.senderId).toBe(bot.user.id);
    // The bot is a member of the other group, but the token does not list it.
    expectError(await as(token, 'GET', `/conversations/g.${outOfScope.id}/messages`), 403, 'FORBIDDEN');
    expectError(await as(token, 'POST', `/conversations/g.${outOfScope.id}/messages`, { type: 'text', content: 'x', clientMsgId: randomUUID() }), 403, 'FORBIDDEN');
    expectError(await as(token, 'GET', `/groups/${outOfScope.id}/members`), 403, 'FORBIDDEN');
    expect((await as(token, 'GET', `/groups/${inScope.id}/members`)).status).toBe(200);
    // Routes outside the bot surface are closed whatever the scope.
    expectError(await as(token, 'GET', '/conversations'), 403, 'FORBIDDEN');
    expectError(await as(token, 'POST', '/bots', { username: botName() }), 403, 'FORBIDDEN');
    expectError(await as(token, 'GET', '/friends'), 403, 'FORBIDDEN');
    expectError(await as(`${token}x`, 'GET', '/users/me'), 401, 'UNAUTHORIZED');
  });

  it('refuses actions the token does not list', async () => {
    const { inScope, token } = await setUp(['messages:read']);
    expect((await as(token, 'GET', `/conversations/g.${inScope.id}/messages`)).status).toBe(200);
    expectError(await as(token, 'POST', `/conversations/g.${inScope.id}/messages`, { type: 'text', content: 'x', clientMsgId: randomUUID() }), 403, 'FORBIDDEN');
    expectError(await as(token, 'GET', `/groups/${inScope.id}/members`), 403, 'FORBIDDEN');
  });

  it('uses Socket.IO within its scope: sends and receives in scope, refused and unheard outside it', async () => {
    const { owner, inScope, outOfScope, token } = await setUp();
    const socket = await connect(token);
    const heard: string[] = [];
    socket.on('chat', (message: { content: string }) => heard.push(message.content));
    const ok = await socket.timeout(5000).emitWithAck('chat', { conversationId: `g.${inScope.id}`, type: 'text', content: 'from socket', clientMsgId: randomUUID() });
    expect(ok.ok).toBe(true);
    const refused = await socket.timeout(5000).emitWithAck('chat', { conversationId: `g.${outOfScope.id}`, type: 'text', content: 'nope', clientMsgId: randomUUID() });
    expect(refused).toMatchObject({ ok: false, error: { code: 'FORBIDDEN' } });
    const sync = await socket.timeout(5000).emitWithAck('sync', { since: '0' });
    expect(sync).toMatchObject({ ok: false, error: { code: 'FORBIDDEN' } });
    await call(owner, 'POST', `/conversations/g.${outOfScope.id}/messages`, { type: 'text', content: 'secret', clientMsgId: randomUUID() });
    await call(owner, 'POST', `/conversations/g.${inScope.id}/messages`, { type: 'text', content: 'public', clientMsgId: randomUUID() });
    await expect.poll(() => heard).toContain('public');
    expect(heard).not.toContain('secret');
  });

  it('revokes a token through the typed SDK: REST refuses it and its socket is disconnected', async () => {
    const owner = await person();
    const sdk = rest(owner.client);
    const bot = await sdk.bots.create({ username: botName(), nickname: 'Helper' });
    expect(bot.user.bot).toBe(true);
    expect((await sdk.bots.list()).items.map((b) => b.user.id)).toContain(bot.user.id);
    const group = await sdk.groups.create({ name: 'sdk', memberIds: [bot.user.id] });
    const created = await sdk.bots.createToken(bot.user.id, { scopes: { conversationIds: [`g.${group.id}`], actions: ['messages:read'] } });
    expect(created.token).toMatch(/^pbt_/);
    const socket = await connect(created.token);
    const gone = new Promise<void>((resolve) => socket.once('disconnect', () => resolve()));
    expect(await sdk.bots.revokeToken(bot.user.id, created.id)).toBeNull();
    await gone;
    expectError(await as(created.token, 'GET', '/users/me'), 401, 'UNAUTHORIZED');
    expect(await sdk.bots.revokeToken(bot.user.id, created.id)).toBeNull();
    const list = await sdk.bots.listTokens(bot.user.id);
    expect(list.items.map((t) => t.id)).toEqual([created.id]);
    expect(list.items[0]!.revokedAt).not.toBeNull();
    expect(list.items[0]).not.toHaveProperty('token');
  });

  it('manages incoming webhooks through the typed SDK', async () => {
    const owner = await person();
    const sdk = rest(owner.client);
    const group = await sdk.groups.create({ name: 'hooks' });
    const hook = await sdk.incomingWebhooks.create(`g.${group.id}`, { nickname: 'CI' });
    expect(hook.url).toMatch(/^\/api\/v1\/hooks\//);
    expect(hook.bot.bot).toBe(true);
    const posted = await suite.api('POST', hook.url, { body: { text: 'build green' } });
    expect(posted.status).toBe(201);
    expect((await sdk.incomingWebhooks.list(`g.${group.id}`)).items.map((h) => h.id)).toEqual([hook.id]);
    expect(await sdk.incomingWebhooks.revoke(`g.${group.id}`, hook.id)).toBeNull();
    expect((await sdk.incomingWebhooks.list(`g.${group.id}`)).items[0]!.revokedAt).not.toBeNull();
    expect((await suite.api('POST', hook.url, { body: { text: 'again' } })).status).toBe(404);
  });
});
