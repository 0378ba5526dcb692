import type { Cache } from '../../platform/cache/cache.js';
import type { Publisher } from '../../platform/realtime/publisher.js';
import type { Actor } from '../../shared/actor.js';
import type { Clock } from '../../shared/clock.js';
import { AppError } from '../../shared/errors.js';
import { newId } from '../../shared/ids.js';
import { decodeTimeIdCursor, encodeTimeIdCursor, type Page } from '../../shared/pagination.js';
import { isoOrNull as iso } from '../../shared/time.js';
import type { AccessPolicy } from '../policy/index.js';
import { toUser, type UsersRepository } from '../users/index.js';
import type { GroupRow, GroupsRepository } from './groups.repository.js';
import type { GroupInvitation } from './groups.schemas.js';
import type { InvitationRow, InvitationsRepository } from './invitations.repository.js';

export interface InvitationLimits {
  /** New invitations one user may send per hour (an abuse limit: invitations reach other people). */
  perHour: number;
  /** How long a declined invitation stops the same group from inviting the same person again. */
  declinedCooldownMs: number;
  /** Largest group size, checked again when an invitation is accepted. */
  maxMembers: number;
}

export interface InvitationsDeps {
  invitations: InvitationsRepository;
  groups: GroupsRepository;
  users: UsersRepository;
  publisher: Publisher;
  cache: Cache;
  clock: Clock;
  limits: InvitationLimits;
  /** Whose invitation is whose (the policy module). */
  policy: Pick<AccessPolicy, 'isInvitee'>;
  /** The invitee just became a member: rooms, membership events and caches are the group module's. */
  joined(groupId: string, userId: string): Promise<void>;
}

/** What `plan` decided for each invitee; `send` writes it. */
export interface InvitationPlan {
  inviterId: string;
  inserts: InvitationRow[];
  renew: InvitationRow[];
  /** Pending, or declined within the cool-down: listed back as they are, nothing is sent again. */
  unchanged: InvitationRow[];
}

/**
 * Group invitations: the consent step for joining a group on someone else's initiative. A pending
 * invitation is sent once; a declined one is not sent again by the same group for a cool-down;
 * accepting joins atomically; a block between inviter and invitee deletes what is pending.
 */
