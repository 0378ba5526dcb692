import type { MembershipEvent } from '../../contract/events.js';
import type { SystemEvent } from '../../contract/messages.js';
import type { Cache } from '../../platform/cache/cache.js';
import type { ClusterBus } from '../../platform/realtime/cluster-bus.js';
import type { Publisher } from '../../platform/realtime/publisher.js';
import type { Actor } from '../../shared/actor.js';
import type { Clock } from '../../shared/clock.js';
import { AppError } from '../../shared/errors.js';
import { newId } from '../../shared/ids.js';
import { decodeTimeIdCursor, encodeTimeIdCursor, type Page } from '../../shared/pagination.js';
import { isoOrNull as iso } from '../../shared/time.js';
import type { PresenceReader } from '../friends/index.js';
import type { Policy } from '../policy/index.js';
import { toUser, type UsersRepository } from '../users/index.js';
import { type GroupRow, type GroupsRepository, groupConversationId, type MemberRow } from './groups.repository.js';
import type { CreatedGroup, CreateGroupBody, Group, GroupInvitation, Member, Role, UpdateGroupBody, UpdateMemberBody } from './groups.schemas.js';
import type { InvitationsRepository } from './invitations.repository.js';
import { createInvitationsService, type InvitationLimits } from './invitations.service.js';
import type { InviteLinksRepository } from './invite-links.repository.js';
import { createInviteLinksService, type InviteLinkLimits } from './invite-links.service.js';

export const MAX_GROUP_MEMBERS = 2000;

export interface GroupsServiceDeps {
  groups: GroupsRepository;
  users: UsersRepository;
  publisher: Publisher;
  clock: Clock;
  presence?: PresenceReader;
  /** Who may bring whom into a group (friends are added, others invited, blocks refuse) and see whose presence. */
  policy: Policy;
  invitations: InvitationsRepository;
  cache: Cache;
  invitationLimits: Omit<InvitationLimits, 'maxMembers'>;
  /** Carries membership-cache invalidations to the other processes. */
  bus?: ClusterBus;
  inviteLinks: InviteLinksRepository;
  inviteLinkLimits: Omit<InviteLinkLimits, 'maxMembers'>;
  /**
   * Records a group event in the group's conversation as a `system` message sent by `event.actorId`
   * (the messaging module, bound in app.ts: messaging depends on this module, not the reverse).
   */
  announce?: (groupId: string, event: SystemEvent) => Promise<void>;
}

/** How long a cached member list may be trusted if an invalidation notice was missed. */
const MEMBERSHIP_TTL_MS = 60_000;
const MEMBERSHIP_CACHE_GROUPS = 10_000;
const INVALIDATE_TOPIC = 'groups:membership';

const RANK: Record<Role, number> = { owner: 3, admin: 2, member: 1 };

