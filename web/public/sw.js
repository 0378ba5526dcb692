/**
 * Parley's service worker: shows Web Push notifications (payloads as docs/protocol.md "Web Push"
 * describes them) and opens or focuses the chat when one is clicked. Plain JavaScript, served as is
 * from the site root so its scope is the whole app. The language comes from the registration URL
 * (`/sw.js?lang=zh`), which the page sets from the user's choice.
 */
const TEXT = {
  en: { message: 'New message', call: 'Incoming call', videoCall: 'Incoming video call', missed: 'Tap to call back' },
  zh: { message: '新消息', call: '来电', videoCall: '视频来电', missed: '点按回拨' },
};

function language() {
  const lang = new URL(self.location.href).searchParams.get('lang');
  return lang === 'zh' ? 'zh' : 'en';
}

/** The title and options of the notification a push payload shows. */
function notificationFor(payload, lang) {
  const text = TEXT[lang] ?? TEXT.en;
  const conversationId = typeof payload.conversationId === 'string' ? payload.conversationId : '';
  const sender = typeof payload.senderName === 'string' && payload.senderName !== '' ? payload.senderName : 'Parley';
  const url = conversationId ? `/chats/${encodeURIComponent(conversationId)}` : '/';
  if (payload.type === 'call') {
    return { title: sender, options: { body: payload.media === 'video' ? text.videoCall : text.call, tag: `call:${conversationId}`, renotify: true, data: { url } } };
  }
  const body = typeof payload.text === 'string' && payload.text !== '' ? payload.text : text.message;
  // One notification per conversation: a newer message replaces the older one.
  return { title: sender, options: { body, tag: conversationId || 'parley', renotify: true, data: { url } } };
}

function parse(data) {
  try {
    return data ? data.json() : {};
  } catch {
    return {};
  }
}

self.addEventListener('install', () => self.skipWaiting());
self.addEventListener('activate', (event) => event.waitUntil(self.clients.claim()));

self.addEventListener('push', (event) => {
  const { title, options } = notificationFor(parse(event.data), language());
  event.waitUntil(self.registration.showNotification(title, options));
});

self.addEventListener('notificationclick', (event) => {
  event.notification.close();
  const path = event.notification.data?.url ?? '/';
  event.waitUntil(
    self.clients.matchAll({ type: 'window', includeUncontrolled: true }).then((windows) => {
      const open = windows.find((client) => new URL(client.url).origin === self.location.origin);
      if (!open) return self.clients.openWindow(path);
      // The open app routes there itself (no reload): web/src/notify.tsx listens for this message.
      open.postMessage({ type: 'parley:open', url: path });
      return open.focus();
    }),
  );
});

self.parleyNotificationFor = notificationFor;
