import { afterEach, describe, expect, it } from 'vitest';
import type { Message, ParleyClient } from '../src/client/index.js';
import type { Group } from '../src/client/rest.js';
import type { ApiResponse } from './support/http.js';
import { connectedUser, nextEvent, registerClient } from './support/realtime.js';
import { storageLabel } from './support/server.js';
import { useTestServer } from './support/suite.js';

interface Person {
  id: string;
  client: ParleyClient;
}

describe(`group events as system messages (${storageLabel})`, () => {
  const suite = useTestServer();
  const { api } = suite;
  const openClients: ParleyClient[] = [];
  afterEach(() => {
    for (const client of openClients.splice(0)) client.disconnect();
  });

  const person = (): Promise<Person> => registerClient(suite.server.url);
  async function online() {
    const user = await connectedUser(suite.server.url);
    openClients.push(user.client);
    return user;
  }
  function call<T = any>(who: Person, method: string, path: string, body?: unknown): Promise<ApiResponse<T>> {
    return api<T>(method, path, { token: who.client.accessToken, body });
  }
  async function befriend(a: Person, ...others: Person[]): Promise<void> {
    for (const b of others) {
      const request = await call<{ id: string }>(a, 'POST', '/friend-requests', { toUserId: b.id });
      expect((await call(b, 'POST', `/friend-requests/${request.body.id}/accept`)).status).toBe(200);
    }
  }
  async function createGroup(owner: Person, members: Person[]): Promise<Group> {
    const res = await call<Group>(owner, 'POST', '/groups', { name: 'Hikers', memberIds: members.map((m) => m.id) });
    expect(res.status).toBe(201);
    return res.body;
  }
  /** The system events in a conversation's history, oldest first, as the member sees them. */
  async function systemEvents(who: Person, conversationId: string): Promise<Array<NonNullable<Message['system']>>> {
    const res = await call<{ items: Message[] }>(who, 'GET', `/conversations/${conversationId}/messages?limit=100`);
    expect(res.status).toBe(200);
    const system = res.body.items.filter((m) => m.type === 'system');
    for (const message of system) {
      // Data, never words: the content is the event itself, for clients that do not read `system`.
      expect(JSON.parse(message.content)).toEqual(message.system);
    }
    return system.map((m) => m.system as NonNullable<Message['system']>).reverse();
  }

  it('records creation and the members added with it, sent by the creator', async () => {
    const [owner, bob, carol] = await Promise.all([person(), person(), person()]);
    await befriend(owner, bob, carol);
    const group = await createGroup(owner, [bob, carol]);
    const events = await systemEvents(bob, group.conversationId);
    expect(events).toEqual([
      { kind: 'group_created', actorId: owner.id, userIds: [] },
      { kind: 'member_added', actorId: owner.id, userIds: expect.arrayContaining([bob.id, carol.id]) },
    ]);
    expect(events[1]?.userIds).toHaveLength(2);
    const history = await call<{ items: Message[] }>(owner, 'GET', `/conversations/${group.conversationId}/messages`);
    expect(history.body.items.every((m) => m.senderId === owner.id && m.type === 'system')).toBe(true);
    // Never unread: a group that only records its own creation waits for nobody.
    const listed = await call<{ items: Array<{ id: string; unreadCount: number }> }>(bob, 'GET', '/conversations');
    expect(listed.body.items.find((c) => c.id === group.conversationId)?.unreadCount).toBe(0);
    // The record is not the actor's to take back, nor to rewrite.
    const first = history.body.items.at(-1) as Message;
    expect((await call(owner, 'DELETE', `/messages/${first.id}`)).body.error.code).toBe('FORBIDDEN');
    expect((await call(owner, 'PATCH', `/messages/${first.id}`, { content: 'rewritten' })).body.error.code).toBe('FORBIDDEN');
  });

  it('delivers an added member, a role change, a removal and a departure live to every member', async () => {
    const [owner, bob, carol] = await Promise.all([online(), online(), online()]);
    await befriend(owner, bob, carol);
    const group = await createGroup(owner, [bob]);
    const system = (socket: typeof bob.socket, kind: string) => nextEvent(socket, 'chat', (m) => m.conversationId === group.conversationId && m.system?.kind === kind);

    const added = system(bob.socket, 'member_added');
    const addedSeenByCarol = system(carol.socket, 'member_added');
    expect((await call(owner, 'POST', `/groups/${group.id}/members`, { userIds: [carol.id] })).status).toBe(200);
    expect((await added).system).toEqual({ kind: 'member_added', actorId: owner.id, userIds: [carol.id] });
    expect((await addedSeenByCarol).senderId).toBe(owner.id);

    const promoted = system(carol.socket, 'role_changed');
    expect((await call(owner, 'PATCH', `/groups/${group.id}/members/${bob.id}`, { role: 'admin' })).status).toBe(200);
    expect((await promoted).system).toEqual({ kind: 'role_changed', actorId: owner.id, userIds: [bob.id], role: 'admin' });

    const removed = system(bob.socket, 'member_removed');
    expect((await call(owner, 'DELETE', `/groups/${group.id}/members/${carol.id}`)).status).toBe(204);
    expect((await removed).system).toEqual({ kind: 'member_removed', actorId: owner.id, userIds: [carol.id] });

    const left = system(owner.socket, 'member_left');
    expect((await call(bob, 'DELETE', `/groups/${group.id}/members/${bob.id}`)).status).toBe(204);
    expect((await left).system).toEqual({ kind: 'member_left', actorId: bob.id, userIds: [] });

    expect((await systemEvents(owner, group.conversationId)).map((e) => e.kind)).toEqual([
      'group_created',
      'member_added',
      'member_added',
      'role_changed',
      'member_removed',
      'member_left',
    ]);
    // The removed member no longer reads the group, so its later events stay with the members.
    expect((await call(carol, 'GET', `/conversations/${group.conversationId}/messages`)).status).toBe(404);
  });

  it('records an accepted invitation as the invitee joining', async () => {
    const [owner, dave] = await Promise.all([person(), person()]);
    const res = await call<Group & { invited: Array<{ id: string; inviteeId: string }> }>(owner, 'POST', '/groups', { name: 'Open', memberIds: [dave.id] });
    const invitation = res.body.invited.find((i) => i.inviteeId === dave.id);
    expect((await call(dave, 'POST', `/group-invitations/${invitation?.id}/accept`)).status).toBe(200);
    expect(await systemEvents(owner, res.body.conversationId)).toEqual([
      { kind: 'group_created', actorId: owner.id, userIds: [] },
      { kind: 'member_joined', actorId: dave.id, userIds: [] },
    ]);
  });

  it('tells the members the group was dissolved before its conversation goes', async () => {
    const [owner, bob] = await Promise.all([online(), online()]);
    await befriend(owner, bob);
    const group = await createGroup(owner, [bob]);
    const dissolved = nextEvent(bob.socket, 'chat', (m) => m.conversationId === group.conversationId && m.type === 'system' && m.system?.kind === 'group_dissolved');
    expect((await call(owner, 'DELETE', `/groups/${group.id}`)).status).toBe(204);
    expect((await dissolved).system).toEqual({ kind: 'group_dissolved', actorId: owner.id, userIds: [] });
  });

  it('hands ownership on when the owner leaves, and says so', async () => {
    const [owner, bob] = await Promise.all([person(), person()]);
    await befriend(owner, bob);
    const group = await createGroup(owner, [bob]);
    expect((await call(owner, 'DELETE', `/groups/${group.id}/members/${owner.id}`)).status).toBe(204);
    expect((await systemEvents(bob, group.conversationId)).slice(-2)).toEqual([
      { kind: 'member_left', actorId: owner.id, userIds: [] },
      { kind: 'role_changed', actorId: bob.id, userIds: [bob.id], role: 'owner' },
    ]);
  });

  it('keeps system messages out of message search', async () => {
    const [owner, bob] = await Promise.all([person(), person()]);
    await befriend(owner, bob);
    const group = await createGroup(owner, [bob]);
    const res = await call<{ items: Message[] }>(owner, 'GET', `/messages/search?q=member_added&conversationId=${encodeURIComponent(group.conversationId)}`);
    expect(res.status).toBe(200);
    expect(res.body.items).toEqual([]);
  });
});
