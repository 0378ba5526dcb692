import type { AdminReport, CreateReportBody, Report, ReportAction, ReportStatus } from '../../contract/reports.js';
import type { Cache } from '../../platform/cache/cache.js';
import type { Actor } from '../../shared/actor.js';
import type { Clock } from '../../shared/clock.js';
import { AppError } from '../../shared/errors.js';
import { decodeCursor, encodeCursor, type Page } from '../../shared/pagination.js';
import type { AdminService } from '../admin/index.js';
import type { ReportRow, ReportsRepository } from './reports.repository.js';

/** Reports one user may file: per hour, and per IP address (several accounts behind one address). */
export const REPORT_LIMITS = { perUserPerHour: 20, perIpPerHour: 60 } as const;
const HOUR_MS = 3_600_000;

export interface ReportsServiceDeps {
  reports: ReportsRepository;
  admin: Pick<AdminService, 'requireAdmin' | 'deleteMessage' | 'suspend' | 'record'>;
  /** A message the caller can see (NOT_FOUND otherwise): the messaging service. */
  messages: {
    visibleMessage(actor: Actor, messageId: string): Promise<{ id: string; conversationId: string; senderId: string; content: string; recalled: boolean }>;
  };
  userExists(userId: string): Promise<boolean>;
  cache: Cache;
  clock: Clock;
}

const isBefore = (value: unknown): value is { before: number } => typeof value === 'object' && value !== null && Number.isSafeInteger((value as { before?: unknown }).before);
const iso = (ms: number | string | null): string | null => (ms === null ? null : new Date(Number(ms)).toISOString());

function toReport(row: ReportRow): Report {
  return {
    id: String(row.id),
    targetType: row.target_type === 'message' ? 'message' : 'user',
    messageId: row.message_id === null ? null : String(row.message_id),
    targetUserId: row.target_user_id,
    reason: row.reason as Report['reason'],
    note: row.note,
    status: row.status as ReportStatus,
    createdAt: new Date(Number(row.created_at)).toISOString(),
  };
}

function toAdminReport(row: ReportRow): AdminReport {
  return {
    ...toReport(row),
    reporterId: row.reporter_id,
    conversationId: row.conversation_id,
    messageContent: row.message_content,
    closedBy: row.closed_by,
    closedAt: iso(row.closed_at),
    action: row.action as ReportAction | null,
    resolutionNote: row.resolution_note,
  };
}

/** A report id as the routes take it: anything not an id of this table names nothing. */
function parseReportId(id: string): number {
  if (!/^\d{1,15}$/.test(id)) throw new AppError('NOT_FOUND', 'report not found');
  return Number(id);
}

/**
 * Moderation reports (docs/api.md, Reports): any user reports a message they can see or a user;
 * admins work through the queue and close each report, resolving it (with an action taken through
 * the admin service: delete the message, suspend the user) or dismissing it. Who reported is
 * shown to admins only: the reporter's own answer and the admin routes are the only readers.
 */
