import Type, { type Static } from 'typebox';
import { Id, IsoTime } from './common.js';
import { Page, PageQuery } from './paging.js';

/** Why something is reported. */
export const ReportReason = Type.Union([Type.Literal('spam'), Type.Literal('abuse'), Type.Literal('illegal'), Type.Literal('other')]);
export type ReportReason = Static<typeof ReportReason>;

export const ReportStatus = Type.Union([Type.Literal('open'), Type.Literal('resolved'), Type.Literal('dismissed')]);
export type ReportStatus = Static<typeof ReportStatus>;

/** What an admin did when resolving a report. */
export const ReportAction = Type.Union([Type.Literal('none'), Type.Literal('delete_message'), Type.Literal('suspend_user')]);
export type ReportAction = Static<typeof ReportAction>;

/** The longest free-text note a report or a resolution takes. */
export const REPORT_NOTE_MAX = 1000;
const Note = Type.String({ maxLength: REPORT_NOTE_MAX, description: `free text, at most ${REPORT_NOTE_MAX} characters` });

/** A message the caller can see, or a user. */
export const ReportTarget = Type.Union([Type.Object({ messageId: Id }, { additionalProperties: false }), Type.Object({ userId: Id }, { additionalProperties: false })]);
export type ReportTarget = Static<typeof ReportTarget>;

/** `POST /reports`. */
export const CreateReportBody = Type.Object({ target: ReportTarget, reason: ReportReason, note: Type.Optional(Note) }, { additionalProperties: false });
export type CreateReportBody = Static<typeof CreateReportBody>;

/** A report as its reporter sees it (the answer to `POST /reports`). */
export const Report = Type.Object({
  id: Type.String(),
  targetType: Type.Union([Type.Literal('message'), Type.Literal('user')]),
  /** The reported message's id, or null for a report of a user. */
  messageId: Type.Union([Type.String(), Type.Null()]),
  /** The reported user: the user reported, or the reported message's sender. */
  targetUserId: Type.String(),
  reason: ReportReason,
  note: Type.String(),
  status: ReportStatus,
  createdAt: IsoTime,
});
export type Report = Static<typeof Report>;

/** A report as admins see it: who reported, the message as it read then, and how it was closed. */
export const AdminReport = Type.Object({
  ...Report.properties,
  reporterId: Type.String(),
  conversationId: Type.Union([Type.String(), Type.Null()]),
  /** The reported message's content when it was reported (kept when the message is later removed). */
  messageContent: Type.Union([Type.String(), Type.Null()]),
  closedBy: Type.Union([Type.String(), Type.Null()]),
  closedAt: Type.Union([IsoTime, Type.Null()]),
  /** Set on resolved reports. */
  action: Type.Union([ReportAction, Type.Null()]),
  resolutionNote: Type.Union([Type.String(), Type.Null()]),
});
export type AdminReport = Static<typeof AdminReport>;

export const AdminReportPage = Page(AdminReport);

/** `GET /admin/reports`: one status (open by default), newest first. */
export const AdminReportsQuery = Type.Object({ status: Type.Optional(ReportStatus), ...PageQuery });
export type AdminReportsQuery = Static<typeof AdminReportsQuery>;

/** `POST /admin/reports/:id/resolve`. */
export const ResolveReportBody = Type.Object({ action: ReportAction, note: Type.Optional(Note) }, { additionalProperties: false });
export type ResolveReportBody = Static<typeof ResolveReportBody>;

/** `POST /admin/reports/:id/dismiss`. */
export const DismissReportBody = Type.Object({ note: Type.Optional(Note) }, { additionalProperties: false });
export type DismissReportBody = Static<typeof DismissReportBody>;
