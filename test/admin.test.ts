import { describe, expect, it } from 'vitest';
import type { ParleySocket } from '../src/client/index.js';
import { type Api, expectError, newUser, type TestUser, uniqueName } from './support/http.js';
import { connectedUser, nextEvent } from './support/realtime.js';
import { storageLabel } from './support/server.js';
import { useTestServer } from './support/suite.js';

const ROOT = uniqueName('root');

function waitForDisconnect(socket: ParleySocket): Promise<string> {
  return new Promise((resolve) => {
    if (socket.disconnected) resolve('already disconnected');
    else socket.once('disconnect', (reason) => resolve(reason));
  });
}

describe(`instance administration (${storageLabel})`, () => {
  const suite = useTestServer({ ADMIN_USERNAMES: ` other-admin , ${ROOT.toUpperCase()}` });
  const { api } = suite;

  const as = (user: TestUser): Api => ((method, path, options = {}) => api(method, path, { token: user.accessToken, ...options })) as Api;
  let rootUser: TestUser | undefined;
  async function root(): Promise<TestUser> {
    rootUser ??= await newUser(api, { username: ROOT });
    return rootUser;
  }

  it('gives the role to ADMIN_USERNAMES (any case) and to users an admin grants it to, and not to others', async () => {
    const admin = await root();
    const plain = await newUser(api);
    expect((await as(admin)('GET', '/admin/stats')).status).toBe(200);
    expectError(await as(plain)('GET', '/admin/stats'), 404, 'NOT_FOUND');

    const shown = await as(admin)('GET', `/admin/users/${admin.id}`);
    expect(shown.body).toMatchObject({ id: admin.id, isAdmin: true, adminSource: 'config', suspendedAt: null });

    const granted = await as(admin)('PUT', `/admin/users/${plain.id}/admin`);
    expect(granted.body).toMatchObject({ id: plain.id, isAdmin: true, adminSource: 'granted' });
    expect((await as(plain)('GET', '/admin/stats')).status).toBe(200);
    // The granted admin may revoke, but not the role the configuration gives.
    expectError(await as(plain)('DELETE', `/admin/users/${admin.id}/admin`), 403, 'FORBIDDEN');
    const revoked = await as(admin)('DELETE', `/admin/users/${plain.id}/admin`);
    expect(revoked.body).toMatchObject({ isAdmin: false, adminSource: null });
    expectError(await as(plain)('GET', '/admin/stats'), 404, 'NOT_FOUND');
  });

  it('answers a non-admin NOT_FOUND on every admin route, whatever the input, exactly like an unknown route', async () => {
    const plain = await newUser(api);
    const other = await newUser(api);
    const attempts: Array<[string, string, unknown?]> = [
      ['GET', '/admin/users'],
      ['GET', '/admin/users?limit=100000'],
      ['GET', `/admin/users/${other.id}`],
      ['DELETE', `/admin/users/${other.id}`],
      ['PUT', `/admin/users/${plain.id}/admin`],
      ['DELETE', `/admin/users/${other.id}/admin`],
      ['PUT', `/admin/users/${other.id}/suspension`, { reason: 'x', unknown: 1 }],
      ['DELETE', `/admin/users/${other.id}/suspension`],
      ['POST', `/admin/users/${other.id}/password`, {}],
      ['DELETE', '/admin/messages/1'],
      ['DELETE', '/admin/groups/nope'],
      ['GET', '/admin/stats'],
      ['GET', '/admin/audit'],
    ];
    for (const [method, path, body] of attempts) {
      const res = await as(plain)(method, path, body === undefined ? {} : { body });
      expectError(res, 404, 'NOT_FOUND');
      expect(res.body.error.message).toBe(`no route for ${method} /api/v1${path.split('?')[0]}`);
    }
    expect((await api('GET', '/admin/stats')).status).toBe(401);
  });

  it('lists and searches every account with paging', async () => {
    const admin = await root();
    const prefix = uniqueName('find');
    const found = [await newUser(api, { username: `${prefix}a` }), await newUser(api, { username: `${prefix}b` }), await newUser(api, { username: `${prefix}c` })];
    const first = await as(admin)('GET', `/admin/users?q=${prefix.toUpperCase()}&limit=2`);
    expect(first.status).toBe(200);
    expect(first.body.items).toHaveLength(2);
    const second = await as(admin)('GET', `/admin/users?q=${prefix}&limit=2&cursor=${first.body.nextCursor}`);
    expect(second.body.nextCursor).toBeNull();
    const ids = [...first.body.items, ...second.body.items].map((u: { id: string }) => u.id);
    expect(ids.sort()).toEqual(found.map((u) => u.id).sort());
    expectError(await as(admin)('GET', '/admin/users?cursor=garbage'), 400, 'VALIDATION_FAILED');
    const all = await as(admin)('GET', '/admin/users?limit=200');
    expect(all.body.items.length).toBeGreaterThanOrEqual(4);
  });

  // Before any test leaves sockets behind: the socket count compared below is the whole server's.
  it('counts the instance: users, messages, groups, file bytes and open sockets', async () => {
    const admin = await root();
    const before = (await as(admin)('GET', '/admin/stats')).body;
    expect(before).toEqual({
      users: expect.any(Number),
      guests: expect.any(Number),
      suspendedUsers: expect.any(Number),
      admins: expect.any(Number),
      messages: expect.any(Number),
      groups: expect.any(Number),
      files: expect.any(Number),
      fileBytes: expect.any(Number),
      onlineSockets: expect.any(Number),
    });
    const someone = await connectedUser(suite.server.url);
    const guest = await api('POST', '/auth/guest', { body: {} });
    expect(guest.status).toBe(201);
    const group = await someone.client.request<{ conversationId: string }>('POST', '/groups', { name: 'counted' });
    await someone.client.emit('chat', { conversationId: group.conversationId, type: 'text', content: 'one', clientMsgId: 'count-1' });
    const after = (await as(admin)('GET', '/admin/stats')).body;
    expect(after.users - before.users).toBe(2);
    expect(after.guests - before.guests).toBe(1);
    expect(after.groups - before.groups).toBe(1);
    // The message sent, and the group's own record of its creation (a `system` message).
    expect(after.messages - before.messages).toBe(2);
    expect(after.onlineSockets - before.onlineSockets).toBe(1);
    expect(after.admins).toBe(1);
    someone.client.disconnect();
  });

  it('suspends: every session ends and its sockets are told and disconnected, login and refresh answer ACCOUNT_SUSPENDED; unsuspending lets them log in', async () => {
    const admin = await root();
    const target = await connectedUser(suite.server.url);
    const refreshToken = target.client.refreshToken!;
    const told = nextEvent(target.socket, 'session_revoked');
    const gone = waitForDisconnect(target.socket);

    const res = await as(admin)('PUT', `/admin/users/${target.id}/suspension`, { body: { reason: 'spam' } });
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ id: target.id, suspendedReason: 'spam' });
    expect(res.body.suspendedAt).toEqual(expect.any(String));
    expect(await told).toEqual({ reason: 'account_suspended' });
    expect(await gone).toBe('io server disconnect');

    expectError(await api('GET', '/users/me', { token: target.client.accessToken! }), 401, 'UNAUTHORIZED');
    expectError(await api('POST', '/auth/refresh', { body: { refreshToken } }), 403, 'ACCOUNT_SUSPENDED');
    expectError(await api('POST', '/auth/login', { body: { username: target.username, password: target.password } }), 403, 'ACCOUNT_SUSPENDED');
    // A wrong password says nothing about the suspension.
    expectError(await api('POST', '/auth/login', { body: { username: target.username, password: 'wrong password!' } }), 401, 'UNAUTHORIZED');

    const lifted = await as(admin)('DELETE', `/admin/users/${target.id}/suspension`);
    expect(lifted.body).toMatchObject({ suspendedAt: null, suspendedReason: null });
    expect((await api('POST', '/auth/login', { body: { username: target.username, password: target.password } })).status).toBe(200);
  });

  it('refuses to suspend oneself or another admin, and answers NOT_FOUND for an unknown user', async () => {
    const admin = await root();
    const other = await newUser(api);
    await as(admin)('PUT', `/admin/users/${other.id}/admin`);
    expectError(await as(admin)('PUT', `/admin/users/${admin.id}/suspension`, { body: {} }), 403, 'FORBIDDEN');
    expectError(await as(admin)('PUT', `/admin/users/${other.id}/suspension`, { body: {} }), 403, 'FORBIDDEN');
    expectError(await as(admin)('PUT', '/admin/users/no-such-user/suspension', { body: {} }), 404, 'NOT_FOUND');
    expectError(await as(admin)('PUT', `/admin/users/${other.id}/suspension`, { body: { reason: 'x'.repeat(501) } }), 400, 'VALIDATION_FAILED');
    await as(admin)('DELETE', `/admin/users/${other.id}/admin`);
  });

  it('writes every admin action to an audit log paged newest first', async () => {
    const admin = await root();
    const target = await newUser(api);
    await as(admin)('PUT', `/admin/users/${target.id}/suspension`, { body: { reason: 'audit me' } });
    await as(admin)('DELETE', `/admin/users/${target.id}/suspension`);
    await as(admin)('PUT', `/admin/users/${target.id}/admin`);
    await as(admin)('DELETE', `/admin/users/${target.id}/admin`);
    const first = await as(admin)('GET', '/admin/audit?limit=3');
    expect(first.status).toBe(200);
    expect(first.body.items.map((e: { action: string }) => e.action)).toEqual(['admin_revoked', 'admin_granted', 'user_unsuspended']);
    expect(first.body.items[0]).toMatchObject({ actorId: admin.id, targetType: 'user', targetId: target.id, details: null });
    const second = await as(admin)('GET', `/admin/audit?limit=1&cursor=${first.body.nextCursor}`);
    expect(second.body.items[0]).toMatchObject({ action: 'user_suspended', targetId: target.id, details: { reason: 'audit me' } });
    expectError(await as(admin)('GET', '/admin/audit?cursor=nope'), 400, 'VALIDATION_FAILED');
    // Nothing in the API changes or removes an entry.
    for (const method of ['PUT', 'PATCH', 'DELETE']) expect((await as(admin)(method, `/admin/audit/${first.body.items[0].id}`)).status).toBe(404);
  });

  it('resets a password (generated and shown once, or given), ending every session', async () => {
    const admin = await root();
    const target = await connectedUser(suite.server.url);
    const told = nextEvent(target.socket, 'session_revoked');
    const generated = await as(admin)('POST', `/admin/users/${target.id}/password`, { body: {} });
    expect(generated.status).toBe(200);
    expect(generated.body.password).toMatch(/^[\w-]{16}$/);
    expect(await told).toEqual({ reason: 'session_ended' });
    expectError(await api('POST', '/auth/login', { body: { username: target.username, password: target.password } }), 401, 'UNAUTHORIZED');
    expect((await api('POST', '/auth/login', { body: { username: target.username, password: generated.body.password } })).status).toBe(200);

    const chosen = await as(admin)('POST', `/admin/users/${target.id}/password`, { body: { password: 'temporary pass 1' } });
    expect(chosen.body).toEqual({ password: 'temporary pass 1' });
    expect((await api('POST', '/auth/login', { body: { username: target.username, password: 'temporary pass 1' } })).status).toBe(200);
    const entries = (await as(admin)('GET', '/admin/audit?limit=2')).body.items;
    expect(entries.map((e: { action: string }) => e.action)).toEqual(['password_reset', 'password_reset']);
    expect(JSON.stringify(entries)).not.toContain('temporary pass 1');
    expect(JSON.stringify(entries)).not.toContain(generated.body.password);
  });

  it('deletes any message as a recall, telling the conversation, and refuses it twice', async () => {
    const admin = await root();
    const alice = await connectedUser(suite.server.url);
    const bob = await connectedUser(suite.server.url);
    const { id: conversationId } = await alice.client.request<{ id: string }>('POST', '/conversations', { peerId: bob.id });
    const sent = await alice.client.emit('chat', { conversationId, type: 'text', content: 'something awful', clientMsgId: 'awful-1' });
    const bobSees = nextEvent(bob.socket, 'message_updated', (e) => e.message.id === sent.id);
    expect((await as(admin)('DELETE', `/admin/messages/${sent.id}`)).status).toBe(204);
    const updated = (await bobSees).message;
    expect(updated).toMatchObject({ id: sent.id, content: '' });
    expect(updated.recalledAt).toEqual(expect.any(String));
    const history = await bob.client.request<{ items: Array<{ content: string }> }>('GET', `/conversations/${conversationId}/messages`);
    expect(history.items.map((m) => m.content)).toEqual(['']);
    expectError(await as(admin)('DELETE', `/admin/messages/${sent.id}`), 409, 'CONFLICT');
    expectError(await as(admin)('DELETE', '/admin/messages/999999999'), 404, 'NOT_FOUND');
    const entry = (await as(admin)('GET', '/admin/audit?limit=1')).body.items[0];
    expect(entry).toMatchObject({ action: 'message_deleted', targetType: 'message', targetId: sent.id, details: { conversationId } });
    alice.client.disconnect();
    bob.client.disconnect();
  });

  it('dissolves any group, telling its members', async () => {
    const admin = await root();
    const owner = await connectedUser(suite.server.url);
    const group = await owner.client.request<{ id: string }>('POST', '/groups', { name: 'trouble' });
    const told = nextEvent(owner.socket, 'group_member', (e) => e.groupId === group.id && e.change === 'dissolved');
    expect((await as(admin)('DELETE', `/admin/groups/${group.id}`)).status).toBe(204);
    expect(await told).toMatchObject({ groupId: group.id, userId: admin.id, change: 'dissolved' });
    expectError(await api('GET', `/groups/${group.id}`, { token: owner.client.accessToken! }), 404, 'NOT_FOUND');
    expectError(await as(admin)('DELETE', `/admin/groups/${group.id}`), 404, 'NOT_FOUND');
    expect((await as(admin)('GET', '/admin/audit?limit=1')).body.items[0]).toMatchObject({ action: 'group_dissolved', targetId: group.id });
    owner.client.disconnect();
  });

  it('deletes a user with their content: sessions end, owned groups are dissolved, messages emptied, the account gone', async () => {
    const admin = await root();
    const target = await connectedUser(suite.server.url);
    const friend = await connectedUser(suite.server.url);
    const request = await target.client.request<{ id: string }>('POST', '/friend-requests', { toUserId: friend.id });
    await friend.client.request('POST', `/friend-requests/${request.id}/accept`);
    const owned = await target.client.request<{ id: string }>('POST', '/groups', { name: 'theirs', memberIds: [friend.id] });
    const other = await friend.client.request<{ id: string; conversationId: string }>('POST', '/groups', { name: 'friend’s', memberIds: [target.id] });
    await target.client.emit('chat', { conversationId: other.conversationId, type: 'text', content: 'my words', clientMsgId: 'mine-1' });
    const dissolved = nextEvent(friend.socket, 'group_member', (e) => e.groupId === owned.id && e.change === 'dissolved');
    const gone = waitForDisconnect(target.socket);

    expectError(await as(admin)('DELETE', `/admin/users/${admin.id}`), 403, 'FORBIDDEN');
    expect((await as(admin)('DELETE', `/admin/users/${target.id}`)).status).toBe(204);
    expect(await gone).toBe('io server disconnect');
    await dissolved;
    const history = await friend.client.request<{ items: Array<{ content: string; recalledAt: string | null }> }>('GET', `/conversations/${other.conversationId}/messages`);
    expect(history.items.map((m) => m.content)).not.toContain('my words');
    expectError(await as(admin)('GET', `/admin/users/${target.id}`), 404, 'NOT_FOUND');
    expectError(await api('POST', '/auth/login', { body: { username: target.username, password: target.password } }), 401, 'UNAUTHORIZED');
    expect((await as(admin)('GET', '/admin/audit?limit=1')).body.items[0]).toMatchObject({ action: 'user_deleted', targetId: target.id, details: { username: target.username } });
    friend.client.disconnect();
  });
});
