import { randomBytes } from 'node:crypto';
import type { Actor } from '../../shared/actor.js';
import type { Clock } from '../../shared/clock.js';
import { AppError } from '../../shared/errors.js';
import { decodeCursor, decodeIdCursor, encodeCursor, encodeIdCursor, type Page } from '../../shared/pagination.js';
import type { AdminPolicy } from '../policy/index.js';
import { toUser, type UserRow, type UsersRepository } from '../users/index.js';
import type { AdminRepository, AuditRow, SuspensionRow } from './admin.repository.js';
import type { AdminUser, AuditAction, AuditEntry, InstanceStats, ResetPasswordResult } from './admin.schemas.js';

export interface AdminServiceDeps {
  admin: AdminRepository;
  users: Pick<UsersRepository, 'findById' | 'deleteUsers'>;
  policy: AdminPolicy;
  /** The auth service's session and password paths (sockets of ended sessions are disconnected on every process). */
  sessions: {
    endAllSessions(userIds: readonly string[], reason: string): Promise<void>;
    resetPassword(userId: string, password: string): Promise<void>;
  };
  messaging: { recallAsAdmin(messageId: string): Promise<{ conversationId: string }> };
  groups: { dissolveAsAdmin(adminId: string, groupId: string): Promise<void> };
  /** Removes a user's bytes on disk (files, uploads, avatars) before the row goes. */
  removeUserData(userIds: readonly string[]): Promise<void>;
  /** Open sockets on every process. */
  onlineSockets(): Promise<number>;
  clock: Clock;
}

/** What an audit entry names. */
export type AuditTarget = 'user' | 'message' | 'group' | 'report';

const isAuditCursor = (value: unknown): value is { before: number } => typeof value === 'object' && value !== null && Number.isSafeInteger((value as { before?: unknown }).before);

const iso = (ms: number | string | null | undefined): string | null => (ms === null || ms === undefined ? null : new Date(Number(ms)).toISOString());

function toAuditEntry(row: AuditRow): AuditEntry {
  return {
    id: String(row.id),
    actorId: row.actor_id,
    action: row.action,
    targetType: row.target_type,
    targetId: row.target_id,
    details: row.details === null ? null : (JSON.parse(row.details) as Record<string, string>),
    createdAt: new Date(Number(row.created_at)).toISOString(),
  };
}

/**
 * Instance administration (docs/api.md, Administration): the admin role, suspensions, password
 * resets, removing any message, user or group, statistics, and the audit log every one of these
 * actions is written to. Every use case starts by requiring the caller to be an admin.
 */