export function createInvitationsService(deps: InvitationsDeps) {
  const { invitations, groups, users, publisher, cache, clock, limits } = deps;

  async function describe(rows: readonly InvitationRow[], groupRows?: Map<string, GroupRow>): Promise<GroupInvitation[]> {
    if (rows.length === 0) return [];
    const groupIds = [...new Set(rows.map((row) => row.group_id))];
    const found = groupRows ?? new Map((await Promise.all(groupIds.map((id) => groups.find(id)))).flatMap((row) => (row ? [[row.id, row] as const] : [])));
    const [counts, inviters] = await Promise.all([groups.countMembers(groupIds), users.findByIds([...new Set(rows.map((row) => row.inviter_id))])]);
    const inviterById = new Map(inviters.map((row) => [row.id, row]));
    return rows.flatMap((row) => {
      const group = found.get(row.group_id);
      const inviter = inviterById.get(row.inviter_id);
      if (!group || !inviter) return [];
      return [
        {
          id: row.id,
          group: { id: group.id, name: group.name, memberCount: counts.get(group.id) ?? 0 },
          inviter: toUser(inviter),
          inviteeId: row.invitee_id,
          state: row.state as GroupInvitation['state'],
          createdAt: iso(Number(row.created_at)) as string,
          answeredAt: iso(row.answered_at),
        },
      ];
    });
  }

  /** The invitee's own invitation, or NOT_FOUND (anyone else's looks like one that does not exist). */
  async function requireOwn(actor: Actor, id: string): Promise<InvitationRow> {
    const row = await invitations.find(id);
    if (!row || !deps.policy.isInvitee(actor.userId, row)) throw new AppError('NOT_FOUND', 'invitation not found');
    if (row.state !== 'pending') throw new AppError('CONFLICT', 'this invitation was already answered');
    return row;
  }

  function tellInvitee(invitation: GroupInvitation): void {
    publisher.toUsers([invitation.inviteeId], 'group_invitation', { invitation });
  }

  return {
    /**
     * Decides, before anything is written, what inviting `inviteeIds` to `groupId` does, and
     * spends the inviter's hourly budget on the invitations that will really be sent
     * (RATE_LIMITED when it is exhausted, with nothing written).
     */
    async plan(actor: Actor, groupId: string, inviteeIds: readonly string[]): Promise<InvitationPlan> {
      const now = clock.now().getTime();
      const existing = new Map((await invitations.forInvitees(groupId, inviteeIds)).map((row) => [row.invitee_id, row]));
      const plan: InvitationPlan = { inviterId: actor.userId, inserts: [], renew: [], unchanged: [] };
      for (const inviteeId of new Set(inviteeIds)) {
        const row = existing.get(inviteeId);
        if (!row) plan.inserts.push({ id: newId(), group_id: groupId, inviter_id: actor.userId, invitee_id: inviteeId, state: 'pending', created_at: now, answered_at: null });
        else if (row.state === 'declined' && Number(row.answered_at ?? 0) + limits.declinedCooldownMs <= now)
          plan.renew.push({ ...row, inviter_id: actor.userId, state: 'pending', created_at: now, answered_at: null });
        else plan.unchanged.push(row);
      }
      const sending = plan.inserts.length + plan.renew.length;
      for (let i = 0; i < sending; i++) {
        const { count, ttlMs } = await cache.incr(`group-invites:${actor.userId}`, 3_600_000);
        if (count > limits.perHour) throw new AppError('RATE_LIMITED', `at most ${limits.perHour} group invitations an hour`, undefined, Math.ceil(ttlMs / 1000));
      }
      return plan;
    },

    /** Writes a plan, tells each new invitee, and returns every invitation of the plan as the API shows it. */
    async send(plan: InvitationPlan, group: GroupRow): Promise<GroupInvitation[]> {
      const { written, found } = await invitations.save(group.id, plan.inserts, plan.renew);
      const groupRows = new Map([[group.id, group]]);
      const sent = await describe(written, groupRows);
      for (const invitation of sent) tellInvitee(invitation);
      return [...sent, ...(await describe([...found, ...plan.unchanged], groupRows))];
    },

    /** The caller's pending invitations, newest first, a page at a time. */
    async list(actor: Actor, cursor: string | undefined, limit: number): Promise<Page<GroupInvitation>> {
      const rows = await invitations.pendingFor(actor.userId, decodeTimeIdCursor(cursor), limit + 1);
      const page = rows.slice(0, limit);
      const last = page.at(-1);
      return { items: await describe(page), nextCursor: rows.length > limit && last ? encodeTimeIdCursor({ at: Number(last.created_at), id: last.id }) : null };
    },

    /** Joins the group (the invitee's consent); every device of the invitee hears the answer. */
    async accept(actor: Actor, id: string): Promise<string> {
      const row = await requireOwn(actor, id);
      const now = clock.now().getTime();
      // The cap is counted under the group's lock, with the write: joins arriving together cannot pass it.
      const outcome = await invitations.accept(row, now, limits.maxMembers);
      if (outcome === 'full') throw new AppError('PAYLOAD_TOO_LARGE', `a group holds at most ${limits.maxMembers} members`);
      if (outcome === 'answered') throw new AppError('CONFLICT', 'this invitation was already answered');
      await deps.joined(row.group_id, actor.userId);
      const [invitation] = await describe([{ ...row, state: 'accepted', answered_at: now }]);
      if (invitation) tellInvitee(invitation);
      return row.group_id;
    },

    /** Declines; the inviter is not told (like a rejected friend request), the invitee's devices are. */
    async decline(actor: Actor, id: string): Promise<void> {
      const row = await requireOwn(actor, id);
      const now = clock.now().getTime();
      if (!(await invitations.decline(row.id, now))) throw new AppError('CONFLICT', 'this invitation was already answered');
      const [invitation] = await describe([{ ...row, state: 'declined', answered_at: now }]);
      if (invitation) tellInvitee(invitation);
    },
  };
}

export type InvitationsService = ReturnType<typeof createInvitationsService>;
