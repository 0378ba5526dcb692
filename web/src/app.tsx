import { useEffect, useState } from 'preact/hooks';
import type { JSX } from 'preact';
import { AssistantPage } from './ai.js';
import { CallOverlay } from './calls.js';
import { ChatList, ConversationView } from './chat.js';
import { Contacts, GroupInfo, NewGroup } from './contacts.js';
import { t } from './i18n.js';
import { MePage } from './me.js';
import { useUnreadTitle } from './notify.js';
import { client } from './state/client.js';
import { navigate } from './state/router.js';
import { signedIn } from './state/session.js';
import { update, useStore } from './state/state.js';
import { LanguageSwitch, useAction } from './ui.js';

function AuthScreen() {
  const [mode, setMode] = useState<'login' | 'signup'>('login');
  const [username, setUsername] = useState('');
  const [password, setPassword] = useState('');
  const [nickname, setNickname] = useState('');
  const { busy, run } = useAction();
  const submit = (event: JSX.TargetedEvent<HTMLFormElement>) => {
    event.preventDefault();
    void run(async () => {
      const result = mode === 'login' ? await client.login({ username, password }) : await client.register({ username, password, ...(nickname ? { nickname } : {}) });
      await signedIn(result);
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
  const tabs = [
    { path: '/chats', label: t('chats'), badge: unread },
    { path: '/contacts', label: t('contacts'), badge: incoming },
    ...(useStore().features.ai ? [{ path: '/ai', label: t('assistant'), badge: 0 }] : []),
    { path: '/me', label: t('me'), badge: 0 },
  ];
  return (
    <nav class="tabbar" aria-label="Main">
      {tabs.map((tab) => (
        <a
          href={tab.path}
          aria-current={route.startsWith(tab.path) ? 'page' : undefined}
          onClick={(event) => {
            event.preventDefault();
            navigate(tab.path);
          }}
        >
          {tab.label}
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
  let main: JSX.Element;
  let listPane = false;
  if (chat?.[1]) main = <ConversationView key={chat[1]} conversationId={decodeURIComponent(chat[1])} />;
  else if (route === '/groups/new') main = <NewGroup />;
  else if (group?.[1]) main = <GroupInfo key={group[1]} groupId={decodeURIComponent(group[1])} />;
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
  if (wide && listPane) main = <p class="center muted">{t('pickChat')}</p>;
  const inChat = !!chat;
  return (
    <div class={`shell ${wide ? 'wide' : 'narrow'} ${inChat ? 'in-chat' : ''}`}>
      {!s.connected && <div class="offline-bar">{t('connecting')}</div>}
      {wide && (
        <aside class="side">
          <ChatList />
        </aside>
      )}
      <div class="pane">{main}</div>
      {(wide || !inChat) && <TabBar route={route} />}
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
