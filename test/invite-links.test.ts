import { afterEach, describe, expect, it } from 'vitest';
import type { Group, InviteLink, InvitePreview, MembershipEvent, ParleyClient, ParleySocket } from '../src/client/index.js';
import { type ApiResponse, expectError } from './support/http.js';
import { barrier, collect, connectedUser, nextEvent, registerClient } from './support/realtime.js';
import { storageLabel } from './support/server.js';
import { useTestServer } from './support/suite.js';

const ISO = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;
/** A code of the right shape that no link has. */
const unknownCode = () => Buffer.from(crypto.getRandomValues(new Uint8Array(24))).toString('base64url');

interface Person {
  id: string;
  username: string;
  client: ParleyClient;
  socket?: ParleySocket;
}

/** The people, group and REST helpers of one suite. */
function fixtures(suite: ReturnType<typeof useTestServer>) {
  const openClients: ParleyClient[] = [];
  afterEach(() => {
    for (const client of openClients.splice(0)) client.disconnect();
  });
  const call = <T = any>(who: Person, method: string, path: string, body?: unknown): Promise<ApiResponse<T>> => suite.api<T>(method, path, { token: who.client.accessToken, body });
  return {
    call,
    person: (): Promise<Person> => registerClient(suite.server.url),
    async online(): Promise<Person & { socket: ParleySocket }> {
      const user = await connectedUser(suite.server.url);
      openClients.push(user.client);
      return user;
    },
    /** A group of `owner` (nobody else in it); `admins` join through invitations and are made admins. */
    async group(owner: Person, admins: Person[] = [], name = 'Climbers'): Promise<Group> {
      const res = await call<Group & { invited: Array<{ id: string; inviteeId: string }> }>(owner, 'POST', '/groups', { name, memberIds: admins.map((a) => a.id) });
      expect(res.status).toBe(201);
      for (const admin of admins) {
        const invitation = res.body.invited.find((i) => i.inviteeId === admin.id);
        expect((await call(admin, 'POST', `/group-invitations/${invitation?.id}/accept`)).status).toBe(200);
        expect((await call(owner, 'PATCH', `/groups/${res.body.id}/members/${admin.id}`, { role: 'admin' })).status).toBe(200);
      }
      return res.body;
    },
    async link(by: Person, groupId: string, body: object = {}): Promise<InviteLink> {
      const res = await call<InviteLink>(by, 'POST', `/groups/${groupId}/invite-links`, body);
      expect(res.status).toBe(201);
      return res.body;
    },
    async join(who: Person, code: string): Promise<Group> {
      const res = await call<Group>(who, 'POST', `/invites/${code}/accept`);
      expect(res.status).toBe(200);
      return res.body;
    },
    async memberIds(who: Person, groupId: string): Promise<string[]> {
      const res = await call<{ items: Array<{ user: { id: string } }> }>(who, 'GET', `/groups/${groupId}/members`);
      expect(res.status).toBe(200);
      return res.body.items.map((m) => m.user.id);
    },
  };
}

