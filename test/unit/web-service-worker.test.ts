import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { runInNewContext } from 'node:vm';
import { describe, expect, it } from 'vitest';

const SW = readFileSync(path.join(path.dirname(fileURLToPath(import.meta.url)), '..', '..', 'web', 'public', 'sw.js'), 'utf8');

type Handler = (event: Record<string, unknown>) => void;

/** Runs web/public/sw.js in a bare context standing in for a service worker's global scope. */
function serviceWorker(url = 'https://chat.example/sw.js?lang=en', windows: Array<{ url: string }> = []) {
  const handlers = new Map<string, Handler>();
  const shown: Array<{ title: string; options: Record<string, unknown> }> = [];
  const posted: unknown[] = [];
  const opened: string[] = [];
  let focused = 0;
  const clients = windows.map((w) => ({
    ...w,
    postMessage: (m: unknown) => posted.push(m),
    focus: async () => {
      focused++;
    },
  }));
  const self = {
    location: new URL(url),
    addEventListener: (type: string, handler: Handler) => handlers.set(type, handler),
    skipWaiting: () => {},
    registration: { showNotification: async (title: string, options: Record<string, unknown>) => void shown.push({ title, options }) },
    clients: { claim: async () => {}, matchAll: async () => clients, openWindow: async (target: string) => void opened.push(target) },
  };
  runInNewContext(SW, { self, URL, encodeURIComponent });
  /** Dispatches an event and waits for what it passed to waitUntil. */
  async function dispatch(type: string, event: Record<string, unknown>): Promise<void> {
    let pending: Promise<unknown> = Promise.resolve();
    handlers.get(type)?.({ ...event, waitUntil: (work: Promise<unknown>) => (pending = work) });
    await pending;
  }
  const push = (payload: unknown) => dispatch('push', { data: { json: () => payload } });
  return { dispatch, push, shown, posted, opened, focused: () => focused };
}

describe('the service worker (web/public/sw.js)', () => {
  it('shows a message push with its sender, and the text only when the payload carries it', async () => {
    const sw = serviceWorker();
    await sw.push({ type: 'message', conversationId: 'd.a.b', messageId: '7', senderName: 'Ann', text: 'see you at 7' });
    await sw.push({ type: 'message', conversationId: 'g.team', messageId: '8', senderName: 'Ben' });
    expect(sw.shown).toEqual([
      { title: 'Ann', options: { body: 'see you at 7', tag: 'd.a.b', renotify: true, data: { url: '/chats/d.a.b' } } },
      { title: 'Ben', options: { body: 'New message', tag: 'g.team', renotify: true, data: { url: '/chats/g.team' } } },
    ]);
  });

  it('shows calls, in Chinese when registered with lang=zh', async () => {
    const sw = serviceWorker('https://chat.example/sw.js?lang=zh');
    await sw.push({ type: 'call', conversationId: 'd.a.b', senderName: '安', media: 'video' });
    await sw.push({ type: 'message', conversationId: 'd.a.b', senderName: '安' });
    expect(sw.shown.map((n) => [n.title, n.options.body])).toEqual([
      ['安', '视频来电'],
      ['安', '新消息'],
    ]);
  });

  it('still shows something for a push it cannot read', async () => {
    const sw = serviceWorker();
    await sw.dispatch('push', {
      data: {
        json: () => {
          throw new SyntaxError('not JSON');
        },
      },
    });
    expect(sw.shown).toEqual([{ title: 'Parley', options: { body: 'New message', tag: 'parley', renotify: true, data: { url: '/' } } }]);
  });

  it('on click, routes an open Parley window to the chat and focuses it, or opens the chat in a new one', async () => {
    let closed = 0;
    const notification = { data: { url: '/chats/d.a.b' }, close: () => void closed++ };
    const withWindow = serviceWorker('https://chat.example/sw.js', [{ url: 'https://chat.example/contacts' }]);
    await withWindow.dispatch('notificationclick', { notification });
    expect(withWindow.posted).toEqual([{ type: 'parley:open', url: '/chats/d.a.b' }]);
    expect(withWindow.focused()).toBe(1);
    expect(withWindow.opened).toEqual([]);

    const withoutWindow = serviceWorker('https://chat.example/sw.js', [{ url: 'https://elsewhere.example/' }]);
    await withoutWindow.dispatch('notificationclick', { notification });
    expect(withoutWindow.opened).toEqual(['/chats/d.a.b']);
    expect(withoutWindow.posted).toEqual([]);
    expect(closed).toBe(2);
  });
});
