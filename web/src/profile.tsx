/**
 * A contact's profile page (`/users/:id`): avatar, names, status line, bio, presence and last seen,
 * with Message, Remove friend and Block. Reached from a contact row or a private chat's header; a
 * `user_updated` while it is open shows at once (the store's copy of the user wins over the fetch).
 */
import { useEffect, useState } from 'preact/hooks';
import type { UserProfile } from '../../src/client/index.js';
import { showError } from './errors.js';
import { language, t } from './i18n.js';
import { ReportDialog } from './report-dialog.js';
import { openPrivateChat } from './state/actions.js';
import { api } from './state/client.js';
import { loadContacts, rememberUsers } from './state/loaders.js';
import { navigate } from './state/router.js';
import { useStore } from './state/state.js';
import { Avatar, useAction, useConfirm } from './ui.js';

const UNITS: Array<[Intl.RelativeTimeFormatUnit, number]> = [
  ['year', 365 * 86_400],
  ['month', 30 * 86_400],
  ['week', 7 * 86_400],
  ['day', 86_400],
  ['hour', 3600],
  ['minute', 60],
];

/** "5 minutes ago", "昨天": the largest unit that fits, in the reader's language. */
export function timeAgo(iso: string, now = Date.now()): string {
  const seconds = Math.round((new Date(iso).getTime() - now) / 1000);
  const format = new Intl.RelativeTimeFormat(language() === 'zh' ? 'zh-CN' : 'en', { numeric: 'auto' });
  for (const [unit, size] of UNITS) if (Math.abs(seconds) >= size) return format.format(Math.round(seconds / size), unit);
  return format.format(0, 'minute');
}

export function UserProfilePage({ userId }: { userId: string }) {
  const s = useStore();
  const [fetched, setFetched] = useState<UserProfile | null>(null);
  const { busy, run } = useAction();
  const { confirm, dialog } = useConfirm();
  const [reporting, setReporting] = useState(false);
  const load = () =>
    api.users.get(userId).then((profile) => {
      setFetched(profile);
      rememberUsers([profile]);
    });
  useEffect(() => {
    load().catch((error: unknown) => {
      showError(error);
      navigate('/contacts', true);
    });
  }, [userId]);
  // Went offline while the page is open: read the new last-seen time.
  const live = s.presence[userId];
  useEffect(() => {
    if (fetched?.presence && live && live !== fetched.presence.status) void load().catch(() => {});
  }, [live]);
  if (!fetched) return <p class="center muted">…</p>;

  const user = { ...fetched, ...s.users[userId] };
  const name = user.nickname || user.username;
  const isFriend = s.friends.some((f) => f.user.id === userId);
  const isMe = s.me?.id === userId;
  const status = fetched.presence ? (live ?? fetched.presence.status) : undefined;
  const lastSeenAt = fetched.presence?.lastSeenAt ?? null;
  const seen =
    status === undefined
      ? null
      : status !== 'offline'
        ? t(status === 'online' ? 'onlineNow' : 'away')
        : lastSeenAt
          ? t('lastSeen', { time: timeAgo(lastSeenAt) })
          : t('lastSeenNever');

  const askRemove = () =>
    confirm({
      question: t('confirmRemoveFriend', { name }),
      detail: t('confirmRemoveFriendDetail'),
      confirmLabel: t('removeFriend'),
      onConfirm: () => run(async () => (await api.friends.remove(userId), await loadContacts())),
    });
  const askBlock = () =>
    confirm({
      question: t('confirmBlock', { name }),
      detail: t(isFriend ? 'confirmBlockFriendDetail' : 'confirmBlockDetail'),
      confirmLabel: t('block'),
      onConfirm: () => run(async () => (await api.friends.block(userId), await loadContacts(), navigate('/contacts'))),
    });

  return (
    <section class="scroll" aria-label={t('viewProfile', { name })}>
      <header class="bar">
        <button type="button" class="icon back" aria-label={t('back')} onClick={() => (history.length > 1 ? history.back() : navigate('/contacts'))}>
          ‹
        </button>
        <h2>{t('profile')}</h2>
      </header>
      <div class="stack pad page-body">
        <div class="profile-head">
          <Avatar name={name} url={user.avatarUrl} status={status} size={72} />
          <div class="profile-names">
            <h3 class="profile-name">
              {name} {user.isGuest && <span class="tag">{t('guestTag')}</span>}
            </h3>
            <div class="muted small">@{user.username}</div>
            {seen && (
              <div class="small" data-testid="last-seen">
                {seen}
              </div>
            )}
          </div>
        </div>
        <dl class="card profile-fields">
          <dt>{t('statusText')}</dt>
          <dd class={user.statusText ? '' : 'muted'}>{user.statusText || t('noStatus')}</dd>
          <dt>{t('bio')}</dt>
          <dd class={user.bio ? 'bio' : 'muted'}>{user.bio || t('noBio')}</dd>
        </dl>
        {!isMe && (
          <div class="profile-actions">
            <button type="button" class="primary" disabled={busy} onClick={() => void run(() => openPrivateChat(userId))}>
              {t('message')}
            </button>
            {isFriend && (
              <button type="button" disabled={busy} onClick={askRemove}>
                {t('removeFriend')}
              </button>
            )}
            <button type="button" class="danger" disabled={busy} onClick={askBlock}>
              {t('block')}
            </button>
            <button type="button" disabled={busy} onClick={() => setReporting(true)}>
              {t('report')}
            </button>
          </div>
        )}
      </div>
      {dialog}
      {reporting && <ReportDialog target={{ userId }} onClose={() => setReporting(false)} />}
    </section>
  );
}
