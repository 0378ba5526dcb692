/**
 * The admin page (`/admin`), loaded on demand and reached only by instance admins (`me.isAdmin`):
 * users (search, suspend and unsuspend, each confirmed), the report queue (resolve with an action,
 * or dismiss) and the audit log, a page at a time. The server refuses every /admin route to anyone
 * else (404), so this page hides nothing the API would show.
 */
import { useEffect, useId, useState } from 'preact/hooks';
import type { AdminReport, AdminUser, AuditEntry } from '../../src/client/index.js';
import { showError } from './errors.js';
import { formatTime, type StringKey, t } from './i18n.js';
import { REASON_TEXT, type Reason } from './report-dialog.js';
import { api } from './state/client.js';
import { rememberUsers, userName } from './state/loaders.js';
import { navigate } from './state/router.js';
import { update, useStore } from './state/state.js';
import { useAction, useConfirm } from './ui.js';

type Tab = 'users' | 'reports' | 'audit';
type Status = AdminReport['status'];
type Action = NonNullable<AdminReport['action']>;

const TABS: Array<[Tab, StringKey]> = [
  ['users', 'adminUsers'],
  ['reports', 'adminReports'],
  ['audit', 'adminAudit'],
];
const STATUS_TEXT: Record<Status, StringKey> = { open: 'statusOpen', resolved: 'statusResolved', dismissed: 'statusDismissed' };
const ACTION_TEXT: Record<Action, StringKey> = { none: 'actionNone', delete_message: 'actionDeleteMessage', suspend_user: 'actionSuspendUser' };
const AUDIT_TEXT: Record<string, StringKey> = {
  admin_granted: 'auditAdminGranted',
  admin_revoked: 'auditAdminRevoked',
  user_suspended: 'auditUserSuspended',
  user_unsuspended: 'auditUserUnsuspended',
  user_deleted: 'auditUserDeleted',
  password_reset: 'auditPasswordReset',
  message_deleted: 'auditMessageDeleted',
  group_dissolved: 'auditGroupDissolved',
  report_resolved: 'auditReportResolved',
  report_dismissed: 'auditReportDismissed',
};

function UsersTab() {
  const [q, setQ] = useState('');
  const [items, setItems] = useState<AdminUser[]>([]);
  const [cursor, setCursor] = useState<string | null>(null);
  const { busy, run } = useAction();
  const { confirm, dialog } = useConfirm();
  const searchId = useId();
  const load = async (more?: string) => {
    const page = await api.admin.users({ ...(q.trim() ? { q: q.trim() } : {}), ...(more ? { cursor: more } : {}), limit: 20 });
    setItems((previous) => (more ? [...previous, ...page.items] : page.items));
    setCursor(page.nextCursor);
  };
  useEffect(() => {
    const timer = setTimeout(() => void load().catch(showError), 200);
    return () => clearTimeout(timer);
  }, [q]);
  const replace = (user: AdminUser) => setItems((list) => list.map((u) => (u.id === user.id ? user : u)));
  return (
    <div class="stack">
      <label for={searchId} class="sr-only">
        {t('adminSearch')}
      </label>
      <input id={searchId} type="search" name="admin-search" placeholder={t('adminSearch')} maxLength={64} value={q} onInput={(e) => setQ(e.currentTarget.value)} />
      <ul class="list admin-users">
        {items.map((user) => {
          const name = user.nickname || user.username;
          return (
            <li class="row admin-row" data-user-id={user.id}>
              <div class="grow">
                <strong>{name}</strong> <span class="small muted">@{user.username}</span>
                {user.isAdmin && <span class="tag">{t('adminBadge')}</span>}
                {user.suspendedAt && <span class="tag danger">{t('suspendedBadge')}</span>}
              </div>
              {!user.isAdmin &&
                (user.suspendedAt ? (
                  <button
                    type="button"
                    disabled={busy}
                    onClick={() =>
                      confirm({
                        question: t('confirmUnsuspend', { name }),
                        confirmLabel: t('unsuspend'),
                        onConfirm: () => run(async () => replace(await api.admin.unsuspend(user.id))),
                      })
                    }
                  >
                    {t('unsuspend')}
                  </button>
                ) : (
                  <button
                    type="button"
                    class="danger"
                    disabled={busy}
                    onClick={() =>
                      confirm({
                        question: t('confirmSuspend', { name }),
                        detail: t('confirmSuspendDetail'),
                        confirmLabel: t('suspend'),
                        onConfirm: () => run(async () => replace(await api.admin.suspend(user.id))),
                      })
                    }
                  >
                    {t('suspend')}
                  </button>
                ))}
            </li>
          );
        })}
      </ul>
      {cursor && (
        <button type="button" onClick={() => void load(cursor).catch(showError)}>
          {t('loadMore')}
        </button>
      )}
      {dialog}
    </div>
  );
}