describe(`invite links (${storageLabel})`, () => {
  const suite = useTestServer();
  const { call, person, online, group, link, join, memberIds } = fixtures(suite);

  describe('making, listing and revoking', () => {
    it('lets the owner and admins make links with an expiry and a use limit, listed newest first with their creator and uses', async () => {
      const [owner, admin] = await Promise.all([person(), person()]);
      const g = await group(owner, [admin]);
      const plain = await link(owner, g.id);
      expect(plain).toEqual({
        id: expect.any(String),
        groupId: g.id,
        code: expect.stringMatching(/^[A-Za-z0-9_-]{32}$/),
        creator: expect.objectContaining({ id: owner.id, username: owner.username }),
        createdAt: expect.stringMatching(ISO),
        expiresAt: null,
        maxUses: null,
        uses: 0,
        revokedAt: null,
      });
      const limited = await link(admin, g.id, { expiresInSeconds: 3600, maxUses: 5 });
      expect(limited.creator.id).toBe(admin.id);
      expect(Date.parse(limited.expiresAt ?? '') - Date.parse(limited.createdAt)).toBe(3_600_000);
      expect(limited.maxUses).toBe(5);
      expect(limited.code).not.toBe(plain.code);

      const first = await call<{ items: InviteLink[]; nextCursor: string | null }>(admin, 'GET', `/groups/${g.id}/invite-links?limit=1`);
      expect(first.status).toBe(200);
      expect(first.body.items).toEqual([limited]);
      const second = await call<{ items: InviteLink[]; nextCursor: string | null }>(admin, 'GET', `/groups/${g.id}/invite-links?limit=1&cursor=${first.body.nextCursor}`);
      expect(second.body).toEqual({ items: [plain], nextCursor: null });
      expectError(await call(admin, 'GET', `/groups/${g.id}/invite-links?cursor=nonsense`), 400, 'VALIDATION_FAILED');
    });

    it('refuses plain members (FORBIDDEN) and strangers (NOT_FOUND), and bad bodies', async () => {
      const [owner, stranger] = await Promise.all([person(), person()]);
      const g = await group(owner);
      const existing = await link(owner, g.id);
      const member = await person();
      await join(member, existing.code);
      expectError(await call(member, 'POST', `/groups/${g.id}/invite-links`, {}), 403, 'FORBIDDEN');
      expectError(await call(member, 'GET', `/groups/${g.id}/invite-links`), 403, 'FORBIDDEN');
      expectError(await call(member, 'DELETE', `/groups/${g.id}/invite-links/${existing.id}`), 403, 'FORBIDDEN');
      expectError(await call(stranger, 'POST', `/groups/${g.id}/invite-links`, {}), 404, 'NOT_FOUND');
      expectError(await call(stranger, 'GET', `/groups/${g.id}/invite-links`), 404, 'NOT_FOUND');
      expectError(await call(stranger, 'DELETE', `/groups/${g.id}/invite-links/${existing.id}`), 404, 'NOT_FOUND');
      expectError(await call(owner, 'POST', `/groups/${g.id}/invite-links`, { maxUses: 0 }), 400, 'VALIDATION_FAILED');
      expectError(await call(owner, 'POST', `/groups/${g.id}/invite-links`, { expiresInSeconds: 5 }), 400, 'VALIDATION_FAILED');
      expectError(await call(owner, 'POST', `/groups/${g.id}/invite-links`, { code: 'mine' }), 400, 'VALIDATION_FAILED');
    });

    it("a revoked link opens nothing (NOT_FOUND, like an unknown code) and stays listed with its uses; another group's link id is NOT_FOUND", async () => {
      const [owner, joiner, late] = await Promise.all([person(), person(), person()]);
      const g = await group(owner);
      const other = await group(owner, [], 'Other');
      const l = await link(owner, g.id);
      await join(joiner, l.code);
      expectError(await call(owner, 'DELETE', `/groups/${other.id}/invite-links/${l.id}`), 404, 'NOT_FOUND');
      expect((await call(owner, 'DELETE', `/groups/${g.id}/invite-links/${l.id}`)).status).toBe(204);
      expect((await call(owner, 'DELETE', `/groups/${g.id}/invite-links/${l.id}`)).status).toBe(204);
      expectError(await call(late, 'GET', `/invites/${l.code}`), 404, 'NOT_FOUND');
      expectError(await call(late, 'POST', `/invites/${l.code}/accept`), 404, 'NOT_FOUND');
      expectError(await call(late, 'GET', `/invites/${unknownCode()}`), 404, 'NOT_FOUND');
      expectError(await call(late, 'GET', '/invites/not a code!'), 400, 'VALIDATION_FAILED');
      const listed = await call<{ items: InviteLink[] }>(owner, 'GET', `/groups/${g.id}/invite-links`);
      expect(listed.body.items).toEqual([{ ...l, uses: 1, revokedAt: expect.stringMatching(ISO) }]);
      expect(await memberIds(owner, g.id)).not.toContain(late.id);
    });

    it('links die with the group, and stop working when their creator is no longer an owner or admin', async () => {
      const [owner, admin, joiner] = await Promise.all([person(), person(), person()]);
      const g = await group(owner, [admin]);
      const byAdmin = await link(admin, g.id);
      expect((await call(owner, 'PATCH', `/groups/${g.id}/members/${admin.id}`, { role: 'member' })).status).toBe(200);
      expectError(await call(joiner, 'GET', `/invites/${byAdmin.code}`), 404, 'NOT_FOUND');
      expectError(await call(joiner, 'POST', `/invites/${byAdmin.code}/accept`), 404, 'NOT_FOUND');
      const byOwner = await link(owner, g.id);
      expect((await call(owner, 'DELETE', `/groups/${g.id}`)).status).toBe(204);
      expectError(await call(joiner, 'POST', `/invites/${byOwner.code}/accept`), 404, 'NOT_FOUND');
    });
  });

  describe('previewing and joining', () => {
    it("shows a signed-in non-member the group's name and size and nothing more", async () => {
      const [owner, admin, visitor] = await Promise.all([person(), person(), person()]);
      const g = await group(owner, [admin], 'Night owls');
      const l = await link(admin, g.id);
      const preview = await call<InvitePreview>(visitor, 'GET', `/invites/${l.code}`);
      expect(preview.status).toBe(200);
      expect(preview.body).toEqual({ group: { id: g.id, name: 'Night owls', memberCount: 2 }, isMember: false });
      expect((await call<InvitePreview>(admin, 'GET', `/invites/${l.code}`)).body.isMember).toBe(true);
      expectError(await suite.api('GET', `/invites/${l.code}`), 401, 'UNAUTHORIZED');
      // Looking is not joining.
      expect(await memberIds(owner, g.id)).not.toContain(visitor.id);
    });

    it('joins on accept: every member and every device of the joiner hear group_member added, as after an add', async () => {
      const [owner, joiner] = await Promise.all([online(), online()]);
      const g = await group(owner);
      const l = await link(owner, g.id);
      const isJoin = (e: MembershipEvent) => e.groupId === g.id && e.userId === joiner.id && e.change === 'added';
      const toOwner = nextEvent(owner.socket, 'group_member', isJoin);
      const toJoiner = nextEvent(joiner.socket, 'group_member', isJoin);
      const joined = await join(joiner, l.code);
      expect(joined).toMatchObject({ id: g.id, name: 'Climbers', memberCount: 2, conversationId: g.conversationId });
      expect(await toOwner).toEqual({ groupId: g.id, conversationId: g.conversationId, userId: joiner.id, change: 'added', role: 'member' });
      await toJoiner;
      expect(await memberIds(owner, g.id)).toEqual([owner.id, joiner.id]);
      // The joiner's socket is in the group's room at once: the next message reaches it.
      const delivered = nextEvent(joiner.socket, 'chat', (m) => m.conversationId === g.conversationId);
      expect((await call(owner, 'POST', `/conversations/${g.conversationId}/messages`, { type: 'text', content: 'welcome', clientMsgId: 'w1' })).status).toBe(201);
      expect((await delivered).content).toBe('welcome');
    });

    it('accepting again as a member is an idempotent success that uses nothing and tells nobody', async () => {
      const [owner, joiner] = await Promise.all([online(), person()]);
      const g = await group(owner);
      const l = await link(owner, g.id, { maxUses: 1 });
      await join(joiner, l.code);
      await barrier(owner.socket);
      const events = collect(owner.socket, 'group_member');
      expect((await join(joiner, l.code)).id).toBe(g.id);
      expect((await join(owner, l.code)).memberCount).toBe(2);
      await barrier(owner.socket);
      expect(events).toEqual([]);
      const listed = await call<{ items: InviteLink[] }>(owner, 'GET', `/groups/${g.id}/invite-links`);
      expect(listed.body.items[0]?.uses).toBe(1);
    });

    it('a link with a use limit admits that many people, then answers INVITE_USED_UP', async () => {
      const [owner, a, b, c] = await Promise.all([person(), person(), person(), person()]);
      const g = await group(owner);
      const l = await link(owner, g.id, { maxUses: 2 });
      await join(a, l.code);
      await join(b, l.code);
      expectError(await call(c, 'GET', `/invites/${l.code}`), 410, 'INVITE_USED_UP');
      expectError(await call(c, 'POST', `/invites/${l.code}/accept`), 410, 'INVITE_USED_UP');
      expect(await memberIds(owner, g.id)).toEqual([owner.id, a.id, b.id]);
    });

    it('the last use goes to one of two people racing for it', async () => {
      const [owner, a, b] = await Promise.all([person(), person(), person()]);
      const g = await group(owner);
      const l = await link(owner, g.id, { maxUses: 1 });
      const answers = await Promise.all([call(a, 'POST', `/invites/${l.code}/accept`), call(b, 'POST', `/invites/${l.code}/accept`)]);
      expect(answers.map((r) => r.status).sort()).toEqual([200, 410]);
      expect(await memberIds(owner, g.id)).toHaveLength(2);
    });

    it("looks unknown to someone blocked either way with the link's creator, revealing no block", async () => {
      const [owner, blocker, blocked] = await Promise.all([person(), person(), person()]);
      const g = await group(owner);
      const l = await link(owner, g.id);
      expect((await call(blocker, 'POST', '/blocks', { userId: owner.id })).status).toBe(204);
      expect((await call(owner, 'POST', '/blocks', { userId: blocked.id })).status).toBe(204);
      for (const who of [blocker, blocked]) {
        expectError(await call(who, 'GET', `/invites/${l.code}`), 404, 'NOT_FOUND');
        expectError(await call(who, 'POST', `/invites/${l.code}/accept`), 404, 'NOT_FOUND');
      }
      expect(await memberIds(owner, g.id)).toEqual([owner.id]);
    });

    it('does not let back in a member an owner or admin removed, but does let back someone who left', async () => {
      const [owner, removed, leaver] = await Promise.all([person(), person(), person()]);
      const g = await group(owner);
      const l = await link(owner, g.id);
      await join(removed, l.code);
      await join(leaver, l.code);
      expect((await call(owner, 'DELETE', `/groups/${g.id}/members/${removed.id}`)).status).toBe(204);
      expect((await call(leaver, 'DELETE', `/groups/${g.id}/members/${leaver.id}`)).status).toBe(204);
      expectError(await call(removed, 'POST', `/invites/${l.code}/accept`), 403, 'FORBIDDEN');
      expectError(await call(removed, 'POST', `/invites/${(await link(owner, g.id)).code}/accept`), 403, 'FORBIDDEN');
      await join(leaver, l.code);
      expect(await memberIds(owner, g.id)).toEqual([owner.id, leaver.id]);
    });
  });
});

