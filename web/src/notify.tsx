/**
 * Desktop notifications and a sound for messages that arrive while the tab is hidden, both off
 * until the user turns them on in settings (the browser's permission is asked from that click,
 * never on load), and the unread count in the tab title.
 */
import { useEffect, useState } from 'preact/hooks';
import type { MessageDelivery } from '../../src/client/index.js';
import { conversationTitle, preview } from './chat.js';
import { t } from './i18n.js';
import { PushSettings } from './push.js';
import { onSocket } from './state/live.js';
import { userName } from './state/loaders.js';
import { navigate } from './state/router.js';
import { getState } from './state/state.js';

const NOTIFY_KEY = 'parley.notifications';
const SOUND_KEY = 'parley.sound';
const isOn = (key: string) => localStorage.getItem(key) === 'on';
const supported = () => typeof Notification !== 'undefined';

function announce(message: MessageDelivery): void {
  const s = getState();
  if (document.visibilityState !== 'hidden' || message.senderId === s.me?.id || message.type === 'system') return;
  // The server decided for this reader (their setting for the chat, mentions, blocks): false stays silent.
  if (message.notify === false) return;
  if (isOn(SOUND_KEY)) chime();
  if (!isOn(NOTIFY_KEY) || !supported() || Notification.permission !== 'granted') return;
  const conversation = s.conversations.find((c) => c.id === message.conversationId);
  const sender = userName(message.senderId);
  const title = conversation?.group ? `${sender} · ${conversationTitle(conversation)}` : sender;
  // One notification per conversation: a newer message replaces the older one.
  try {
    const notification = new Notification(title, { body: preview(message), tag: message.conversationId });
    notification.onclick = () => {
      window.focus();
      navigate(`/chats/${encodeURIComponent(message.conversationId)}`);
      notification.close();
    };
  } catch {
    // Some mobile browsers show notifications only from a service worker: the sound still plays.
  }
}

/** A short two-note chime, synthesized (no sound file to download). */
function chime(): void {
  try {
    const audio = new AudioContext();
    const gain = audio.createGain();
    gain.connect(audio.destination);
    gain.gain.setValueAtTime(0.15, audio.currentTime);
    gain.gain.exponentialRampToValueAtTime(0.001, audio.currentTime + 0.35);
    for (const [frequency, at] of [
      [880, 0],
      [1320, 0.12],
    ] as const) {
      const tone = audio.createOscillator();
      tone.frequency.value = frequency;
      tone.connect(gain);
      tone.start(audio.currentTime + at);
      tone.stop(audio.currentTime + at + 0.2);
    }
    setTimeout(() => void audio.close(), 600);
  } catch {
    // No audio output (or autoplay refused before any click on the page): silence is fine.
  }
}

onSocket((socket) => socket.on('chat', announce));

// A click on a push notification while the app is open: the service worker asks this tab to route there.
if (typeof navigator !== 'undefined' && 'serviceWorker' in navigator) {
  navigator.serviceWorker.addEventListener('message', (event: MessageEvent<{ type?: string; url?: string }>) => {
    const url = event.data?.url;
    if (event.data?.type === 'parley:open' && typeof url === 'string' && url.startsWith('/') && !url.startsWith('//')) navigate(url);
  });
}

/** The settings card: notifications (asks the browser's permission) and sound, each off by default. */
export function NotificationSettings() {
  const [notify, setNotify] = useState(() => isOn(NOTIFY_KEY) && supported() && Notification.permission === 'granted');
  const [sound, setSound] = useState(() => isOn(SOUND_KEY));
  const [denied, setDenied] = useState(() => supported() && Notification.permission === 'denied');
  const toggleNotify = async (on: boolean) => {
    if (on && supported() && Notification.permission !== 'granted') {
      const answer = await Notification.requestPermission();
      setDenied(answer === 'denied');
      if (answer !== 'granted') return;
    }
    localStorage.setItem(NOTIFY_KEY, on ? 'on' : 'off');
    setNotify(on);
  };
  return (
    <section class="card stack" aria-label={t('notifications')}>
      <h3>{t('notifications')}</h3>
      <p class="muted small">{t('notificationsHint')}</p>
      <label class="check">
        <input
          type="checkbox"
          checked={notify}
          disabled={!supported()}
          onChange={(event) => {
            const wanted = event.currentTarget.checked;
            // Shown as on only once the browser allows it (its answer may never come, or be no).
            event.currentTarget.checked = notify;
            void toggleNotify(wanted);
          }}
        />
        {t('desktopNotifications')}
      </label>
      {denied && <p class="small muted">{t('notificationsDenied')}</p>}
      <label class="check">
        <input
          type="checkbox"
          checked={sound}
          onChange={(event) => {
            localStorage.setItem(SOUND_KEY, event.currentTarget.checked ? 'on' : 'off');
            setSound(event.currentTarget.checked);
            if (event.currentTarget.checked) chime();
          }}
        />
        {t('messageSound')}
      </label>
      <PushSettings />
    </section>
  );
}

/** "(3) Parley" while messages wait unread (the same total as the Chats tab's badge). */
export function useUnreadTitle(unread: number): void {
  useEffect(() => {
    document.title = unread > 0 ? `(${unread > 99 ? '99+' : unread}) ${t('appName')}` : t('appName');
  }, [unread]);
}