function ReportCard({ report, onClosed }: { report: AdminReport; onClosed: () => void }) {
  const [action, setAction] = useState<Action>(report.targetType === 'message' ? 'delete_message' : 'none');
  const [note, setNote] = useState('');
  const { busy, run } = useAction();
  const name = userName;
  const actionId = useId();
  const noteId = useId();
  const close = (how: 'resolve' | 'dismiss') =>
    run(async () => {
      const text = note.trim() || undefined;
      if (how === 'resolve') await api.admin.resolveReport(report.id, action, text);
      else await api.admin.dismissReport(report.id, text);
      update({ toast: t(how === 'resolve' ? 'reportResolved' : 'reportDismissed') });
      onClosed();
    });
  const actions: Action[] = report.targetType === 'message' ? ['none', 'delete_message', 'suspend_user'] : ['none', 'suspend_user'];
  return (
    <li class="card stack report-card" data-report-id={report.id}>
      <div class="row">
        <strong class="grow">{t(REASON_TEXT[report.reason as Reason])}</strong>
        <time class="small muted" dateTime={report.createdAt}>
          {formatTime(report.createdAt)}
        </time>
      </div>
      <span>{t('reportedUser', { name: name(report.targetUserId) })}</span>
      {report.messageContent !== null && <blockquote class="quote-text">{t('reportedMessage', { text: report.messageContent })}</blockquote>}
      {report.note && <p class="note">{report.note}</p>}
      <span class="small muted">{t('reportedBy', { name: name(report.reporterId) })}</span>
      {report.status === 'open' ? (
        <div class="stack">
          <label for={actionId}>{t('reportAction')}</label>
          <select id={actionId} name="report-action" value={action} onChange={(e) => setAction(e.currentTarget.value as Action)}>
            {actions.map((value) => (
              <option value={value}>{t(ACTION_TEXT[value])}</option>
            ))}
          </select>
          <label for={noteId}>{t('resolutionNote')}</label>
          <input id={noteId} name="resolution-note" maxLength={1000} value={note} onInput={(e) => setNote(e.currentTarget.value)} />
          <div class="row gap">
            <button type="button" class="primary" disabled={busy} onClick={() => void close('resolve')}>
              {t('resolve')}
            </button>
            <button type="button" disabled={busy} onClick={() => void close('dismiss')}>
              {t('dismiss')}
            </button>
          </div>
        </div>
      ) : (
        <span class="small">
          {t('closedBy', { status: t(STATUS_TEXT[report.status]), name: report.closedBy ? name(report.closedBy) : '' })}
          {report.action ? ` · ${t(ACTION_TEXT[report.action])}` : ''}
          {report.resolutionNote ? ` · ${report.resolutionNote}` : ''}
        </span>
      )}
    </li>
  );
}

