import { useEffect, useState } from 'preact/hooks';
import type { LoginLog, Session } from '../../src/client/index.js';
import { showError } from './errors.js';
import { formatTime, t } from './i18n.js';
import { NotificationSettings } from './notify.js';
import { api } from './state/client.js';
import { rememberUsers } from './state/loaders.js';
import { navigate } from './state/router.js';
import { logout, upgradeGuest } from './state/session.js';
import { update, useStore } from './state/state.js';
import { Avatar, LanguageSwitch, useAction } from './ui.js';

function shortAgent(agent: string): string {
  const browser = /(Edg|Chrome|Firefox|Safari)\/[\d.]+/.exec(agent)?.[0];
  return browser ?? (agent.slice(0, 40) || '—');
}

function UpgradeForm() {
  const [username, setUsername] = useState('');
  const [password, setPassword] = useState('');
  const { busy, run } = useAction();
  return (
    <form
      class="card stack"
      aria-label={t('upgrade')}
      onSubmit={(event) => {
        event.preventDefault();
        void run(() => upgradeGuest({ username, password }));
      }}
    >
      <h3>{t('upgrade')}</h3>
      <p class="muted small">{t('upgradeHint')}</p>
      <label>
        {t('username')}
        <input name="upgrade-username" autoComplete="username" required minLength={3} maxLength={32} value={username} onInput={(e) => setUsername(e.currentTarget.value)} />
      </label>
      <label>
        {t('password')}
        <input name="upgrade-password" type="password" autoComplete="new-password" required minLength={8} value={password} onInput={(e) => setPassword(e.currentTarget.value)} />
      </label>
      <button class="primary" type="submit" disabled={busy}>
        {t('upgrade')}
      </button>
    </form>
  );
}

