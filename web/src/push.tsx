/**
 * Web Push on this device: the service worker (/sw.js) shows notifications while no Parley tab is
 * open. Off until the user clicks the button (the permission prompt comes from that click, never on
 * load); message text is included only with the preview toggle on.
 */
import { useEffect, useState } from 'preact/hooks';
import { showError } from './errors.js';
import { language, t } from './i18n.js';
import { api } from './state/client.js';

const supported = () => typeof window !== 'undefined' && 'serviceWorker' in navigator && 'PushManager' in window && typeof Notification !== 'undefined';

/** The VAPID key as `applicationServerKey` wants it: the raw bytes of the base64url text. */
function keyBytes(base64url: string): Uint8Array<ArrayBuffer> {
  const base64 = base64url
    .replace(/-/g, '+')
    .replace(/_/g, '/')
    .padEnd(Math.ceil(base64url.length / 4) * 4, '=');
  const binary = atob(base64);
  const bytes = new Uint8Array(new ArrayBuffer(binary.length));
  for (let i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i);
  return bytes;
}

async function registration(): Promise<ServiceWorkerRegistration> {
  await navigator.serviceWorker.register(`/sw.js?lang=${language()}`, { scope: '/' });
  return navigator.serviceWorker.ready;
}

async function currentSubscription(): Promise<PushSubscription | null> {
  const existing = await navigator.serviceWorker.getRegistration('/');
  return existing ? existing.pushManager.getSubscription() : null;
}

/** Sends the browser's subscription to the server (an upsert: the same endpoint updates its previews). */
async function save(subscription: PushSubscription, previews: boolean): Promise<void> {
  const json = subscription.toJSON();
  await api.push.subscribe({ endpoint: subscription.endpoint, keys: { p256dh: json.keys?.p256dh ?? '', auth: json.keys?.auth ?? '' }, previews });
}

type Status = 'unsupported' | 'off' | 'on' | 'denied';

/** The "this device" part of the notifications card. */
export function PushSettings() {
  const [status, setStatus] = useState<Status>(() => (!supported() ? 'unsupported' : Notification.permission === 'denied' ? 'denied' : 'off'));
  const [previews, setPreviews] = useState(false);
  const [busy, setBusy] = useState(false);

  useEffect(() => {
    if (!supported()) return;
    void (async () => {
      const subscription = await currentSubscription().catch(() => null);
      if (!subscription) return;
      const mine = (await api.push.list().catch(() => ({ items: [] }))).items.find((item) => item.endpoint === subscription.endpoint);
      if (!mine) return;
      setPreviews(mine.previews);
      setStatus('on');
    })();
  }, []);

  const act = async (work: () => Promise<void>) => {
    setBusy(true);
    try {
      await work();
    } catch (error) {
      // The browser's own failures (no push service reachable, a blocked prompt) are DOMExceptions in English.
      showError(error instanceof DOMException ? new Error(t('pushFailed')) : error);
    } finally {
      setBusy(false);
    }
  };

  const enable = () =>
    act(async () => {
      const permission = await Notification.requestPermission();
      if (permission !== 'granted') {
        setStatus(permission === 'denied' ? 'denied' : 'off');
        return;
      }
      const ready = await registration();
      const { publicKey } = await api.push.vapidPublicKey();
      const subscription = (await ready.pushManager.getSubscription()) ?? (await ready.pushManager.subscribe({ userVisibleOnly: true, applicationServerKey: keyBytes(publicKey) }));
      await save(subscription, previews);
      setStatus('on');
    });

  const disable = () =>
    act(async () => {
      const subscription = await currentSubscription();
      if (subscription) {
        const mine = (await api.push.list()).items.find((item) => item.endpoint === subscription.endpoint);
        if (mine) await api.push.unsubscribe(mine.id);
        await subscription.unsubscribe();
      }
      setStatus('off');
    });

  const togglePreviews = (on: boolean) =>
    act(async () => {
      setPreviews(on);
      const subscription = status === 'on' ? await currentSubscription() : null;
      if (subscription) await save(subscription, on);
    });

  return (
    <div class="stack" data-testid="push-settings">
      <p class="muted small">{t('pushHint')}</p>
      {status === 'unsupported' && <p class="small muted">{t('pushUnsupported')}</p>}
      {status === 'denied' && <p class="small muted">{t('notificationsDenied')}</p>}
      {status === 'on' ? (
        <div class="line">
          <span class="small" role="status">
            {t('pushOn')}
          </span>
          <button type="button" disabled={busy} onClick={() => void disable()}>
            {t('pushDisable')}
          </button>
        </div>
      ) : (
        <button type="button" disabled={busy || status === 'unsupported' || status === 'denied'} onClick={() => void enable()}>
          {t('pushEnable')}
        </button>
      )}
      <label class="check">
        <input type="checkbox" checked={previews} disabled={busy || status === 'unsupported'} onChange={(event) => void togglePreviews(event.currentTarget.checked)} />
        {t('pushPreviews')}
      </label>
    </div>
  );
}