function ReportsTab() {
  const [status, setStatus] = useState<Status>('open');
  const [items, setItems] = useState<AdminReport[]>([]);
  const [cursor, setCursor] = useState<string | null>(null);
  const statusId = useId();
  const load = async (more?: string) => {
    const page = await api.admin.reports({ status, ...(more ? { cursor: more } : {}), limit: 20 });
    setItems((previous) => (more ? [...previous, ...page.items] : page.items));
    setCursor(page.nextCursor);
  };
  useEffect(() => void load().catch(showError), [status]);
  return (
    <div class="stack">
      <label for={statusId}>{t('reportStatus')}</label>
      <select id={statusId} name="report-status" value={status} onChange={(e) => setStatus(e.currentTarget.value as Status)}>
        {(['open', 'resolved', 'dismissed'] as const).map((value) => (
          <option value={value}>{t(STATUS_TEXT[value])}</option>
        ))}
      </select>
      {items.length === 0 && <p class="muted">{t('noReports')}</p>}
      <ul class="list stack">
        {items.map((report) => (
          <ReportCard key={report.id} report={report} onClosed={() => setItems((list) => list.filter((r) => r.id !== report.id))} />
        ))}
      </ul>
      {cursor && (
        <button type="button" onClick={() => void load(cursor).catch(showError)}>
          {t('loadMore')}
        </button>
      )}
    </div>
  );
}

function AuditTab() {
  const [items, setItems] = useState<AuditEntry[]>([]);
  const [cursor, setCursor] = useState<string | null>(null);
  const load = async (more?: string) => {
    const page = await api.admin.audit(more, 20);
    setItems((previous) => (more ? [...previous, ...page.items] : page.items));
    setCursor(page.nextCursor);
  };
  useEffect(() => void load().catch(showError), []);
  const target = (entry: AuditEntry) => (entry.targetType === 'user' ? userName(entry.targetId) : `#${entry.targetId}`);
  return (
    <div class="stack">
      {items.length === 0 && <p class="muted">{t('noAudit')}</p>}
      <ul class="list audit">
        {items.map((entry) => {
          const key = AUDIT_TEXT[entry.action];
          return (
            <li class="row audit-row" data-audit-id={entry.id}>
              <time class="small muted" dateTime={entry.createdAt}>
                {formatTime(entry.createdAt)}
              </time>
              <span class="grow">
                <strong>{userName(entry.actorId)}</strong> {key ? t(key, { target: target(entry) }) : `${entry.action} ${target(entry)}`}
                {entry.details?.reason || entry.details?.note ? <span class="small muted"> · {entry.details.reason ?? entry.details.note}</span> : null}
              </span>
            </li>
          );
        })}
      </ul>
      {cursor && (
        <button type="button" onClick={() => void load(cursor).catch(showError)}>
          {t('loadMore')}
        </button>
      )}
    </div>
  );
}

export function AdminPage() {
  const { me } = useStore();
  const [tab, setTab] = useState<Tab>('reports');
  useEffect(() => {
    if (me && !me.isAdmin) navigate('/me', true);
  }, [me]);
  // The user list also feeds names elsewhere on the page.
  useEffect(() => {
    api.admin
      .users({ limit: 50 })
      .then((page) => rememberUsers(page.items))
      .catch(() => {});
  }, []);
  if (!me?.isAdmin) return null;
  return (
    <section class="scroll admin" aria-label={t('adminPage')}>
      <header class="bar">
        <button type="button" class="icon back" aria-label={t('back')} onClick={() => navigate('/me')}>
          ‹
        </button>
        <h2>{t('adminPage')}</h2>
      </header>
      <div class="stack pad page-body">
        <div class="tabs" role="tablist" aria-label={t('adminPage')}>
          {TABS.map(([value, label]) => (
            <button type="button" role="tab" aria-selected={tab === value} class={tab === value ? 'active' : ''} onClick={() => setTab(value)}>
              {t(label)}
            </button>
          ))}
        </div>
        <div role="tabpanel">{tab === 'users' ? <UsersTab /> : tab === 'reports' ? <ReportsTab /> : <AuditTab />}</div>
      </div>
    </section>
  );
}