export function createAdminService(deps: AdminServiceDeps) {
  const { admin, users, policy, clock } = deps;

  async function requireUser(userId: string): Promise<UserRow> {
    const user = await users.findById(userId);
    if (!user) throw new AppError('NOT_FOUND', 'user not found');
    return user;
  }

  async function describeUsers(rows: readonly UserRow[]): Promise<AdminUser[]> {
    const ids = rows.map((row) => row.id);
    const [granted, suspensions] = await Promise.all([admin.grantedAmong(ids), admin.suspensionsOf(ids)]);
    const grantedSet = new Set(granted);
    const suspendedBy = new Map<string, SuspensionRow>(suspensions.map((row) => [row.user_id, row]));
    return rows.map((row) => {
      const source = policy.isConfiguredAdmin(row.username_lower) ? 'config' : grantedSet.has(row.id) ? 'granted' : null;
      const suspension = suspendedBy.get(row.id);
      return {
        ...toUser(row),
        isAdmin: source !== null,
        adminSource: source,
        suspendedAt: iso(suspension?.suspended_at),
        suspendedReason: suspension?.reason ?? null,
        lastLoginAt: new Date(Number(row.last_login_at)).toISOString(),
      };
    });
  }

  const describeUser = async (row: UserRow): Promise<AdminUser> => (await describeUsers([row]))[0] as AdminUser;

  async function audit(actor: Actor, action: AuditAction, targetType: AuditTarget, targetId: string, details?: Record<string, string>): Promise<void> {
    await admin.appendAudit({
      actor_id: actor.userId,
      action,
      target_type: targetType,
      target_id: targetId,
      details: details && Object.keys(details).length > 0 ? JSON.stringify(details) : null,
      created_at: clock.now().getTime(),
    });
  }

  /** Suspending or deleting oneself or another admin is refused: an instance cannot lock out all its admins by accident. */
  async function requireOrdinaryTarget(actor: Actor, target: UserRow, action: string): Promise<void> {
    if (target.id === actor.userId) throw new AppError('FORBIDDEN', `you cannot ${action} your own account`);
    if ((await policy.adminSource(target.id)) !== null) throw new AppError('FORBIDDEN', `revoke the admin role before you ${action} this account`);
  }

  return {
    /** Appends an entry for an action another module took on an admin's behalf (the reports queue). */
    record: (actor: Actor, action: AuditAction, targetType: AuditTarget, targetId: string, details?: Record<string, string>) => audit(actor, action, targetType, targetId, details),

    /** NOT_FOUND (with the answer an unknown route gets) unless the caller is an admin. */
    requireAdmin: (actor: Actor, notFoundMessage?: string) => policy.requireAdmin(actor.userId, notFoundMessage),

    /** Every account by id, or those whose username or nickname starts with `q`. */
    async listUsers(actor: Actor, q: string | undefined, cursor: string | undefined, limit: number): Promise<Page<AdminUser>> {
      await policy.requireAdmin(actor.userId);
      const afterId = decodeIdCursor(cursor);
      const rows = await admin.listUsers(q?.normalize('NFC').toLowerCase(), afterId, limit + 1);
      const page = rows.slice(0, limit);
      const last = page.at(-1);
      return { items: await describeUsers(page), nextCursor: rows.length > limit && last ? encodeIdCursor(last.id) : null };
    },

    async getUser(actor: Actor, userId: string): Promise<AdminUser> {
      await policy.requireAdmin(actor.userId);
      return describeUser(await requireUser(userId));
    },

    /** Grants the admin role (idempotent: granting it again changes and records nothing). */
    async grantAdmin(actor: Actor, userId: string): Promise<AdminUser> {
      await policy.requireAdmin(actor.userId);
      const target = await requireUser(userId);
      if (target.is_guest) throw new AppError('FORBIDDEN', 'a guest account cannot be an admin');
      if ((await policy.adminSource(target.id)) === null && (await admin.grant(target.id, actor.userId, clock.now().getTime()))) {
        await audit(actor, 'admin_granted', 'user', target.id);
      }
      return describeUser(target);
    },

    /** Revokes a granted admin role; a role from ADMIN_USERNAMES is changed in the configuration only. */
    async revokeAdmin(actor: Actor, userId: string): Promise<AdminUser> {
      await policy.requireAdmin(actor.userId);
      const target = await requireUser(userId);
      if (policy.isConfiguredAdmin(target.username_lower)) throw new AppError('FORBIDDEN', 'this admin is named in ADMIN_USERNAMES: change the configuration instead');
      if (await admin.revoke(target.id)) await audit(actor, 'admin_revoked', 'user', target.id);
      return describeUser(target);
    },

    /**
     * Suspends an account: every session ends at once and its sockets are disconnected on every
     * process; logins and refreshes answer ACCOUNT_SUSPENDED until it is unsuspended. Idempotent.
     */
    async suspend(actor: Actor, userId: string, reason: string | undefined): Promise<AdminUser> {
      await policy.requireAdmin(actor.userId);
      const target = await requireUser(userId);
      await requireOrdinaryTarget(actor, target, 'suspend');
      const text = (reason ?? '').trim();
      const added = await admin.suspend({ user_id: target.id, suspended_by: actor.userId, reason: text, suspended_at: clock.now().getTime() });
      // Also when already suspended: a login that passed its check just before the suspension is ended too.
      await deps.sessions.endAllSessions([target.id], 'account_suspended');
      if (added) await audit(actor, 'user_suspended', 'user', target.id, text ? { reason: text } : undefined);
      return describeUser(target);
    },

    /** Lifts a suspension: the user may log in again (their old sessions stay ended). Idempotent. */
    async unsuspend(actor: Actor, userId: string): Promise<AdminUser> {
      await policy.requireAdmin(actor.userId);
      const target = await requireUser(userId);
      if (await admin.unsuspend(target.id)) await audit(actor, 'user_unsuspended', 'user', target.id);
      return describeUser(target);
    },

    /** Sets a temporary password (given, or generated and shown this once) and ends every session of the account. */
    async resetPassword(actor: Actor, userId: string, password: string | undefined): Promise<ResetPasswordResult> {
      await policy.requireAdmin(actor.userId);
      const target = await requireUser(userId);
      if (target.is_guest) throw new AppError('FORBIDDEN', 'a guest account has no password');
      const chosen = password ?? randomBytes(12).toString('base64url');
      await deps.sessions.resetPassword(target.id, chosen);
      await audit(actor, 'password_reset', 'user', target.id, password === undefined ? { generated: 'true' } : undefined);
      return { password: chosen };
    },

    /**
     * Deletes an account with its content: sessions end (sockets disconnected), the groups it owns
     * are dissolved (members told), every message it sent is emptied like a recalled one, its
     * files' and avatars' bytes are removed, then the row and what hangs on it (private
     * conversations, memberships, friendships, pins...) go by cascade.
     */
    async deleteUser(actor: Actor, userId: string): Promise<void> {
      await policy.requireAdmin(actor.userId);
      const target = await requireUser(userId);
      await requireOrdinaryTarget(actor, target, 'delete');
      await deps.sessions.endAllSessions([target.id], 'account_deleted');
      for (const groupId of await admin.ownedGroupIds(target.id)) {
        // Dissolved meanwhile (by its owner, or by a second delete of this account): nothing left to do.
        await deps.groups.dissolveAsAdmin(actor.userId, groupId).catch((error: unknown) => {
          if (!(error instanceof AppError && error.code === 'NOT_FOUND')) throw error;
        });
      }
      await admin.blankMessagesOf(target.id, clock.now().getTime());
      await deps.removeUserData([target.id]);
      // A second delete of the account at once (a double tap, two admins) passed requireUser too: the
      // one whose delete finds the row gone answers as a delete sent after it would, and records nothing.
      if ((await users.deleteUsers([target.id])) === 0) throw new AppError('NOT_FOUND', 'user not found');
      await audit(actor, 'user_deleted', 'user', target.id, { username: target.username });
    },

    /** Removes any message (a recall: its conversation gets `message_updated`). */
    async deleteMessage(actor: Actor, messageId: string): Promise<void> {
      await policy.requireAdmin(actor.userId);
      const { conversationId } = await deps.messaging.recallAsAdmin(messageId);
      await audit(actor, 'message_deleted', 'message', messageId, { conversationId });
    },

    /** Dissolves any group by the owner's path (members told, conversation and history deleted). */
    async dissolveGroup(actor: Actor, groupId: string): Promise<void> {
      await policy.requireAdmin(actor.userId);
      await deps.groups.dissolveAsAdmin(actor.userId, groupId);
      await audit(actor, 'group_dissolved', 'group', groupId);
    },

    async stats(actor: Actor): Promise<InstanceStats> {
      await policy.requireAdmin(actor.userId);
      const [counts, onlineSockets] = await Promise.all([admin.stats(policy.configuredUsernames()), deps.onlineSockets()]);
      return { ...counts, onlineSockets };
    },

    /** The audit log, newest first. Entries are never changed or removed (there is no path that would). */
    async auditLog(actor: Actor, cursor: string | undefined, limit: number): Promise<Page<AuditEntry>> {
      await policy.requireAdmin(actor.userId);
      const position = decodeCursor(cursor, isAuditCursor);
      if (cursor && !position) throw AppError.validation('cursor', 'is not a cursor this list returned');
      const rows = await admin.listAudit(position?.before, limit + 1);
      const page = rows.slice(0, limit);
      const last = page.at(-1);
      return { items: page.map(toAuditEntry), nextCursor: rows.length > limit && last ? encodeCursor({ before: Number(last.id) }) : null };
    },
  };
}

export type AdminService = ReturnType<typeof createAdminService>;