export function MePage() {
  const { me, features } = useStore();
  const [nickname, setNickname] = useState(me?.nickname ?? '');
  const [bio, setBio] = useState(me?.bio ?? '');
  const [statusText, setStatusText] = useState(me?.profile.statusText ?? '');
  const [smartReplies, setSmartReplies] = useState(me?.profile.smartReplies ?? false);
  const [sessions, setSessions] = useState<Session[]>([]);
  const [logs, setLogs] = useState<LoginLog[]>([]);
  const [logCursor, setLogCursor] = useState<string | null>(null);
  const [saved, setSaved] = useState(false);
  const { busy, run } = useAction();
  const loadSessions = () => api.auth.sessions().then((r) => setSessions(r.items));
  const loadLogs = async (cursor?: string) => {
    const page = await api.auth.loginLogs(cursor, 10);
    setLogs((previous) => (cursor ? [...previous, ...page.items] : page.items));
    setLogCursor(page.nextCursor);
  };
  useEffect(() => {
    Promise.all([loadSessions(), loadLogs()]).catch(showError);
  }, []);
  if (!me) return null;

  return (
    <section class="scroll" aria-label={t('me')}>
      <header class="bar">
        <h2>{t('me')}</h2>
        <LanguageSwitch />
      </header>
      <div class="stack pad">
        {me.isGuest && <UpgradeForm />}
        <div class="profile-head">
          <Avatar name={me.nickname || me.username} url={me.avatarUrl} size={72} />
          <div>
            <strong>{me.nickname}</strong> {me.isGuest && <span class="tag">{t('guestTag')}</span>}
            <div class="muted small">@{me.username}</div>
            <label class="button">
              {t('changeAvatar')}
              <input
                class="sr-only"
                type="file"
                accept="image/png,image/jpeg,image/webp,image/gif"
                aria-label={t('changeAvatar')}
                onChange={(event) => {
                  const file = event.currentTarget.files?.[0];
                  if (!file) return;
                  void run(async () => {
                    const { avatarUrl } = await api.users.setAvatar(file, file.name);
                    const updated = { ...me, avatarUrl };
                    rememberUsers([updated]);
                    update({ me: updated });
                  });
                }}
              />
            </label>
          </div>
        </div>
        <form
          class="card stack"
          aria-label={t('profile')}
          onSubmit={(event) => {
            event.preventDefault();
            void run(async () => {
              const updated = await api.users.updateMe({ nickname: nickname.trim() || me.nickname, bio, statusText: statusText || null });
              rememberUsers([updated]);
              update({ me: updated });
              setSaved(true);
            });
          }}
        >
          <h3>{t('profile')}</h3>
          <label>
            {t('nickname')}
            <input maxLength={64} value={nickname} onInput={(e) => (setNickname(e.currentTarget.value), setSaved(false))} />
          </label>
          <label>
            {t('statusText')}
            <input maxLength={140} value={statusText} onInput={(e) => (setStatusText(e.currentTarget.value), setSaved(false))} />
          </label>
          <label>
            {t('bio')}
            <textarea maxLength={500} rows={2} value={bio} onInput={(e) => (setBio(e.currentTarget.value), setSaved(false))} />
          </label>
          <button type="submit" disabled={busy}>
            {saved ? t('saved') : t('save')}
          </button>
        </form>
        {features.ai && (
          <div class="card stack">
            <h3>{t('privacy')}</h3>
            <label class="check">
              <input
                type="checkbox"
                checked={smartReplies}
                disabled={busy}
                onChange={(event) => {
                  // Shown at once; put back if the server refuses the change.
                  const wanted = event.currentTarget.checked;
                  setSmartReplies(wanted);
                  void run(async () => {
                    try {
                      update({ me: await api.users.updateMe({ smartReplies: wanted }) });
                    } catch (error) {
                      setSmartReplies(!wanted);
                      throw error;
                    }
                  });
                }}
              />
              {t('smartReplies')}
            </label>
            <p class="small muted">{t('smartRepliesHint')}</p>
          </div>
        )}
        {!me.isGuest && (
          <a
            class="button"
            href="/me/password"
            onClick={(event) => {
              event.preventDefault();
              navigate('/me/password');
            }}
          >
            {t('changePassword')}
          </a>
        )}
        {!me.isGuest && (
          <a
            class="button"
            href="/me/bots"
            onClick={(event) => {
              event.preventDefault();
              navigate('/me/bots');
            }}
          >
            {t('botsPage')}
          </a>
        )}
        {me.isAdmin && (
          <a
            class="button"
            href="/admin"
            onClick={(event) => {
              event.preventDefault();
              navigate('/admin');
            }}
          >
            {t('adminPage')}
          </a>
        )}
        <NotificationSettings />
        <div class="card">
          <h3>{t('sessions')}</h3>
          <ul class="plain" data-testid="sessions">
            {sessions.map((session) => (
              <li class="line">
                <span>
                  {shortAgent(session.userAgent)} · {session.ip}
                  {session.current && <strong> ({t('thisDevice')})</strong>}
                  <span class="small muted"> · {formatTime(session.lastUsedAt)}</span>
                </span>
                {!session.current && (
                  <button type="button" onClick={() => void run(async () => (await api.auth.revokeSession(session.id), await loadSessions()))}>
                    {t('revoke')}
                  </button>
                )}
              </li>
            ))}
          </ul>
        </div>
        <div class="card">
          <h3>{t('loginHistory')}</h3>
          <ul class="plain" data-testid="login-logs">
            {logs.map((log) => (
              <li class="line small">
                <span>
                  {formatTime(log.createdAt)} · {log.method} · {log.ip} · {shortAgent(log.userAgent)}
                </span>
                <span class={log.success ? 'ok' : 'bad'}>{log.success ? t('success') : t('failed')}</span>
              </li>
            ))}
          </ul>
          {logCursor && (
            <button type="button" onClick={() => void run(() => loadLogs(logCursor))}>
              {t('loadMore')}
            </button>
          )}
        </div>
        <button type="button" class="danger" onClick={() => void logout()}>
          {t('logout')}
        </button>
      </div>
    </section>
  );
}