describe(`invite link expiry (${storageLabel})`, () => {
  let shiftMs = 0;
  const clock = { now: () => new Date(Date.now() + shiftMs) };
  const suite = useTestServer({}, { build: { jobs: false, clock } });
  const { call, person, group, link, join } = fixtures(suite);

  it('admits people until the expiry, then answers INVITE_EXPIRED; members still get their group back', async () => {
    const [owner, early, late] = await Promise.all([person(), person(), person()]);
    const g = await group(owner);
    const l = await link(owner, g.id, { expiresInSeconds: 60 });
    shiftMs = 59_000;
    await join(early, l.code);
    shiftMs = 60_000;
    expectError(await call(late, 'GET', `/invites/${l.code}`), 410, 'INVITE_EXPIRED');
    expectError(await call(late, 'POST', `/invites/${l.code}/accept`), 410, 'INVITE_EXPIRED');
    expect((await join(early, l.code)).memberCount).toBe(2);
    shiftMs = 0;
  });
});

describe(`invite link attempts are rate-limited (${storageLabel})`, () => {
  const suite = useTestServer({ INVITE_LINK_ATTEMPTS_PER_MINUTE: '5', INVITE_LINK_ATTEMPTS_PER_MINUTE_IP: '8' });
  const { call, person } = fixtures(suite);

  it('throttles a user guessing codes, then the address they guess from, with 429 RATE_LIMITED and Retry-After', async () => {
    const [guesser, accomplice] = await Promise.all([person(), person()]);
    for (let i = 0; i < 5; i++)
      expectError(await call(guesser, i % 2 ? 'GET' : 'POST', i % 2 ? `/invites/${unknownCode()}` : `/invites/${unknownCode()}/accept`), 404, 'NOT_FOUND');
    const refused = await call(guesser, 'POST', `/invites/${unknownCode()}/accept`);
    expectError(refused, 429, 'RATE_LIMITED');
    expect(Number(refused.headers.get('retry-after'))).toBeGreaterThan(0);
    // A second account on the same address shares the address's budget (8 a minute; the guesser spent 5).
    expectError(await call(accomplice, 'GET', `/invites/${unknownCode()}`), 404, 'NOT_FOUND');
    expectError(await call(accomplice, 'GET', `/invites/${unknownCode()}`), 404, 'NOT_FOUND');
    expectError(await call(accomplice, 'GET', `/invites/${unknownCode()}`), 404, 'NOT_FOUND');
    expectError(await call(accomplice, 'GET', `/invites/${unknownCode()}`), 429, 'RATE_LIMITED');
  });
});
