import type { JSX } from 'preact';
import { useEffect, useState } from 'preact/hooks';
import { CallOverlay } from './calls.js';
import { ChatList, ConversationView } from './chat.js';
import { Contacts, GroupInfo, NewGroup } from './contacts.js';
import { detailSentence } from './error-text.js';
import { showError } from './errors.js';
import { InviteJoin } from './group-invite-links.js';
import { language, t } from './i18n.js';
import { Icon, type IconName } from './icons.js';
import { lazyPage } from './lazy.js';
import { useUnreadTitle } from './notify.js';
import { client } from './state/client.js';
import { navigate } from './state/router.js';
import { signedIn } from './state/session.js';
import { update, useStore } from './state/state.js';
import { LanguageSwitch, useAction } from './ui.js';

// Loaded when first opened (see lazy.tsx); each is its own chunk.
const AssistantPage = lazyPage(() => import('./ai.js').then((m) => m.AssistantPage));
const MePage = lazyPage(() => import('./me.js').then((m) => m.MePage));
const PasswordPage = lazyPage(() => import('./password.js').then((m) => m.PasswordPage));
const UserProfilePage = lazyPage(() => import('./profile.js').then((m) => m.UserProfilePage));
// Admins only (me.isAdmin): nobody else ever downloads it.
const AdminPage = lazyPage(() => import('./admin.js').then((m) => m.AdminPage));
const BotsPage = lazyPage(() => import('./bots.js').then((m) => m.BotsPage));

function AuthScreen() {
  const [mode, setMode] = useState<'login' | 'signup'>('login');
  const [username, setUsername] = useState('');
  const [password, setPassword] = useState('');
  const [nickname, setNickname] = useState('');
  const { busy, run } = useAction();
  const submit = (event: JSX.TargetedEvent<HTMLFormElement>) => {
    event.preventDefault();
    void run(async () => {
      try {
        const result = mode === 'login' ? await client.login({ username, password }) : await client.register({ username, password, ...(nickname ? { nickname } : {}) });
        await signedIn(result);
      } catch (error) {
        // A refused login is about the credentials, not an ended session.
        showError(error, mode === 'login' ? { UNAUTHORIZED: detailSentence('wrongCredentials', language()) } : {});
      }
    });
  };
  return (
    <main class="auth">
      <header class="auth-head">
        <h1>{t('appName')}</h1>
        <LanguageSwitch />
      </header>
      <div class="tabs" role="tablist">
        {(['login', 'signup'] as const).map((tab) => (
          <button type="button" role="tab" aria-selected={mode === tab} class={mode === tab ? 'active' : ''} onClick={() => setMode(tab)}>
            {t(tab)}
          </button>
        ))}
      </div>
      <form class="card stack" onSubmit={submit}>
        <label>
          {t('username')}
          <input name="username" autoComplete="username" required minLength={3} maxLength={32} value={username} onInput={(e) => setUsername(e.currentTarget.value)} />
        </label>
        {mode === 'signup' && (
          <label>
            {t('nickname')}
            <input name="nickname" maxLength={64} value={nickname} onInput={(e) => setNickname(e.currentTarget.value)} />
          </label>
        )}
        <label>
          {t('password')}
          <input
            name="password"
            type="password"
            autoComplete={mode === 'login' ? 'current-password' : 'new-password'}
            required
            minLength={8}
            value={password}
            onInput={(e) => setPassword(e.currentTarget.value)}
          />
        </label>
        <button class="primary" type="submit" disabled={busy}>
          {t(mode)}
        </button>
      </form>
      <div class="card stack">
        <p class="muted">{t('guestHint')}</p>
        <button type="button" disabled={busy} onClick={() => void run(async () => signedIn(await client.guest()))}>
          {t('guest')}
        </button>
      </div>
    </main>
  );
}

