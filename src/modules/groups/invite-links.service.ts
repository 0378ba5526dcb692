import { randomBytes } from 'node:crypto';
import type { Cache } from '../../platform/cache/cache.js';
import type { Actor } from '../../shared/actor.js';
import type { Clock } from '../../shared/clock.js';
import { AppError } from '../../shared/errors.js';
import { newId } from '../../shared/ids.js';
import { decodeTimeIdCursor, encodeTimeIdCursor, type Page } from '../../shared/pagination.js';
import { isoOrNull as iso } from '../../shared/time.js';
import type { Policy } from '../policy/index.js';
import { toUser, type UsersRepository } from '../users/index.js';
import type { GroupRow, GroupsRepository } from './groups.repository.js';
import type { CreateInviteLinkBody, InviteLink, InvitePreview } from './groups.schemas.js';
import type { InviteLinkRow, InviteLinksRepository } from './invite-links.repository.js';

export interface InviteLinkLimits {
  /** Previews and joins one user may attempt per minute: a guesser is throttled long before a code could be found. */
  attemptsPerMinutePerUser: number;
  /** The same per client IP, so many accounts on one address do not multiply the budget. */
  attemptsPerMinutePerIp: number;
  /** Links a group may hold that are not revoked (expired ones count until revoked). */
  maxActivePerGroup: number;
  /** Largest group size, checked when someone joins through a link. */
  maxMembers: number;
}

export interface InviteLinksDeps {
  links: InviteLinksRepository;
  groups: GroupsRepository;
  users: UsersRepository;
  cache: Cache;
  clock: Clock;
  limits: InviteLinkLimits;
  policy: Pick<Policy, 'blockedEitherWay'>;
  /** The group, if the actor is its owner or an admin; NOT_FOUND for strangers, FORBIDDEN for plain members. */
  requireAdmin(actor: Actor, groupId: string, action: string): Promise<GroupRow>;
  /** Whether `userId` is the group's owner or an admin now. */
  isAdmin(groupId: string, userId: string): Promise<boolean>;
  /** The user just became a member: rooms, membership events and caches are the group module's. */
  joined(groupId: string, userId: string): Promise<void>;
}

const MINUTE_MS = 60_000;

/**
 * 24 random bytes (192 bits) from the OS CSPRNG, base64url: far beyond guessing, and attempts are
 * throttled per user and per IP besides.
 *
 * The code itself is stored, not a hash of it: owners and admins copy a link again from the list
 * (what people expect of invite links), and a hash would protect nothing a reader of the database
 * does not already have, since the group's messages sit in the same database.
 */
export function newInviteCode(): string {
  return randomBytes(24).toString('base64url');
}

/**
 * Invite links: owners and admins make, list and revoke them; whoever opens one sees the group's
 * name and size and joins with a click. A link speaks for its creator, so it works only while they
 * are an owner or admin, never for someone blocked either way with them (to whom it looks like an
 * unknown link, revealing no block), and never for someone an owner or admin removed from the group.
 */