export function createGroupsService(deps: GroupsServiceDeps) {
  const { groups, users, publisher, clock } = deps;

  /**
   * Member lists of recently active groups, so sending a message reads no membership from the
   * database. Every membership change drops the group here and, through the bus, everywhere.
   */
  const memberCache = new Map<string, { loadedAt: number; members: Map<string, MemberRow> }>();
  let changes = 0;
  const forget = (groupId: string) => {
    changes++;
    memberCache.delete(groupId);
  };
  deps.bus?.subscribe(INVALIDATE_TOPIC, forget);

  async function cachedMembers(groupId: string): Promise<Map<string, MemberRow>> {
    const now = Date.now();
    const hit = memberCache.get(groupId);
    if (hit && now - hit.loadedAt < MEMBERSHIP_TTL_MS) return hit.members;
    const loadedAt = now;
    const changesBefore = changes;
    const members = new Map((await groups.listMembers(groupId)).map((row) => [row.user_id, row]));
    if (memberCache.size >= MEMBERSHIP_CACHE_GROUPS) {
      const oldest = memberCache.keys().next().value;
      if (oldest !== undefined) memberCache.delete(oldest);
    }
    // A change that landed while loading may make this list stale: serve it once, do not keep it.
    if (changes === changesBefore) memberCache.set(groupId, { loadedAt, members });
    return members;
  }

  function invalidate(groupId: string): void {
    if (deps.bus) deps.bus.publish(INVALIDATE_TOPIC, groupId);
    else forget(groupId);
  }

  function toGroup(row: GroupRow, memberCount: number): Group {
    return {
      id: row.id,
      name: row.name,
      description: row.description,
      ownerId: row.owner_id,
      memberCount,
      conversationId: groupConversationId(row.id),
      createdAt: iso(Number(row.created_at)) as string,
    };
  }

  /**
   * Member rows as `viewerId` sees them: profile, role, mute and live presence. A member blocked
   * either way with the viewer shows as offline with no last-seen: a shared group leaks no presence.
   */
  async function toMembers(viewerId: string, rows: readonly MemberRow[]): Promise<Member[]> {
    const ids = rows.map((row) => row.user_id);
    const [people, presence, blocked] = await Promise.all([
      users.findByIds(ids),
      deps.presence?.presenceOf(ids) ?? new Map<string, 'online' | 'away' | 'offline'>(),
      deps.policy.blockedEitherWay(viewerId),
    ]);
    const byId = new Map(people.map((row) => [row.id, row]));
    return rows.flatMap((row) => {
      const user = byId.get(row.user_id);
      if (!user) return [];
      if (blocked.has(user.id))
        return [
          {
            user: toUser(user),
            role: row.role as Role,
            mutedUntil: iso(row.muted_until),
            joinedAt: iso(Number(row.joined_at)) as string,
            presence: { status: 'offline' as const, lastSeenAt: null },
          },
        ];
      return [
        {
          user: toUser(user),
          role: row.role as Role,
          mutedUntil: iso(row.muted_until),
          joinedAt: iso(Number(row.joined_at)) as string,
          presence: { status: presence.get(user.id) ?? 'offline', lastSeenAt: iso(user.last_seen_at) },
        },
      ];
    });
  }

  /** The group and the caller's membership; a non-member learns nothing (NOT_FOUND). */
  async function requireMembership(actor: Actor, groupId: string): Promise<{ group: GroupRow; me: MemberRow }> {
    const [group, me] = await Promise.all([groups.find(groupId), groups.findMember(groupId, actor.userId)]);
    if (!group || !me) throw new AppError('NOT_FOUND', 'group not found');
    return { group, me };
  }

  /** Tries of a departure whose decision (step out, or hand the group over first) a concurrent change of roles overtook. */
  const LEAVE_ATTEMPTS = 3;

  /**
   * A member leaves; an owner first hands the group to an admin (else the longest-standing member),
   * and the last one dissolves it. Each attempt decides on the role read at its start and applies
   * only if that still holds (a hand-over to the leaver, or the heir leaving, may come between):
   * otherwise it reads again. The departure is announced once, while the leaver is still a member.
   */
  async function leave(actor: Actor, group: GroupRow, me: MemberRow): Promise<void> {
    const groupId = group.id;
    const userId = actor.userId;
    let current: MemberRow | undefined = me;
    let announced = false;
    const announceOnce = async () => {
      if (!announced) await announce(groupId, 'member_left', userId);
      announced = true;
    };
    for (let attempt = 1; current; attempt++) {
      if (current.role === 'owner') {
        const others = (await groups.listMembers(groupId)).filter((m) => m.user_id !== userId);
        const heir = others.find((m) => m.role === 'admin') ?? others[0];
        if (!heir) return service.dissolve(actor, groupId);
        await announceOnce();
        if ((await groups.transferOwnership(groupId, userId, heir.user_id, clock.now().getTime())) === 'changed') {
          notify(groupId, { userId: heir.user_id, change: 'role', role: 'owner' });
          await announce(groupId, 'role_changed', heir.user_id, [heir.user_id], 'owner');
          break;
        }
      } else {
        await announceOnce();
        if (await groups.removeMember(groupId, userId, current.role)) break;
      }
      if (attempt === LEAVE_ATTEMPTS) throw new AppError('CONFLICT', 'the group changed while you were leaving; try again');
      current = await groups.findMember(groupId, userId);
    }
    if (!current) throw new AppError('NOT_FOUND', 'not a member of this group');
    await inviteLinks.left(groupId, userId);
    notify(groupId, { userId, change: 'left' }, [userId]);
    publisher.leaveConversation([userId], groupConversationId(groupId));
  }

  function requireRank(me: MemberRow, atLeast: Role, action: string): void {
    if (RANK[me.role as Role] < RANK[atLeast]) throw new AppError('FORBIDDEN', `only ${atLeast === 'owner' ? 'the owner' : 'the owner or an admin'} can ${action}`);
  }

  async function requireUsers(userIds: readonly string[]): Promise<void> {
    const unique = [...new Set(userIds)];
    const found = await users.findByIds(unique);
    if (found.length !== unique.length) {
      const known = new Set(found.map((row) => row.id));
      throw new AppError(
        'NOT_FOUND',
        'some users do not exist',
        unique.filter((id) => !known.has(id)).map((id) => ({ field: 'userIds', message: `unknown user ${id}` })),
      );
    }
  }

  function notify(groupId: string, event: Omit<MembershipEvent, 'groupId' | 'conversationId'>, alsoUserIds: readonly string[] = []): void {
    const full: MembershipEvent = { groupId, conversationId: groupConversationId(groupId), ...event };
    // Users named directly may still be in the room (removed, left, just added): reach them once.
    publisher.toConversation(groupConversationId(groupId), 'group_member', full, { exceptUserIds: alsoUserIds });
    if (alsoUserIds.length > 0) publisher.toUsers(alsoUserIds, 'group_member', full);
    invalidate(groupId);
  }

  /** Posted after the change is stored (members see it in the history), while the actor is still a member. */
  async function announce(groupId: string, kind: SystemEvent['kind'], actorId: string, userIds: readonly string[] = [], role?: Role): Promise<void> {
    await deps.announce?.(groupId, { kind, actorId, userIds: [...userIds], ...(role ? { role } : {}) });
  }

  async function joined(groupId: string, userId: string): Promise<void> {
    await publisher.joinConversation([userId], groupConversationId(groupId));
    notify(groupId, { userId, change: 'added', role: 'member' }, [userId]);
    await announce(groupId, 'member_joined', userId);
  }

  const invitations = createInvitationsService({
    invitations: deps.invitations,
    groups,
    users,
    publisher,
    cache: deps.cache,
    clock,
    limits: { ...deps.invitationLimits, maxMembers: MAX_GROUP_MEMBERS },
    policy: deps.policy,
    joined,
  });

  const inviteLinks = createInviteLinksService({
    links: deps.inviteLinks,
    groups,
    users,
    cache: deps.cache,
    clock,
    limits: { ...deps.inviteLinkLimits, maxMembers: MAX_GROUP_MEMBERS },
    policy: deps.policy,
    async requireAdmin(actor, groupId, action) {
      const { group, me } = await requireMembership(actor, groupId);
      requireRank(me, 'admin', action);
      return group;
    },
    async isAdmin(groupId, userId) {
      const member = await groups.findMember(groupId, userId);
      return member !== undefined && RANK[member.role as Role] >= RANK.admin;
    },
    joined,
  });

  async function describe(groupId: string): Promise<Group> {
    const row = await groups.find(groupId);
    if (!row) throw new AppError('NOT_FOUND', 'group not found');
    const counts = await groups.countMembers([groupId]);
    return toGroup(row, counts.get(groupId) ?? 0);
  }

  const service = {
    /**
     * Creates a group with the caller as owner. Of `memberIds`, the caller's friends become
     * members at once and everyone else is invited; anyone blocked either way refuses the whole
     * request before anything is written.
     */
    async create(actor: Actor, input: CreateGroupBody): Promise<CreatedGroup> {
      const requested = [...new Set(input.memberIds ?? [])].filter((id) => id !== actor.userId);
      if (requested.length + 1 > MAX_GROUP_MEMBERS) throw new AppError('PAYLOAD_TOO_LARGE', `a group holds at most ${MAX_GROUP_MEMBERS} members`);
      await requireUsers(requested);
      const name = input.name.trim();
      if (!name) throw AppError.validation('name', 'must not be blank');
      const { add: memberIds, invite } = await deps.policy.groupEntry(actor.userId, requested);
      const groupId = newId();
      const plan = await invitations.plan(actor, groupId, invite);
      const now = clock.now().getTime();
      const group: GroupRow = { id: groupId, name, description: (input.description ?? '').trim(), owner_id: actor.userId, created_at: now, updated_at: now };
      const members: MemberRow[] = [
        { group_id: group.id, user_id: actor.userId, role: 'owner', muted_until: null, joined_at: now },
        ...memberIds.map((user_id) => ({ group_id: group.id, user_id, role: 'member', muted_until: null, joined_at: now })),
      ];
      await groups.create(group, members);
      const everyone = members.map((m) => m.user_id);
      await publisher.joinConversation(everyone, groupConversationId(group.id));
      for (const userId of memberIds) notify(group.id, { userId, change: 'added', role: 'member' }, [userId]);
      await announce(group.id, 'group_created', actor.userId);
      if (memberIds.length > 0) await announce(group.id, 'member_added', actor.userId, memberIds);
      const invited = await invitations.send(plan, group);
      return { ...toGroup(group, members.length), invited };
    },

    /** The caller's groups, oldest first, a page at a time. */
    async list(actor: Actor, cursor: string | undefined, limit: number): Promise<Page<Group>> {
      const rows = await groups.listForUser(actor.userId, decodeTimeIdCursor(cursor), limit + 1);
      const page = rows.slice(0, limit);
      const counts = await groups.countMembers(page.map((row) => row.id));
      const last = page.at(-1);
      return {
        items: page.map((row) => toGroup(row, counts.get(row.id) ?? 0)),
        nextCursor: rows.length > limit && last ? encodeTimeIdCursor({ at: Number(last.created_at), id: last.id }) : null,
      };
    },

    async get(actor: Actor, groupId: string): Promise<Group> {
      await requireMembership(actor, groupId);
      return describe(groupId);
    },

    async update(actor: Actor, groupId: string, patch: UpdateGroupBody): Promise<Group> {
      const { me } = await requireMembership(actor, groupId);
      requireRank(me, 'admin', 'change the group');
      const name = patch.name?.trim();
      if (patch.name !== undefined && !name) throw AppError.validation('name', 'must not be blank');
      await groups.update(groupId, {
        ...(name ? { name } : {}),
        ...(patch.description !== undefined ? { description: patch.description.trim() } : {}),
        updated_at: clock.now().getTime(),
      });
      return describe(groupId);
    },

    /** Dissolves the group (owner only): members, conversation and history are deleted. */
    async dissolve(actor: Actor, groupId: string): Promise<void> {
      const { me } = await requireMembership(actor, groupId);
      requireRank(me, 'owner', 'dissolve the group');
      const memberIds = await groups.memberIds(groupId);
      // Before the conversation is deleted with the group: members online see why it goes away.
      await announce(groupId, 'group_dissolved', actor.userId);
      // Another dissolution (a second device, an instance admin) came first: answered as one sent after it.
      if (!(await groups.dissolve(groupId))) throw new AppError('NOT_FOUND', 'group not found');
      notify(groupId, { userId: actor.userId, change: 'dissolved' }, memberIds);
      publisher.leaveConversation(memberIds, groupConversationId(groupId));
    },

    /**
     * An instance admin dissolves any group, by the owner's path: members get `group_member`
     * `dissolved` (with the admin's id) and leave the room. The admin module checks the role.
     */
    async dissolveAsAdmin(adminId: string, groupId: string): Promise<void> {
      if (!(await groups.find(groupId))) throw new AppError('NOT_FOUND', 'group not found');
      const memberIds = await groups.memberIds(groupId);
      // A second dissolution at once found the group too: the one whose delete finds it gone answers
      // as a request sent after it would (and the admin module records nothing for it).
      if (!(await groups.dissolve(groupId))) throw new AppError('NOT_FOUND', 'group not found');
      notify(groupId, { userId: adminId, change: 'dissolved' }, memberIds);
      publisher.leaveConversation(memberIds, groupConversationId(groupId));
    },

    /** Members with role and presence, in the order they joined, a page at a time. */
    async members(actor: Actor, groupId: string, cursor: string | undefined, limit: number): Promise<Page<Member>> {
      await requireMembership(actor, groupId);
      const rows = await groups.pageMembers(groupId, decodeTimeIdCursor(cursor), limit + 1);
      const page = rows.slice(0, limit);
      const last = page.at(-1);
      return { items: await toMembers(actor.userId, page), nextCursor: rows.length > limit && last ? encodeTimeIdCursor({ at: Number(last.joined_at), id: last.user_id }) : null };
    },

    /**
     * Adds members (owner, admins): the adder's friends join at once and receive the group's
     * events on every device; anyone else is invited. A block either way refuses the request.
     */
    async addMembers(actor: Actor, groupId: string, userIds: readonly string[]): Promise<{ items: Member[]; invited: GroupInvitation[] }> {
      const { group, me } = await requireMembership(actor, groupId);
      requireRank(me, 'admin', 'add members');
      await requireUsers(userIds);
      const current = await groups.countMembers([groupId]);
      if ((current.get(groupId) ?? 0) + userIds.length > MAX_GROUP_MEMBERS) throw new AppError('PAYLOAD_TOO_LARGE', `a group holds at most ${MAX_GROUP_MEMBERS} members`);
      const existing = new Set(await groups.memberIds(groupId));
      const { add, invite } = await deps.policy.groupEntry(
        actor.userId,
        [...new Set(userIds)].filter((id) => !existing.has(id)),
      );
      const plan = await invitations.plan(actor, groupId, invite);
      // Counted again under the group's lock: joins that arrived meanwhile may have filled it.
      const added = await groups.addMembers(groupId, add, clock.now().getTime(), MAX_GROUP_MEMBERS);
      if (added === 'full') throw new AppError('PAYLOAD_TOO_LARGE', `a group holds at most ${MAX_GROUP_MEMBERS} members`);
      await publisher.joinConversation(added, groupConversationId(groupId));
      for (const userId of added) notify(groupId, { userId, change: 'added', role: 'member' });
      if (added.length > 0) await announce(groupId, 'member_added', actor.userId, added);
      const invited = await invitations.send(plan, group);
      // The whole list (at most MAX_GROUP_MEMBERS), as docs/protocol.md has this route answer.
      return { items: await toMembers(actor.userId, await groups.listMembers(groupId)), invited };
    },

    /** Leaves (self) or removes a member (owner, or an admin removing a plain member). */
    async removeMember(actor: Actor, groupId: string, userId: string): Promise<void> {
      const { group, me } = await requireMembership(actor, groupId);
      const target = userId === actor.userId ? me : await groups.findMember(groupId, userId);
      if (!target) throw new AppError('NOT_FOUND', 'not a member of this group');
      if (userId === actor.userId) return leave(actor, group, me);
      requireRank(me, 'admin', 'remove members');
      if (RANK[target.role as Role] >= RANK[me.role as Role]) throw new AppError('FORBIDDEN', 'you can only remove members below your role');
      // Only in the role just checked: a hand-over may have made them the owner since (removing them
      // then left the group without one).
      if (!(await groups.removeMember(groupId, userId, target.role))) throw new AppError('CONFLICT', "the member's role changed or they left meanwhile; try again");
      await inviteLinks.removed(groupId, userId);
      notify(groupId, { userId, change: 'removed' }, [userId]);
      await announce(groupId, 'member_removed', actor.userId, [userId]);
      publisher.leaveConversation([userId], groupConversationId(groupId));
    },

    /** Changes a member's role (owner only; `owner` hands the group over) or mute (owner, admins). */
    async updateMember(actor: Actor, groupId: string, userId: string, patch: UpdateMemberBody): Promise<Member> {
      const { me } = await requireMembership(actor, groupId);
      const target = await groups.findMember(groupId, userId);
      if (!target) throw new AppError('NOT_FOUND', 'not a member of this group');
      const changesRole = patch.role !== undefined && patch.role !== target.role;
      // Every check runs before anything is written: a refused request changes nothing.
      if (changesRole) {
        requireRank(me, 'owner', 'change roles');
        if (userId === actor.userId) throw new AppError('FORBIDDEN', 'hand ownership to another member instead');
      }
      if (patch.mutedUntil !== undefined) {
        requireRank(me, 'admin', 'mute members');
        const roleAfter = (changesRole ? patch.role : target.role) as Role;
        if (userId === actor.userId || RANK[roleAfter] >= RANK[me.role as Role]) throw new AppError('FORBIDDEN', 'you can only mute members below your role');
      }
      const now = clock.now().getTime();
      if (changesRole && patch.role) {
        if (patch.role === 'owner') {
          const handedOver = await groups.handOver(groupId, actor.userId, userId, now);
          // Another hand-over of this owner's, or the heir leaving, came first.
          if (handedOver === 'not-owner') throw new AppError('FORBIDDEN', 'only the owner can change roles');
          if (handedOver === 'heir-gone') throw new AppError('NOT_FOUND', 'not a member of this group');
          notify(groupId, { userId: actor.userId, change: 'role', role: 'admin' });
        } else {
          await groups.updateMember(groupId, userId, { role: patch.role });
        }
        notify(groupId, { userId, change: 'role', role: patch.role });
        await announce(groupId, 'role_changed', actor.userId, [userId], patch.role);
      }
      if (patch.mutedUntil !== undefined) {
        const mutedUntil = patch.mutedUntil === null ? null : Date.parse(patch.mutedUntil);
        await groups.updateMember(groupId, userId, { muted_until: mutedUntil });
        notify(groupId, { userId, change: 'muted', mutedUntil: iso(mutedUntil) });
      }
      const row = await groups.findMember(groupId, userId);
      const [member] = row ? await toMembers(actor.userId, [row]) : [];
      if (!member) throw new AppError('NOT_FOUND', 'not a member of this group');
      return member;
    },

    /** Pending invitations of the caller; accept joins the group, decline is remembered for a cool-down. */
    invitations: {
      list: invitations.list,
      decline: invitations.decline,
      async accept(actor: Actor, id: string): Promise<Group> {
        return describe(await invitations.accept(actor, id));
      },
    },

    /** Invite links: owners and admins make, list and revoke them; anyone signed in previews and joins. */
    inviteLinks: {
      create: inviteLinks.create,
      list: inviteLinks.list,
      revoke: inviteLinks.revoke,
      preview: inviteLinks.preview,
      async accept(actor: Actor, ip: string, code: string): Promise<Group> {
        return describe(await inviteLinks.accept(actor, ip, code));
      },
    },

    /** The caller's role and mute in a group, or undefined when not a member (used by messaging). */
    membership: async (groupId: string, userId: string) => (await cachedMembers(groupId)).get(userId),
    /** The group's member ids, from the member cache (no database read for an active group). */
    cachedMemberIds: async (groupId: string): Promise<string[]> => [...(await cachedMembers(groupId)).keys()],
    memberIds: (groupId: string) => groups.memberIds(groupId),
    groupIdsOf: (userId: string) => groups.groupIdsForUser(userId),
    coMemberIds: (userId: string) => groups.coMemberIds(userId),
    find: (groupId: string) => groups.find(groupId),
  };
  return service;
}

export type GroupsService = ReturnType<typeof createGroupsService>;