function TabBar({ route }: { route: string }) {
  const unread = useStore().conversations.reduce((sum, c) => sum + c.unreadCount, 0);
  const incoming = useStore().incoming.length + useStore().invitations.length;
  const tabs: Array<{ path: string; icon: IconName; label: string; badge: number }> = [
    { path: '/chats', icon: 'chats', label: t('chats'), badge: unread },
    { path: '/contacts', icon: 'contacts', label: t('contacts'), badge: incoming },
    ...(useStore().features.ai ? [{ path: '/ai', icon: 'assistant' as const, label: t('assistant'), badge: 0 }] : []),
    { path: '/me', icon: 'me', label: t('me'), badge: 0 },
  ];
  // A bar along the bottom on phones, a rail down the left on wide screens (styles.css).
  return (
    <nav class="tabbar" aria-label={t('mainNav')}>
      {tabs.map((tab) => (
        <a
          href={tab.path}
          aria-current={route.startsWith(tab.path) ? 'page' : undefined}
          onClick={(event) => {
            event.preventDefault();
            navigate(tab.path);
          }}
        >
          <Icon name={tab.icon} />
          <span class="tab-label">{tab.label}</span>
          {tab.badge > 0 && <span class="badge">{tab.badge > 99 ? '99+' : tab.badge}</span>}
        </a>
      ))}
    </nav>
  );
}

function Toast() {
  const { toast } = useStore();
  if (!toast) return null;
  return (
    <div class="toast" role="alert">
      <span>{toast}</span>
      <button type="button" class="link" onClick={() => update({ toast: null })}>
        {t('close')}
      </button>
    </div>
  );
}

export function App() {
  const s = useStore();
  const wide = useWide();
  useUnreadTitle(s.me ? s.conversations.reduce((sum, c) => sum + c.unreadCount, 0) : 0);
  if (s.booting) return <p class="center muted">{t('connecting')}</p>;
  if (!s.me) {
    return (
      <>
        <AuthScreen />
        <Toast />
      </>
    );
  }
  const route = s.route;
  const chat = /^\/chats\/([^/]+)$/.exec(route);
  const group = /^\/groups\/([^/]+)$/.exec(route);
  const invite = /^\/invite\/([^/]+)$/.exec(route);
  const person = /^\/users\/([^/]+)$/.exec(route);
  let main: JSX.Element;
  let listPane = false;
  if (chat?.[1]) main = <ConversationView key={chat[1]} conversationId={decodeURIComponent(chat[1])} />;
  else if (route === '/groups/new') main = <NewGroup />;
  else if (group?.[1]) main = <GroupInfo key={group[1]} groupId={decodeURIComponent(group[1])} />;
  else if (invite?.[1]) main = <InviteJoin key={invite[1]} code={decodeURIComponent(invite[1])} />;
  else if (person?.[1]) main = <UserProfilePage key={person[1]} userId={decodeURIComponent(person[1])} />;
  else if (route === '/me/password') main = <PasswordPage />;
  else if (route === '/admin') main = <AdminPage />;
  else if (route === '/me/bots') main = <BotsPage />;
  else if (route.startsWith('/contacts')) main = <Contacts />;
  else if (route === '/ai' || route.startsWith('/ai/')) {
    const id = route.slice('/ai/'.length);
    main = <AssistantPage key={id || 'new'} conversationId={route.startsWith('/ai/') && id ? decodeURIComponent(id) : null} />;
  } else if (route.startsWith('/me')) main = <MePage />;
  else {
    main = <ChatList />;
    listPane = true;
  }
  // Phones show one pane at a time; wide screens keep the conversation list beside it.
  if (wide && listPane) main = <p class="center muted pick">{t('pickChat')}</p>;
  const inChat = !!chat;
  return (
    <div class={`shell ${wide ? 'wide' : 'narrow'} ${inChat ? 'in-chat' : ''}`}>
      {!s.connected && <div class="offline-bar">{t('connecting')}</div>}
      {/* On wide screens the navigation rail comes first, in reading and Tab order. */}
      {wide && <TabBar route={route} />}
      {wide && (
        <aside class="side">
          <ChatList />
        </aside>
      )}
      <div class="pane">{main}</div>
      {!wide && !inChat && <TabBar route={route} />}
      <CallOverlay />
      <Toast />
    </div>
  );
}

function useWide(): boolean {
  const query = '(min-width: 860px)';
  const [wide, setWide] = useState(() => matchMedia(query).matches);
  useEffect(() => {
    const list = matchMedia(query);
    const onChange = () => setWide(list.matches);
    list.addEventListener('change', onChange);
    return () => list.removeEventListener('change', onChange);
  }, []);
  return wide;
}
