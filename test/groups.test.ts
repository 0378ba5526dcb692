import { randomBytes } from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import type { MembershipEvent, ParleyClient, ParleySocket } from '../src/client/index.js';
import type { Group, Member } from '../src/client/rest.js';
import { type ApiResponse, expectError } from './support/http.js';
import { barrier, collect, connectedUser, nextEvent, registerClient, secondDevice } from './support/realtime.js';
import { storageLabel } from './support/server.js';
import { useTestServer } from './support/suite.js';

const ISO = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;

/** A registered user; `socket` is set for users connected with `online()`. */
interface Person {
  id: string;
  username: string;
  password: string;
  client: ParleyClient;
  socket?: ParleySocket;
}

interface Online extends Person {
  socket: ParleySocket;
}

describe(`groups (${storageLabel})`, () => {
  const suite = useTestServer();
  const { api } = suite;
  const openClients: ParleyClient[] = [];
  afterEach(() => {
    for (const client of openClients.splice(0)) client.disconnect();
  });

  /** A registered user without a socket (presence: offline). */
  async function person(): Promise<Person> {
    return registerClient(suite.server.url);
  }

  /** A registered user with one connected socket. */
  async function online(): Promise<Online> {
    const user = await connectedUser(suite.server.url);
    openClients.push(user.client);
    return user;
  }

  /** Another connected device (a new session) of the same user. */
  async function device(user: Person): Promise<ParleySocket> {
    const client = await secondDevice(suite.server.url, user);
    openClients.push(client);
    return client.socket!;
  }

  function call<T = any>(who: Person, method: string, path: string, body?: unknown): Promise<ApiResponse<T>> {
    return api<T>(method, path, { token: who.client.accessToken, body });
  }

  async function createGroup(owner: Person, members: Person[] = [], name = 'Team'): Promise<Group> {
    const res = await call<Group & { invited: Array<{ id: string; inviteeId: string }> }>(owner, 'POST', '/groups', { name, memberIds: members.map((m) => m.id) });
    expect(res.status).toBe(201);
    // Nobody here is the owner's friend: each member joins by accepting their invitation.
    for (const member of members) await acceptInvitation(member, res.body.invited);
    const { invited: _invited, ...group } = res.body;
    return { ...group, memberCount: 1 + members.length };
  }

  /** Accepts the member's invitation, if they were invited (a friend of the adder joins at once). */
  async function acceptInvitation(member: Person, invited: Array<{ id: string; inviteeId: string }>): Promise<void> {
    const invitation = invited.find((i) => i.inviteeId === member.id);
    if (invitation) expect((await call(member, 'POST', `/group-invitations/${invitation.id}/accept`)).status).toBe(200);
  }

  /** Makes `a` and each of `others` friends: friends add each other to groups without an invitation. */
  async function befriend(a: Person, ...others: Person[]): Promise<void> {
    for (const b of others) {
      const request = await call<{ id: string }>(a, 'POST', '/friend-requests', { toUserId: b.id });
      expect((await call(b, 'POST', `/friend-requests/${request.body.id}/accept`)).status).toBe(200);
    }
  }

  async function getGroup(who: Person, groupId: string): Promise<Group> {
    const res = await call<Group>(who, 'GET', `/groups/${groupId}`);
    expect(res.status).toBe(200);
    return res.body;
  }

  async function members(who: Person, groupId: string): Promise<Member[]> {
    const res = await call<{ items: Member[] }>(who, 'GET', `/groups/${groupId}/members`);
    expect(res.status).toBe(200);
    return res.body.items;
  }

  async function roles(who: Person, groupId: string): Promise<Record<string, string>> {
    return Object.fromEntries((await members(who, groupId)).map((m) => [m.user.id, m.role]));
  }

  async function setRole(by: Person, group: Group, target: Person, role: Member['role']): Promise<Member> {
    const res = await call<Member>(by, 'PATCH', `/groups/${group.id}/members/${target.id}`, { role });
    expect(res.status).toBe(200);
    return res.body;
  }

  /** A group with an owner, an admin and two plain members, none connected. */
  async function staffedGroup(): Promise<{ group: Group; owner: Person; admin: Person; member: Person; other: Person }> {
    const [owner, admin, member, other] = await Promise.all([person(), person(), person(), person()]);
    const group = await createGroup(owner, [admin, member, other]);
    await setRole(owner, group, admin, 'admin');
    return { group, owner, admin, member, other };
  }

  const clientMsgId = () => `c-${randomBytes(6).toString('hex')}`;

  function sendOverRest(who: Person, conversationId: string, content: string): Promise<ApiResponse> {
    return call(who, 'POST', `/conversations/${conversationId}/messages`, { type: 'text', content, clientMsgId: clientMsgId() });
  }

  function sendOverSocket(who: Person, conversationId: string, content: string) {
    return who.client.emitRaw('chat', { conversationId, type: 'text', content, clientMsgId: clientMsgId() });
  }

  const membershipEvent = (socket: ParleySocket, groupId: string, userId: string, change: MembershipEvent['change']) =>
    nextEvent(socket, 'group_member', (e) => e.groupId === groupId && e.userId === userId && e.change === change);

  describe('creating', () => {
    it('creates a group with the caller as owner and the named members, with its conversation', async () => {
      const [owner, bob, carol] = await Promise.all([person(), person(), person()]);
      await befriend(owner, bob, carol);
      const res = await call<Group>(owner, 'POST', '/groups', { name: 'Hikers', description: 'Weekend trips', memberIds: [bob.id, carol.id] });
      expect(res.status).toBe(201);
      expect(res.body).toEqual({
        id: expect.any(String),
        name: 'Hikers',
        description: 'Weekend trips',
        ownerId: owner.id,
        memberCount: 3,
        conversationId: expect.any(String),
        createdAt: expect.stringMatching(ISO),
        invited: [],
      });
      expect(await roles(owner, res.body.id)).toEqual({ [owner.id]: 'owner', [bob.id]: 'member', [carol.id]: 'member' });
      const conversation = await call(bob, 'POST', '/conversations', { groupId: res.body.id });
      expect(conversation.status).toBe(200);
      expect(conversation.body).toMatchObject({ id: res.body.conversationId, type: 'group', myRole: 'member' });
      // Each member's list says their own role, so a client offers only what it allows.
      const listed = await call<{ items: Array<{ id: string; myRole?: string }> }>(owner, 'GET', '/conversations');
      expect(listed.body.items.find((item) => item.id === res.body.conversationId)?.myRole).toBe('owner');
    });

    it('defaults the description to empty and counts the creator or a repeated member id once', async () => {
      const [owner, bob] = await Promise.all([person(), person()]);
      await befriend(owner, bob);
      const res = await call<Group>(owner, 'POST', '/groups', { name: 'Solo-ish', memberIds: [bob.id, bob.id, owner.id] });
      expect(res.status).toBe(201);
      expect(res.body.description).toBe('');
      expect(res.body.memberCount).toBe(2);
      expect(await roles(owner, res.body.id)).toEqual({ [owner.id]: 'owner', [bob.id]: 'member' });
    });

    it('round-trips emoji, CJK and RTL text in the name and description byte for byte', async () => {
      const owner = await person();
      const name = '登山队 🏔️👩🏽‍💻 فريق';
      const description = '周末 🇯🇵 مرحبا ✨';
      const res = await call<Group>(owner, 'POST', '/groups', { name, description });
      expect(res.status).toBe(201);
      expect(res.body.name).toBe(name);
      expect(res.body.description).toBe(description);
      const read = await getGroup(owner, res.body.id);
      expect(read.name).toBe(name);
      expect(read.description).toBe(description);
      const listed = await call<{ items: Group[] }>(owner, 'GET', '/groups');
      expect(listed.body.items.find((g) => g.id === res.body.id)?.name).toBe(name);
    });

    it("pages the caller's groups and a group's members with cursor and limit, and refuses a cursor it did not hand out", async () => {
      const [owner, bob, carol, dave] = await Promise.all([person(), person(), person(), person()]);
      // Bob is a friend, so he joins in the creating request with the owner (not later, by accepting).
      await befriend(owner, bob);
      const created = [await createGroup(owner, [bob], 'one'), await createGroup(owner, [], 'two'), await createGroup(owner, [], 'three')];
      const first = await call<{ items: Group[]; nextCursor: string | null }>(owner, 'GET', '/groups?limit=2');
      expect(first.status).toBe(200);
      expect(first.body.items.map((g) => g.id)).toEqual(created.slice(0, 2).map((g) => g.id));
      expect(first.body.nextCursor).toEqual(expect.any(String));
      const second = await call<{ items: Group[]; nextCursor: string | null }>(owner, 'GET', `/groups?limit=2&cursor=${encodeURIComponent(first.body.nextCursor!)}`);
      expect(second.body).toEqual({ items: [created[2]], nextCursor: null });
      expect((await call<{ items: Group[] }>(bob, 'GET', '/groups')).body).toEqual({ items: [{ ...created[0], memberCount: 2 }], nextCursor: null });

      await befriend(owner, carol, dave);
      await call(owner, 'POST', `/groups/${created[0]!.id}/members`, { userIds: [carol.id, dave.id] });
      const everyone = await members(owner, created[0]!.id);
      // Joining order; members who joined in the same request (owner and bob, carol and dave) by id.
      expect(everyone.map((m) => m.user.id)).toEqual([...[owner.id, bob.id].sort(), ...[carol.id, dave.id].sort()]);
      const pageOne = await call<{ items: Member[]; nextCursor: string | null }>(bob, 'GET', `/groups/${created[0]!.id}/members?limit=3`);
      expect(pageOne.body.items).toEqual(everyone.slice(0, 3));
      const pageTwo = await call<{ items: Member[]; nextCursor: string | null }>(
        bob,
        'GET',
        `/groups/${created[0]!.id}/members?limit=3&cursor=${encodeURIComponent(pageOne.body.nextCursor!)}`,
      );
      expect(pageTwo.body).toEqual({ items: everyone.slice(3), nextCursor: null });

      expectError(await call(owner, 'GET', '/groups?cursor=garbage'), 400, 'VALIDATION_FAILED');
      expectError(await call(owner, 'GET', `/groups/${created[0]!.id}/members?cursor=garbage`), 400, 'VALIDATION_FAILED');
      expectError(await call(owner, 'GET', '/groups?limit=201'), 400, 'VALIDATION_FAILED');
    });

    it('accepts a name of 64 characters, emoji included', async () => {
      const owner = await person();
      for (const name of ['a'.repeat(64), '🎉'.repeat(64)]) {
        const res = await call<Group>(owner, 'POST', '/groups', { name });
        expect(res.status).toBe(201);
        expect((await getGroup(owner, res.body.id)).name).toBe(name);
      }
    });

    it('rejects a missing, blank or too long name with VALIDATION_FAILED and creates nothing', async () => {
      const owner = await person();
      for (const body of [{}, { name: '' }, { name: '   ' }, { name: 'a'.repeat(65) }, { name: null }, { description: 'no name' }]) {
        expectError(await call(owner, 'POST', '/groups', body), 400, 'VALIDATION_FAILED');
      }
      expect((await call<{ items: Group[] }>(owner, 'GET', '/groups')).body.items).toEqual([]);
    });

    it('answers NOT_FOUND for an unknown member id and creates nothing', async () => {
      const [owner, bob] = await Promise.all([person(), person()]);
      const error = expectError(await call(owner, 'POST', '/groups', { name: 'Ghosts', memberIds: [bob.id, 'no-such-user'] }), 404, 'NOT_FOUND');
      expect(JSON.stringify(error.details)).toContain('no-such-user');
      expect((await call<{ items: Group[] }>(owner, 'GET', '/groups')).body.items).toEqual([]);
      expect((await call<{ items: Group[] }>(bob, 'GET', '/groups')).body.items).toEqual([]);
    });

    it('refuses every group route without a token with UNAUTHORIZED', async () => {
      const owner = await person();
      const group = await createGroup(owner);
      const routes: Array<[string, string, unknown?]> = [
        ['POST', '/groups', { name: 'x' }],
        ['GET', '/groups'],
        ['GET', `/groups/${group.id}`],
        ['PATCH', `/groups/${group.id}`, { name: 'y' }],
        ['DELETE', `/groups/${group.id}`],
        ['GET', `/groups/${group.id}/members`],
        ['POST', `/groups/${group.id}/members`, { userIds: [owner.id] }],
        ['DELETE', `/groups/${group.id}/members/${owner.id}`],
        ['PATCH', `/groups/${group.id}/members/${owner.id}`, { role: 'admin' }],
      ];
      for (const [method, path, body] of routes) {
        expectError(await api(method, path, { body }), 401, 'UNAUTHORIZED');
        expectError(await api(method, path, { body, token: 'not-a-token' }), 401, 'UNAUTHORIZED');
      }
      expect(await getGroup(owner, group.id)).toMatchObject({ name: 'Team', memberCount: 1 });
    });
  });

  describe('reading', () => {
    it('lists only the caller’s groups, each with its member count', async () => {
      const [alice, bob, carol] = await Promise.all([person(), person(), person()]);
      const both = await createGroup(alice, [bob], 'Both');
      const aliceOnly = await createGroup(alice, [], 'Alice only');
      const bobsTrio = await createGroup(bob, [alice, carol], 'Bob’s trio');
      await createGroup(carol, [], 'Carol only');

      const aliceList = await call<{ items: Group[] }>(alice, 'GET', '/groups');
      expect(aliceList.status).toBe(200);
      expect(Object.fromEntries(aliceList.body.items.map((g) => [g.id, g.memberCount]))).toEqual({ [both.id]: 2, [aliceOnly.id]: 1, [bobsTrio.id]: 3 });
      for (const group of aliceList.body.items) expect(group).toMatchObject({ conversationId: expect.any(String), createdAt: expect.stringMatching(ISO) });

      const bobList = await call<{ items: Group[] }>(bob, 'GET', '/groups');
      expect(bobList.body.items.map((g) => g.id).sort()).toEqual([both.id, bobsTrio.id].sort());
    });

    it('shows a group to its members and answers non-members exactly as for an unknown group', async () => {
      const [owner, member, stranger] = await Promise.all([person(), person(), person()]);
      const group = await createGroup(owner, [member], 'Private club');
      expect(await getGroup(member, group.id)).toEqual(group);

      const asStranger = await call(stranger, 'GET', `/groups/${group.id}`);
      expectError(asStranger, 404, 'NOT_FOUND');
      const unknown = await call(stranger, 'GET', '/groups/00000000-0000-7000-8000-000000000000');
      expectError(unknown, 404, 'NOT_FOUND');
      expect(asStranger.body).toEqual(unknown.body);
      expect(JSON.stringify(asStranger.body)).not.toContain('Private club');
    });
  });

  describe('updating', () => {
    it('lets the owner and an admin rename and describe the group', async () => {
      const { group, owner, admin, member } = await staffedGroup();
      const byOwner = await call<Group>(owner, 'PATCH', `/groups/${group.id}`, { name: '  Renamed 🚀  ', description: 'New plans' });
      expect(byOwner.status).toBe(200);
      expect(byOwner.body).toMatchObject({ id: group.id, name: 'Renamed 🚀', description: 'New plans', ownerId: owner.id, memberCount: 4 });

      const byAdmin = await call<Group>(admin, 'PATCH', `/groups/${group.id}`, { description: '管理员 wrote this' });
      expect(byAdmin.status).toBe(200);
      expect(byAdmin.body).toMatchObject({ name: 'Renamed 🚀', description: '管理员 wrote this' });
      expect(await getGroup(member, group.id)).toMatchObject({ name: 'Renamed 🚀', description: '管理员 wrote this' });
    });

    it('forbids a plain member and hides the group from a non-member', async () => {
      const { group, member } = await staffedGroup();
      const stranger = await person();
      expectError(await call(member, 'PATCH', `/groups/${group.id}`, { name: 'Mine now' }), 403, 'FORBIDDEN');
      expectError(await call(stranger, 'PATCH', `/groups/${group.id}`, { name: 'Mine now' }), 404, 'NOT_FOUND');
      expect((await getGroup(member, group.id)).name).toBe('Team');
    });

    it('rejects an empty body, a blank or too long name with VALIDATION_FAILED', async () => {
      const { group, owner } = await staffedGroup();
      for (const body of [{}, { name: '' }, { name: '  ' }, { name: 'x'.repeat(65) }, { description: 'x'.repeat(501) }]) {
        expectError(await call(owner, 'PATCH', `/groups/${group.id}`, body), 400, 'VALIDATION_FAILED');
      }
      expect(await getGroup(owner, group.id)).toMatchObject({ name: 'Team', description: '' });
    });
  });

  describe('dissolving', () => {
    it('lets the owner dissolve: members are told once, the group and its conversation are gone', async () => {
      const [owner, member, admin] = await Promise.all([online(), online(), online()]);
      const group = await createGroup(owner, [member, admin]);
      await setRole(owner, group, admin, 'admin');
      await sendOverRest(owner, group.conversationId, 'before the end');

      const memberEvents = collect(member.socket, 'group_member');
      const adminEvents = collect(admin.socket, 'group_member');
      const memberTold = membershipEvent(member.socket, group.id, owner.id, 'dissolved');
      const adminTold = membershipEvent(admin.socket, group.id, owner.id, 'dissolved');
      const res = await call(owner, 'DELETE', `/groups/${group.id}`);
      expect(res.status).toBe(204);
      expect(res.body).toBeNull();
      expect(await memberTold).toEqual({ groupId: group.id, conversationId: group.conversationId, userId: owner.id, change: 'dissolved' });
      await adminTold;
      await Promise.all([member.socket, admin.socket].map((socket) => barrier(socket)));
      expect(memberEvents).toHaveLength(1);
      expect(adminEvents).toHaveLength(1);

      for (const who of [owner, member]) {
        expectError(await call(who, 'GET', `/groups/${group.id}`), 404, 'NOT_FOUND');
        expectError(await call(who, 'GET', `/groups/${group.id}/members`), 404, 'NOT_FOUND');
        expect((await call<{ items: Group[] }>(who, 'GET', '/groups')).body.items).toEqual([]);
        expectError(await call(who, 'GET', `/conversations/${group.conversationId}/messages`), 404, 'NOT_FOUND');
        expectError(await sendOverRest(who, group.conversationId, 'anyone?'), 404, 'NOT_FOUND');
      }
      expect(await sendOverSocket(member, group.conversationId, 'anyone?')).toMatchObject({ ok: false, error: { code: 'NOT_FOUND' } });
      const conversations = await call<{ items: Array<{ id: string }> }>(member, 'GET', '/conversations');
      expect(conversations.body.items.map((c) => c.id)).not.toContain(group.conversationId);
    });

    it('forbids an admin or a member from dissolving and hides the group from a non-member', async () => {
      const { group, owner, admin, member } = await staffedGroup();
      const stranger = await person();
      expectError(await call(admin, 'DELETE', `/groups/${group.id}`), 403, 'FORBIDDEN');
      expectError(await call(member, 'DELETE', `/groups/${group.id}`), 403, 'FORBIDDEN');
      expectError(await call(stranger, 'DELETE', `/groups/${group.id}`), 404, 'NOT_FOUND');
      expect(await getGroup(owner, group.id)).toMatchObject({ memberCount: 4 });
    });
  });

  describe('listing members', () => {
    it('lists members with role, mute, join time and presence: connected online, unconnected offline', async () => {
      const owner = await online();
      const [admin, idle] = await Promise.all([person(), person()]);
      const group = await createGroup(owner, [admin, idle]);
      await setRole(owner, group, admin, 'admin');

      // The owner hears a co-member's first device come online once it counts.
      const adminOnline = nextEvent(owner.socket, 'user_status', (e) => e.userId === admin.id && e.status === 'online');
      admin.socket = await admin.client.connect();
      openClients.push(admin.client);
      await adminOnline;

      const res = await call<{ items: Member[] }>(idle, 'GET', `/groups/${group.id}/members`);
      expect(res.status).toBe(200);
      const byId = new Map(res.body.items.map((m) => [m.user.id, m]));
      expect(res.body.items).toHaveLength(3);
      expect(byId.get(owner.id)).toMatchObject({ role: 'owner', mutedUntil: null });
      expect(byId.get(admin.id)).toEqual({
        user: expect.objectContaining({ id: admin.id, username: admin.username }),
        role: 'admin',
        mutedUntil: null,
        joinedAt: expect.stringMatching(ISO),
        presence: { status: 'online', lastSeenAt: null },
      });
      expect(byId.get(idle.id)).toMatchObject({ role: 'member', mutedUntil: null, presence: { status: 'offline', lastSeenAt: null } });
      for (const member of res.body.items) {
        expect(member.user).toMatchObject({ id: expect.any(String), username: expect.any(String), isGuest: false, createdAt: expect.stringMatching(ISO) });
        expect(JSON.stringify(member.user)).not.toMatch(/password|hash/i);
      }

      // Its last device going away turns it offline, with a last-seen time.
      const adminOffline = nextEvent(owner.socket, 'user_status', (e) => e.userId === admin.id && e.status === 'offline');
      admin.client.disconnect();
      await adminOffline;
      const after = new Map((await members(idle, group.id)).map((m) => [m.user.id, m]));
      expect(after.get(admin.id)?.presence).toEqual({ status: 'offline', lastSeenAt: expect.stringMatching(ISO) });
    });

    it('hides the member list from a non-member', async () => {
      const { group } = await staffedGroup();
      const stranger = await person();
      expectError(await call(stranger, 'GET', `/groups/${group.id}/members`), 404, 'NOT_FOUND');
      expectError(await call(stranger, 'GET', '/groups/00000000-0000-7000-8000-000000000000/members'), 404, 'NOT_FOUND');
    });
  });

  describe('adding members', () => {
    it('lets the owner and an admin add members and answers with the member list', async () => {
      const { group, owner, admin } = await staffedGroup();
      const [dave, erin] = await Promise.all([person(), person()]);
      await befriend(owner, dave);
      await befriend(admin, erin);
      const byOwner = await call<{ items: Member[] }>(owner, 'POST', `/groups/${group.id}/members`, { userIds: [dave.id] });
      expect(byOwner.status).toBe(200);
      expect(byOwner.body.items).toHaveLength(5);
      expect(byOwner.body.items.find((m) => m.user.id === dave.id)).toMatchObject({ role: 'member', mutedUntil: null, joinedAt: expect.stringMatching(ISO) });

      const byAdmin = await call<{ items: Member[] }>(admin, 'POST', `/groups/${group.id}/members`, { userIds: [erin.id] });
      expect(byAdmin.status).toBe(200);
      expect(byAdmin.body.items.map((m) => m.user.id)).toContain(erin.id);
      expect((await getGroup(erin, group.id)).memberCount).toBe(6);
      expect((await call<{ items: Group[] }>(erin, 'GET', '/groups')).body.items.map((g) => g.id)).toEqual([group.id]);
    });

    it('forbids a plain member from adding and hides the group from a non-member', async () => {
      const { group, owner, member } = await staffedGroup();
      const [stranger, dave] = await Promise.all([person(), person()]);
      expectError(await call(member, 'POST', `/groups/${group.id}/members`, { userIds: [dave.id] }), 403, 'FORBIDDEN');
      expectError(await call(stranger, 'POST', `/groups/${group.id}/members`, { userIds: [dave.id] }), 404, 'NOT_FOUND');
      expect((await getGroup(owner, group.id)).memberCount).toBe(4);
    });

    it('answers NOT_FOUND for an unknown user and adds nobody', async () => {
      const { group, owner } = await staffedGroup();
      const dave = await person();
      expectError(await call(owner, 'POST', `/groups/${group.id}/members`, { userIds: [dave.id, 'no-such-user'] }), 404, 'NOT_FOUND');
      expect((await getGroup(owner, group.id)).memberCount).toBe(4);
      expectError(await call(dave, 'GET', `/groups/${group.id}`), 404, 'NOT_FOUND');
    });

    it('rejects an empty or missing userIds with VALIDATION_FAILED', async () => {
      const { group, owner } = await staffedGroup();
      for (const body of [{}, { userIds: [] }, { userIds: [''] }]) {
        expectError(await call(owner, 'POST', `/groups/${group.id}/members`, body), 400, 'VALIDATION_FAILED');
      }
    });

    it('treats adding an existing member as a no-op: no duplicate, role kept, nobody told', async () => {
      const owner = await online();
      const member = await online();
      const group = await createGroup(owner, [member]);
      await setRole(owner, group, member, 'admin');
      const events = collect(member.socket, 'group_member');
      const res = await call<{ items: Member[] }>(owner, 'POST', `/groups/${group.id}/members`, { userIds: [member.id, member.id, owner.id] });
      expect(res.status).toBe(200);
      expect(res.body.items.map((m) => [m.user.id, m.role])).toEqual([
        [owner.id, 'owner'],
        [member.id, 'admin'],
      ]);
      expect((await getGroup(owner, group.id)).memberCount).toBe(2);
      await barrier(member.socket);
      expect(events).toEqual([]);
    });
  });

  describe('removing members and leaving', () => {
    it('lets a member leave, after which the group is hidden from them', async () => {
      const { group, owner, member } = await staffedGroup();
      const res = await call(member, 'DELETE', `/groups/${group.id}/members/${member.id}`);
      expect(res.status).toBe(204);
      expectError(await call(member, 'GET', `/groups/${group.id}`), 404, 'NOT_FOUND');
      expect((await call<{ items: Group[] }>(member, 'GET', '/groups')).body.items).toEqual([]);
      expect(await getGroup(owner, group.id)).toMatchObject({ memberCount: 3 });
      expect(Object.keys(await roles(owner, group.id))).not.toContain(member.id);
    });

    it('hands ownership to an admin when the owner leaves, even over an older member', async () => {
      const [owner, older, admin] = await Promise.all([person(), person(), person()]);
      const group = await createGroup(owner, [older]);
      await befriend(owner, admin);
      await call(owner, 'POST', `/groups/${group.id}/members`, { userIds: [admin.id] });
      await setRole(owner, group, admin, 'admin');

      expect((await call(owner, 'DELETE', `/groups/${group.id}/members/${owner.id}`)).status).toBe(204);
      expect(await getGroup(older, group.id)).toMatchObject({ ownerId: admin.id, memberCount: 2 });
      expect(await roles(older, group.id)).toEqual({ [older.id]: 'member', [admin.id]: 'owner' });
      expectError(await call(owner, 'GET', `/groups/${group.id}`), 404, 'NOT_FOUND');
      // The heir has the owner's powers now.
      expect((await call(admin, 'PATCH', `/groups/${group.id}/members/${older.id}`, { role: 'admin' })).status).toBe(200);
    });

    it('hands ownership to the oldest member when the owner leaves a group without admins', async () => {
      // Registered one after the other, so even a tie in join time breaks the same way (ids are time-ordered).
      const owner = await person();
      const first = await person();
      const second = await person();
      const group = await createGroup(owner);
      await befriend(owner, first, second);
      await call(owner, 'POST', `/groups/${group.id}/members`, { userIds: [first.id] });
      await call(owner, 'POST', `/groups/${group.id}/members`, { userIds: [second.id] });

      expect((await call(owner, 'DELETE', `/groups/${group.id}/members/${owner.id}`)).status).toBe(204);
      expect((await getGroup(second, group.id)).ownerId).toBe(first.id);
      expect(await roles(second, group.id)).toEqual({ [first.id]: 'owner', [second.id]: 'member' });
    });

    it('dissolves the group when its only member, the owner, leaves', async () => {
      const owner = await online();
      const group = await createGroup(owner);
      const told = membershipEvent(owner.socket, group.id, owner.id, 'dissolved');
      expect((await call(owner, 'DELETE', `/groups/${group.id}/members/${owner.id}`)).status).toBe(204);
      await told;
      expectError(await call(owner, 'GET', `/groups/${group.id}`), 404, 'NOT_FOUND');
    });

    it('lets the owner remove an admin and a member', async () => {
      const { group, owner, admin, member } = await staffedGroup();
      expect((await call(owner, 'DELETE', `/groups/${group.id}/members/${admin.id}`)).status).toBe(204);
      expect((await call(owner, 'DELETE', `/groups/${group.id}/members/${member.id}`)).status).toBe(204);
      expect((await getGroup(owner, group.id)).memberCount).toBe(2);
      expectError(await call(admin, 'GET', `/groups/${group.id}`), 404, 'NOT_FOUND');
      expectError(await call(member, 'GET', `/groups/${group.id}`), 404, 'NOT_FOUND');
    });

    it('lets an admin remove a plain member but not another admin or the owner', async () => {
      const { group, owner, admin, member, other } = await staffedGroup();
      await setRole(owner, group, other, 'admin');
      expect((await call(admin, 'DELETE', `/groups/${group.id}/members/${member.id}`)).status).toBe(204);
      expectError(await call(admin, 'DELETE', `/groups/${group.id}/members/${other.id}`), 403, 'FORBIDDEN');
      expectError(await call(admin, 'DELETE', `/groups/${group.id}/members/${owner.id}`), 403, 'FORBIDDEN');
      expect(await roles(owner, group.id)).toEqual({ [owner.id]: 'owner', [admin.id]: 'admin', [other.id]: 'admin' });
    });

    it('forbids a plain member from removing anyone else', async () => {
      const { group, owner, admin, member, other } = await staffedGroup();
      for (const target of [other, admin, owner]) {
        expectError(await call(member, 'DELETE', `/groups/${group.id}/members/${target.id}`), 403, 'FORBIDDEN');
      }
      expect((await getGroup(owner, group.id)).memberCount).toBe(4);
    });

    it('answers NOT_FOUND for removing a non-member, and hides the group from a non-member caller', async () => {
      const { group, owner, member } = await staffedGroup();
      const stranger = await person();
      expectError(await call(owner, 'DELETE', `/groups/${group.id}/members/${stranger.id}`), 404, 'NOT_FOUND');
      expectError(await call(owner, 'DELETE', `/groups/${group.id}/members/no-such-user`), 404, 'NOT_FOUND');
      expectError(await call(stranger, 'DELETE', `/groups/${group.id}/members/${member.id}`), 404, 'NOT_FOUND');
      expectError(await call(stranger, 'DELETE', `/groups/${group.id}/members/${stranger.id}`), 404, 'NOT_FOUND');
      expect((await getGroup(owner, group.id)).memberCount).toBe(4);
    });
  });

  describe('roles', () => {
    it('lets the owner make a member an admin and back, telling the members', async () => {
      const owner = await online();
      const member = await online();
      const group = await createGroup(owner, [member]);
      const told = membershipEvent(member.socket, group.id, member.id, 'role');
      const promoted = await setRole(owner, group, member, 'admin');
      expect(promoted).toMatchObject({ user: { id: member.id }, role: 'admin', mutedUntil: null });
      expect(await told).toMatchObject({ conversationId: group.conversationId, role: 'admin' });
      expect((await roles(member, group.id))[member.id]).toBe('admin');
      expect((await setRole(owner, group, member, 'member')).role).toBe('member');
    });

    it('forbids an admin or a member from changing roles', async () => {
      const { group, owner, admin, member, other } = await staffedGroup();
      expectError(await call(admin, 'PATCH', `/groups/${group.id}/members/${member.id}`, { role: 'admin' }), 403, 'FORBIDDEN');
      expectError(await call(admin, 'PATCH', `/groups/${group.id}/members/${admin.id}`, { role: 'owner' }), 403, 'FORBIDDEN');
      expectError(await call(member, 'PATCH', `/groups/${group.id}/members/${member.id}`, { role: 'admin' }), 403, 'FORBIDDEN');
      expectError(await call(member, 'PATCH', `/groups/${group.id}/members/${other.id}`, { role: 'admin' }), 403, 'FORBIDDEN');
      expect(await roles(owner, group.id)).toEqual({ [owner.id]: 'owner', [admin.id]: 'admin', [member.id]: 'member', [other.id]: 'member' });
    });

    it('hands the group over with role owner: the old owner becomes an admin', async () => {
      const { group, owner, member } = await staffedGroup();
      const res = await call<Member>(owner, 'PATCH', `/groups/${group.id}/members/${member.id}`, { role: 'owner' });
      expect(res.status).toBe(200);
      expect(res.body).toMatchObject({ user: { id: member.id }, role: 'owner' });
      expect((await getGroup(owner, group.id)).ownerId).toBe(member.id);
      const after = await roles(owner, group.id);
      expect(after[owner.id]).toBe('admin');
      expect(after[member.id]).toBe('owner');
      expect(Object.values(after).filter((role) => role === 'owner')).toHaveLength(1);
      // Only the new owner can dissolve now.
      expectError(await call(owner, 'DELETE', `/groups/${group.id}`), 403, 'FORBIDDEN');
      expect((await call(member, 'DELETE', `/groups/${group.id}`)).status).toBe(204);
    });

    it('answers NOT_FOUND for a role change of a non-member, or by a non-member', async () => {
      const { group, owner, member } = await staffedGroup();
      const stranger = await person();
      expectError(await call(owner, 'PATCH', `/groups/${group.id}/members/${stranger.id}`, { role: 'admin' }), 404, 'NOT_FOUND');
      expectError(await call(stranger, 'PATCH', `/groups/${group.id}/members/${member.id}`, { role: 'admin' }), 404, 'NOT_FOUND');
    });

    it('rejects an unknown role, an invalid mutedUntil or an empty body with VALIDATION_FAILED', async () => {
      const { group, owner, member } = await staffedGroup();
      for (const body of [{}, { role: 'king' }, { role: null }, { mutedUntil: 'tomorrow' }, { mutedUntil: 1_900_000_000_000 }, { mutedUntil: '2030-01-01' }]) {
        expectError(await call(owner, 'PATCH', `/groups/${group.id}/members/${member.id}`, body), 400, 'VALIDATION_FAILED');
      }
      expect((await members(owner, group.id)).find((m) => m.user.id === member.id)).toMatchObject({ role: 'member', mutedUntil: null });
    });
  });

  describe('muting', () => {
    it('stops a muted member sending by socket or REST with FORBIDDEN until the mute is lifted', async () => {
      const owner = await online();
      const member = await online();
      const watcher = await online();
      const group = await createGroup(owner, [member, watcher]);
      const until = new Date(Date.now() + 60 * 60_000).toISOString();

      const muted = await call<Member>(owner, 'PATCH', `/groups/${group.id}/members/${member.id}`, { mutedUntil: until });
      expect(muted.status).toBe(200);
      expect(muted.body).toMatchObject({ user: { id: member.id }, role: 'member', mutedUntil: until });
      expect((await members(watcher, group.id)).find((m) => m.user.id === member.id)?.mutedUntil).toBe(until);

      const watcherChats = collect(watcher.socket, 'chat');
      expect(await sendOverSocket(member, group.conversationId, 'let me speak')).toMatchObject({ ok: false, error: { code: 'FORBIDDEN' } });
      expectError(await sendOverRest(member, group.conversationId, 'let me speak'), 403, 'FORBIDDEN');
      expect(member.socket.connected).toBe(true);
      await barrier(watcher.socket);
      expect(watcherChats).toEqual([]);
      // Only the group's own events (created, members added) are in its history: nothing the muted member said.
      expect(
        (await call<{ items: Array<{ type: string }> }>(owner, 'GET', `/conversations/${group.conversationId}/messages`)).body.items.filter((m) => m.type !== 'system'),
      ).toEqual([]);

      // The muted member still reads along.
      const stillReads = nextEvent(member.socket, 'chat', (m) => m.content === 'owner speaks');
      expect((await sendOverSocket(owner, group.conversationId, 'owner speaks')).ok).toBe(true);
      await stillReads;

      const lifted = await call<Member>(owner, 'PATCH', `/groups/${group.id}/members/${member.id}`, { mutedUntil: null });
      expect(lifted.status).toBe(200);
      expect(lifted.body.mutedUntil).toBeNull();
      const heard = nextEvent(watcher.socket, 'chat', (m) => m.content === 'free again 🎉');
      const ack = await sendOverSocket(member, group.conversationId, 'free again 🎉');
      expect(ack).toMatchObject({ ok: true, data: { senderId: member.id, content: 'free again 🎉' } });
      expect((await heard).senderId).toBe(member.id);
      expect((await sendOverRest(member, group.conversationId, 'and over REST')).status).toBe(201);
    });

    it('lets an admin mute a plain member, and a mute in the past does not silence', async () => {
      const { group, admin, member } = await staffedGroup();
      const until = new Date(Date.now() + 10 * 60_000).toISOString();
      const res = await call<Member>(admin, 'PATCH', `/groups/${group.id}/members/${member.id}`, { mutedUntil: until });
      expect(res.status).toBe(200);
      expect(res.body.mutedUntil).toBe(until);
      expectError(await sendOverRest(member, group.conversationId, 'hello?'), 403, 'FORBIDDEN');

      const past = new Date(Date.now() - 60_000).toISOString();
      expect((await call<Member>(admin, 'PATCH', `/groups/${group.id}/members/${member.id}`, { mutedUntil: past })).body.mutedUntil).toBe(past);
      expect((await sendOverRest(member, group.conversationId, 'hello!')).status).toBe(201);
    });

    it('tells the group when a member is muted', async () => {
      const owner = await online();
      const member = await online();
      const group = await createGroup(owner, [member]);
      const until = new Date(Date.now() + 60_000).toISOString();
      const told = membershipEvent(member.socket, group.id, member.id, 'muted');
      await call(owner, 'PATCH', `/groups/${group.id}/members/${member.id}`, { mutedUntil: until });
      expect(await told).toMatchObject({ mutedUntil: until });
    });

    it('forbids a member from muting anyone, and an admin from muting an admin, the owner or themself', async () => {
      const { group, owner, admin, member, other } = await staffedGroup();
      const until = new Date(Date.now() + 60_000).toISOString();
      for (const target of [other, admin, owner]) {
        expectError(await call(member, 'PATCH', `/groups/${group.id}/members/${target.id}`, { mutedUntil: until }), 403, 'FORBIDDEN');
      }
      await setRole(owner, group, other, 'admin');
      for (const target of [other, owner, admin]) {
        expectError(await call(admin, 'PATCH', `/groups/${group.id}/members/${target.id}`, { mutedUntil: until }), 403, 'FORBIDDEN');
      }
      expect((await members(owner, group.id)).every((m) => m.mutedUntil === null)).toBe(true);
    });
  });

  describe('realtime membership', () => {
    it('delivers the group’s chat to members named at creation on every device, without reconnecting', async () => {
      const owner = await online();
      const bob = await online();
      const bobTablet = await device(bob);
      const bobEvents = [collect(bob.socket, 'group_member'), collect(bobTablet, 'group_member')];
      const group = await createGroup(owner, [bob]);
      const got = [bob.socket, bobTablet].map((socket) => nextEvent(socket, 'chat', (m) => m.conversationId === group.conversationId));
      expect((await sendOverSocket(owner, group.conversationId, 'welcome 🎈')).ok).toBe(true);
      for (const message of await Promise.all(got)) expect(message).toMatchObject({ senderId: owner.id, content: 'welcome 🎈' });
      await Promise.all([bob.socket, bobTablet].map((socket) => barrier(socket)));
      for (const events of bobEvents) {
        expect(events).toEqual([{ groupId: group.id, conversationId: group.conversationId, userId: bob.id, change: 'added', role: 'member' }]);
      }
    });

    it('delivers the group’s chat to an added member on every device at once, and tells everyone once', async () => {
      const owner = await online();
      const member = await online();
      const newcomer = await online();
      const newcomerTablet = await device(newcomer);
      const group = await createGroup(owner, [member]);
      await befriend(owner, newcomer);

      const eventLogs = [member.socket, newcomer.socket, newcomerTablet].map((socket) => collect(socket, 'group_member'));
      const told = [member.socket, newcomer.socket, newcomerTablet].map((socket) => membershipEvent(socket, group.id, newcomer.id, 'added'));
      expect((await call(owner, 'POST', `/groups/${group.id}/members`, { userIds: [newcomer.id] })).status).toBe(200);
      // No waiting for the event: the very next message must already reach both devices.
      const got = [newcomer.socket, newcomerTablet].map((socket) => nextEvent(socket, 'chat', (m) => m.content === 'hello newcomer'));
      expect((await sendOverSocket(owner, group.conversationId, 'hello newcomer')).ok).toBe(true);
      for (const message of await Promise.all(got)) expect(message.senderId).toBe(owner.id);
      for (const event of await Promise.all(told)) expect(event).toMatchObject({ conversationId: group.conversationId, role: 'member' });

      // The newcomer can talk and read history too.
      const memberHears = nextEvent(member.socket, 'chat', (m) => m.content === 'thanks 谢谢');
      expect((await sendOverSocket(newcomer, group.conversationId, 'thanks 谢谢')).ok).toBe(true);
      await memberHears;
      const history = await call<{ items: Array<{ content: string; type: string }> }>(newcomer, 'GET', `/conversations/${group.conversationId}/messages`);
      // Besides the group's events (system messages, tested in group-system-messages.test.ts).
      expect(history.body.items.filter((m) => m.type !== 'system').map((m) => m.content)).toEqual(['thanks 谢谢', 'hello newcomer']);
      await Promise.all([member.socket, newcomer.socket, newcomerTablet].map((socket) => barrier(socket)));
      for (const events of eventLogs) expect(events).toHaveLength(1);
    });

    it('stops delivering to a removed member on every device at once, tells them and the rest, and closes history', async () => {
      const owner = await online();
      const stayer = await online();
      const removed = await online();
      const removedTablet = await device(removed);
      const group = await createGroup(owner, [stayer, removed]);
      const firstSeen = nextEvent(removedTablet, 'chat', (m) => m.content === 'before');
      await sendOverSocket(owner, group.conversationId, 'before');
      await firstSeen;

      const removedEvents = [collect(removed.socket, 'group_member'), collect(removedTablet, 'group_member')];
      const told = [removed.socket, removedTablet, stayer.socket].map((socket) => membershipEvent(socket, group.id, removed.id, 'removed'));
      expect((await call(owner, 'DELETE', `/groups/${group.id}/members/${removed.id}`)).status).toBe(204);

      const removedChats = [collect(removed.socket, 'chat'), collect(removedTablet, 'chat')];
      const stayerHears = nextEvent(stayer.socket, 'chat', (m) => m.content === 'after');
      expect((await sendOverSocket(owner, group.conversationId, 'after')).ok).toBe(true);
      await stayerHears;
      for (const event of await Promise.all(told)) expect(event).toEqual({ groupId: group.id, conversationId: group.conversationId, userId: removed.id, change: 'removed' });
      await Promise.all([removed.socket, removedTablet].map((socket) => barrier(socket)));
      for (const chats of removedChats) expect(chats).toEqual([]);
      for (const events of removedEvents) expect(events).toHaveLength(1);

      expectError(await call(removed, 'GET', `/conversations/${group.conversationId}/messages`), 404, 'NOT_FOUND');
      expect(await sendOverSocket(removed, group.conversationId, 'let me back')).toMatchObject({ ok: false, error: { code: 'NOT_FOUND' } });
      const conversations = await call<{ items: Array<{ id: string }> }>(removed, 'GET', '/conversations');
      expect(conversations.body.items.map((c) => c.id)).not.toContain(group.conversationId);
    });

    it('stops delivering to a member who leaves on every device at once, and tells the rest', async () => {
      const owner = await online();
      const leaver = await online();
      const leaverTablet = await device(leaver);
      const group = await createGroup(owner, [leaver]);

      const leaverEvents = [collect(leaver.socket, 'group_member'), collect(leaverTablet, 'group_member')];
      const told = [leaver.socket, leaverTablet, owner.socket].map((socket) => membershipEvent(socket, group.id, leaver.id, 'left'));
      expect((await call(leaver, 'DELETE', `/groups/${group.id}/members/${leaver.id}`)).status).toBe(204);
      const leaverChats = [collect(leaver.socket, 'chat'), collect(leaverTablet, 'chat')];
      const ack = await sendOverSocket(owner, group.conversationId, 'anyone left?');
      expect(ack.ok).toBe(true);
      await Promise.all(told);
      await Promise.all([leaver.socket, leaverTablet].map((socket) => barrier(socket)));
      for (const chats of leaverChats) expect(chats).toEqual([]);
      for (const events of leaverEvents) expect(events).toHaveLength(1);
      expectError(await call(leaver, 'GET', `/conversations/${group.conversationId}/messages`), 404, 'NOT_FOUND');
    });

    it('keeps delivering to a member who was removed and added back, on every device', async () => {
      const owner = await online();
      const member = await online();
      const memberTablet = await device(member);
      await befriend(owner, member);
      const group = await createGroup(owner, [member]);
      await call(owner, 'DELETE', `/groups/${group.id}/members/${member.id}`);
      await call(owner, 'POST', `/groups/${group.id}/members`, { userIds: [member.id] });
      const got = [member.socket, memberTablet].map((socket) => nextEvent(socket, 'chat', (m) => m.content === 'welcome back'));
      expect((await sendOverSocket(owner, group.conversationId, 'welcome back')).ok).toBe(true);
      await Promise.all(got);
      // History is readable again (the messages were never the member's to lose).
      expect((await call(member, 'GET', `/conversations/${group.conversationId}/messages`)).status).toBe(200);
    });

    it('tells the members when the owner leaves and ownership passes on', async () => {
      const owner = await online();
      const heir = await online();
      const group = await createGroup(owner, [heir]);
      const becameOwner = membershipEvent(heir.socket, group.id, heir.id, 'role');
      const ownerLeft = membershipEvent(heir.socket, group.id, owner.id, 'left');
      await call(owner, 'DELETE', `/groups/${group.id}/members/${owner.id}`);
      expect(await becameOwner).toMatchObject({ role: 'owner' });
      await ownerLeft;
      const ownerChats = collect(owner.socket, 'chat');
      expect((await sendOverSocket(heir, group.conversationId, 'mine now')).ok).toBe(true);
      await barrier(owner.socket);
      expect(ownerChats).toEqual([]);
    });
  });
});