export function createReportsService(deps: ReportsServiceDeps) {
  const { reports, admin, cache, clock } = deps;

  const limitKeys = (actor: Actor, ip: string) =>
    [
      [`reports:user:${actor.userId}`, REPORT_LIMITS.perUserPerHour],
      [`reports:ip:${ip}`, REPORT_LIMITS.perIpPerHour],
    ] as const;

  async function limit(actor: Actor, ip: string): Promise<void> {
    for (const [key, max] of limitKeys(actor, ip)) {
      const { count, ttlMs } = await cache.incr(key, HOUR_MS);
      if (count > max) throw new AppError('RATE_LIMITED', 'too many reports; wait a little', undefined, Math.max(1, Math.ceil(ttlMs / 1000)));
    }
  }

  async function requireOpen(reportId: string): Promise<ReportRow> {
    const row = await reports.find(parseReportId(reportId));
    if (!row) throw new AppError('NOT_FOUND', 'report not found');
    if (row.status !== 'open') throw new AppError('CONFLICT', `this report is already ${row.status}`);
    return row;
  }

  async function close(actor: Actor, row: ReportRow, status: 'resolved' | 'dismissed', action: ReportAction | null, note: string): Promise<AdminReport> {
    const now = clock.now().getTime();
    const change = { status, closed_by: actor.userId, closed_at: now, action, resolution_note: note || null };
    if (!(await reports.close(Number(row.id), change))) throw new AppError('CONFLICT', 'this report was closed by another admin');
    const details: Record<string, string> = { targetType: row.target_type, targetUserId: row.target_user_id };
    if (action) details.action = action;
    if (note) details.note = note;
    await admin.record(actor, status === 'resolved' ? 'report_resolved' : 'report_dismissed', 'report', String(row.id), details);
    return toAdminReport({ ...row, ...change });
  }

  return {
    /**
     * Files a report of a message the caller can see or of a user (NOT_FOUND otherwise; not of
     * oneself or one's own message). The caller's open report of the same target is answered
     * again instead of a second one (a retry counts nothing against the limit).
     */
    async create(actor: Actor, input: CreateReportBody, origin: { ip: string }): Promise<{ report: Report; created: boolean }> {
      const note = (input.note ?? '').trim();
      let target: { target_type: 'message' | 'user'; target_user_id: string; message_id: number | null; conversation_id: string | null; message_content: string | null };
      if ('messageId' in input.target) {
        const message = await deps.messages.visibleMessage(actor, input.target.messageId);
        if (message.senderId === actor.userId) throw new AppError('FORBIDDEN', 'you cannot report your own message');
        if (message.recalled) throw new AppError('CONFLICT', 'this message was already removed');
        target = {
          target_type: 'message',
          target_user_id: message.senderId,
          message_id: Number(message.id),
          conversation_id: message.conversationId,
          message_content: message.content,
        };
      } else {
        if (!(await deps.userExists(input.target.userId))) throw new AppError('NOT_FOUND', 'user not found');
        if (input.target.userId === actor.userId) throw new AppError('FORBIDDEN', 'you cannot report yourself');
        target = { target_type: 'user', target_user_id: input.target.userId, message_id: null, conversation_id: null, message_content: null };
      }
      const open = await reports.findOpen(actor.userId, target.target_user_id, target.message_id);
      if (open) return { report: toReport(open), created: false };
      await limit(actor, origin.ip);
      const row = await reports.insert({ reporter_id: actor.userId, ...target, reason: input.reason, note, status: 'open', created_at: clock.now().getTime() });
      if (row) return { report: toReport(row), created: true };
      // A concurrent identical report was filed between the check and the insert: answer that one,
      // and give back what this attempt counted (a repeat counts nothing).
      for (const [key] of limitKeys(actor, origin.ip)) await cache.decr(key);
      const winner = await reports.findOpen(actor.userId, target.target_user_id, target.message_id);
      if (!winner) throw new AppError('CONFLICT', 'the same report was filed and closed at once; try again');
      return { report: toReport(winner), created: false };
    },

    /** The queue of one status, newest first. */
    async list(actor: Actor, status: ReportStatus, cursor: string | undefined, pageLimit: number): Promise<Page<AdminReport>> {
      await admin.requireAdmin(actor);
      const position = decodeCursor(cursor, isBefore);
      if (cursor && !position) throw AppError.validation('cursor', 'is not a cursor this list returned');
      const rows = await reports.list(status, position?.before, pageLimit + 1);
      const page = rows.slice(0, pageLimit);
      const last = page.at(-1);
      return { items: page.map(toAdminReport), nextCursor: rows.length > pageLimit && last ? encodeCursor({ before: Number(last.id) }) : null };
    },

    /**
     * Resolves an open report: first the action (the admin service deletes the message or suspends
     * the user, each with its own audit entry), then the report is closed and `report_resolved`
     * recorded. A failed action (the user is an admin: FORBIDDEN) leaves the report open.
     */
    async resolve(actor: Actor, reportId: string, action: ReportAction, note: string | undefined): Promise<AdminReport> {
      await admin.requireAdmin(actor);
      const row = await requireOpen(reportId);
      const text = (note ?? '').trim();
      if (action === 'delete_message') {
        if (row.message_id === null) throw AppError.validation('action', 'delete_message needs a report of a message');
        await admin.deleteMessage(actor, String(row.message_id)).catch((error: unknown) => {
          // Already recalled (by its sender or another admin) or gone with its group: nothing left to delete.
          if (error instanceof AppError && (error.code === 'CONFLICT' || error.code === 'NOT_FOUND')) return;
          throw error;
        });
      } else if (action === 'suspend_user') {
        await admin.suspend(actor, row.target_user_id, text || `report ${row.id}`);
      }
      return close(actor, row, 'resolved', action, text);
    },

    /** Closes an open report without acting on it. */
    async dismiss(actor: Actor, reportId: string, note: string | undefined): Promise<AdminReport> {
      await admin.requireAdmin(actor);
      const row = await requireOpen(reportId);
      return close(actor, row, 'dismissed', null, (note ?? '').trim());
    },
  };
}

export type ReportsService = ReturnType<typeof createReportsService>;