export function createInviteLinksService(deps: InviteLinksDeps) {
  const { links, groups, users, cache, clock, limits } = deps;

  async function describe(rows: readonly InviteLinkRow[]): Promise<InviteLink[]> {
    const creators = new Map((await users.findByIds([...new Set(rows.map((row) => row.creator_id))])).map((row) => [row.id, row]));
    return rows.flatMap((row) => {
      const creator = creators.get(row.creator_id);
      if (!creator) return [];
      return [
        {
          id: row.id,
          groupId: row.group_id,
          code: row.code,
          creator: toUser(creator),
          createdAt: iso(Number(row.created_at)) as string,
          expiresAt: iso(row.expires_at),
          maxUses: row.max_uses === null ? null : Number(row.max_uses),
          uses: Number(row.uses),
          revokedAt: iso(row.revoked_at),
        },
      ];
    });
  }

  /** Counts an attempt against the user's and the IP's minute; RATE_LIMITED past either. */
  async function countAttempt(actor: Actor, ip: string): Promise<void> {
    for (const [key, max] of [
      [`invite-attempts:user:${actor.userId}`, limits.attemptsPerMinutePerUser],
      [`invite-attempts:ip:${ip}`, limits.attemptsPerMinutePerIp],
    ] as const) {
      const { count, ttlMs } = await cache.incr(key, MINUTE_MS);
      if (count > max) throw new AppError('RATE_LIMITED', 'too many invite links tried; wait a little', undefined, Math.max(1, Math.ceil(ttlMs / 1000)));
    }
  }

  /**
   * The link behind `code` as `actor` may use it, and the group: NOT_FOUND for an unknown or
   * revoked code, a creator who is no longer owner or admin, or a block either way with the creator.
   */
  async function open(actor: Actor, code: string): Promise<{ link: InviteLinkRow; group: GroupRow; isMember: boolean }> {
    const link = await links.byCode(code);
    const group = link && link.revoked_at === null ? await groups.find(link.group_id) : undefined;
    if (!link || !group) throw new AppError('NOT_FOUND', 'invite link not found');
    const [creatorIsAdmin, blocked, me] = await Promise.all([
      deps.isAdmin(group.id, link.creator_id),
      deps.policy.blockedEitherWay(actor.userId),
      groups.findMember(group.id, actor.userId),
    ]);
    if (!creatorIsAdmin || blocked.has(link.creator_id)) throw new AppError('NOT_FOUND', 'invite link not found');
    return { link, group, isMember: me !== undefined };
  }

  /** INVITE_EXPIRED or INVITE_USED_UP for a link that no longer admits anyone new. */
  function requireUsable(link: InviteLinkRow): void {
    if (link.expires_at !== null && Number(link.expires_at) <= clock.now().getTime()) throw new AppError('INVITE_EXPIRED', 'this invite link has expired');
    if (link.max_uses !== null && Number(link.uses) >= Number(link.max_uses)) throw new AppError('INVITE_USED_UP', 'this invite link has been used as often as it allows');
  }

  return {
    /** Makes a link (owner, admins), with an optional expiry and use limit. */
    async create(actor: Actor, groupId: string, input: CreateInviteLinkBody): Promise<InviteLink> {
      await deps.requireAdmin(actor, groupId, 'create invite links');
      if ((await links.countUnrevoked(groupId)) >= limits.maxActivePerGroup)
        throw new AppError('CONFLICT', `a group holds at most ${limits.maxActivePerGroup} invite links that are not revoked; revoke one first`);
      const now = clock.now().getTime();
      const row: InviteLinkRow = {
        id: newId(),
        group_id: groupId,
        code: newInviteCode(),
        creator_id: actor.userId,
        max_uses: input.maxUses ?? null,
        uses: 0,
        expires_at: input.expiresInSeconds === undefined ? null : now + input.expiresInSeconds * 1000,
        created_at: now,
        revoked_at: null,
      };
      await links.insert(row);
      const [link] = await describe([row]);
      if (!link) throw new AppError('NOT_FOUND', 'group not found');
      return link;
    },

    /** The group's links, revoked ones too (the history: who made each, how often it was used), newest first. */
    async list(actor: Actor, groupId: string, cursor: string | undefined, limit: number): Promise<Page<InviteLink>> {
      await deps.requireAdmin(actor, groupId, 'see invite links');
      const rows = await links.page(groupId, decodeTimeIdCursor(cursor), limit + 1);
      const page = rows.slice(0, limit);
      const last = page.at(-1);
      return { items: await describe(page), nextCursor: rows.length > limit && last ? encodeTimeIdCursor({ at: Number(last.created_at), id: last.id }) : null };
    },

    /** Revokes a link (owner, admins); revoking it again changes nothing. */
    async revoke(actor: Actor, groupId: string, linkId: string): Promise<void> {
      await deps.requireAdmin(actor, groupId, 'revoke invite links');
      const link = await links.find(groupId, linkId);
      if (!link) throw new AppError('NOT_FOUND', 'invite link not found');
      await links.revoke(link.id, clock.now().getTime());
    },

    /** The group's name and size, for a signed-in user deciding whether to join. */
    async preview(actor: Actor, ip: string, code: string): Promise<InvitePreview> {
      await countAttempt(actor, ip);
      const { link, group, isMember } = await open(actor, code);
      if (!isMember) requireUsable(link);
      const counts = await groups.countMembers([group.id]);
      return { group: { id: group.id, name: group.name, memberCount: counts.get(group.id) ?? 0 }, isMember };
    },

    /**
     * Joins the group through the link (the click is the consent) and returns its id; a member
     * already in the group just gets it back, and uses nothing of the link.
     */
    async accept(actor: Actor, ip: string, code: string): Promise<string> {
      await countAttempt(actor, ip);
      const { link, group, isMember } = await open(actor, code);
      if (isMember) return group.id;
      requireUsable(link);
      if (await links.wasRemoved(group.id, actor.userId)) throw new AppError('FORBIDDEN', 'you were removed from this group; an owner or admin can add you again');
      // The cap is counted under the group's lock, with the write: joins arriving together cannot pass it.
      const outcome = await links.join(link, actor.userId, clock.now().getTime(), limits.maxMembers);
      if (outcome === 'full') throw new AppError('PAYLOAD_TOO_LARGE', `a group holds at most ${limits.maxMembers} members`);
      if (outcome === 'revoked') throw new AppError('NOT_FOUND', 'invite link not found');
      if (outcome === 'used_up') throw new AppError('INVITE_USED_UP', 'this invite link has been used as often as it allows');
      // Awaited, as an invitation's acceptance awaits it: the join's system message is stored before the
      // answer, and nothing is left running (a server closing after the answer found Redis gone: an
      // unhandled rejection in a CI run).
      if (outcome === 'joined') await deps.joined(group.id, actor.userId);
      return group.id;
    },

    /** Links stop admitting a member an owner or admin removed; leaving on one's own clears that. */
    removed: (groupId: string, userId: string) => links.rememberRemoval(groupId, userId, clock.now().getTime()),
    left: (groupId: string, userId: string) => links.forgetRemoval(groupId, userId),
  };
}

export type InviteLinksService = ReturnType<typeof createInviteLinksService>;
