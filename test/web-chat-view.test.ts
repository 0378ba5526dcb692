import path from 'node:path';
import type { Locator, Page } from 'playwright-core';
import sharp from 'sharp';
import { describe, expect, it } from 'vitest';
import { apiClient, newUser, uniqueName } from './support/http.js';
import { storageLabel } from './support/server.js';
import { useTestServer } from './support/suite.js';
import { bubble, composer, logIn, tab, useBrowser } from './support/web.js';

/** For a person to look at (SCREENSHOT_DIR=…): the run itself leaves the tree clean. */
async function screenshot(page: Page, name: string): Promise<void> {
  if (process.env.SCREENSHOT_DIR) await page.screenshot({ path: path.join(process.env.SCREENSHOT_DIR, `${name}.png`) });
}

/** Where an element sits against the messages region: wholly inside its visible part or not. */
async function insideMessages(page: Page, target: Locator): Promise<boolean> {
  const [box, region] = await Promise.all([target.boundingBox(), page.locator('.messages').boundingBox()]);
  if (!box || !region) return false;
  return box.y >= region.y - 1 && box.y + box.height <= region.y + region.height + 1;
}

/** Wholly inside the window (a menu under the fold is not). */
async function inViewport(page: Page, target: Locator): Promise<boolean> {
  const box = await target.boundingBox();
  const size = page.viewportSize();
  return !!box && !!size && box.y >= 0 && box.y + box.height <= size.height;
}

/** The text of the list items around a message, top to bottom, as a reader scans them. */
const lines = (page: Page) =>
  page.locator('[data-testid="messages"] > li').evaluateAll((items: Array<{ textContent: string | null }>) => items.map((li) => (li.textContent ?? '').trim()));

describe(`web chat view in Chromium: links, days, unread, jumps, search, new chat, group events, notifications (${storageLabel})`, () => {
  // Messages can be dated by the server's clock: the history gets a yesterday.
  let shiftMs = 0;
  const clock = { now: () => new Date(Date.now() + shiftMs) };
  const suite = useTestServer({}, { build: { clock } });
  const openPage = useBrowser(() => suite.server);

  async function people(...nicknames: string[]) {
    const http = apiClient(suite.server.url);
    const users = await Promise.all(nicknames.map((nickname) => newUser(http, { username: uniqueName(nickname.toLowerCase()), nickname })));
    return { http, users };
  }
  async function befriend(http: ReturnType<typeof apiClient>, a: { id: string; accessToken: string }, b: { id: string; accessToken: string }) {
    const asked = await http('POST', '/friend-requests', { token: a.accessToken, body: { toUserId: b.id } });
    await http('POST', `/friend-requests/${asked.body.id}/accept`, { token: b.accessToken });
    return (await http('POST', '/conversations', { token: a.accessToken, body: { peerId: b.id } })).body.id as string;
  }
  let sent = 0;
  async function say(http: ReturnType<typeof apiClient>, who: { accessToken: string }, conversationId: string, content: string, replyToId?: string) {
    const res = await http('POST', `/conversations/${encodeURIComponent(conversationId)}/messages`, {
      token: who.accessToken,
      body: { type: 'text', content, clientMsgId: `m-${++sent}-${Date.now()}`, ...(replyToId ? { replyToId } : {}) },
    });
    expect(res.status).toBe(201);
    return res.body as { id: string };
  }
  async function signedIn(username: string, options: { width: number; height: number; locale?: string }) {
    const opened = await openPage(options);
    await logIn(opened.page, username);
    return opened;
  }

  it('shows links as safe anchors, days with separators, one time per run of messages and a divider above the first unread (desktop and phone, English and Chinese)', async () => {
    const { http, users } = await people('Ann', 'Ben');
    const [a, b] = users as [(typeof users)[0], (typeof users)[0]];
    const conversationId = await befriend(http, a, b);
    // Yesterday at noon, by the machine's clock (the browser's too).
    const noon = new Date();
    noon.setHours(12, 0, 0, 0);
    shiftMs = noon.getTime() - 24 * 3600_000 - Date.now();
    await say(http, a, conversationId, 'yesterday one');
    shiftMs += 60_000;
    const read = await say(http, a, conversationId, 'yesterday two, see https://example.com/path?q=1. or javascript:alert(1)');
    shiftMs = 0;
    await http('POST', `/conversations/${encodeURIComponent(conversationId)}/read`, { token: b.accessToken, body: { messageId: read.id } });
    await say(http, b, conversationId, 'mine after reading');
    await say(http, a, conversationId, 'today first unread');
    await say(http, a, conversationId, 'today second');

    // In English on a desktop.
    const ben = await signedIn(b.username, { width: 1280, height: 800 });
    await ben.page.locator(`[data-conversation="${conversationId}"]`).first().click();
    await bubble(ben.page, 'today second').waitFor();
    expect(await lines(ben.page)).toEqual([
      'Yesterday',
      expect.stringContaining('yesterday one'),
      expect.stringContaining('yesterday two'),
      'Today',
      expect.stringContaining('mine after reading'),
      'New messages',
      expect.stringContaining('today first unread'),
      expect.stringContaining('today second'),
    ]);
    // Two messages a minute apart from one sender show one time, under the second.
    expect(await bubble(ben.page, 'yesterday one').locator('time').count()).toBe(0);
    expect(await bubble(ben.page, 'yesterday two').locator('time').count()).toBe(1);
    expect(await bubble(ben.page, 'today first unread').locator('time').count()).toBe(0);
    expect(await bubble(ben.page, 'today second').locator('time').count()).toBe(1);

    const link = bubble(ben.page, 'yesterday two').getByRole('link');
    expect(await link.count()).toBe(1);
    expect(await link.textContent()).toBe('https://example.com/path?q=1');
    expect(await link.getAttribute('href')).toBe('https://example.com/path?q=1');
    expect(await link.getAttribute('target')).toBe('_blank');
    expect(await link.getAttribute('rel')).toBe('noopener noreferrer nofollow');
    await screenshot(ben.page, 'chat-view-days-en-1280');

    // Ben has read all of it and leaves; Ann writes once more. In Chinese on a phone, the divider moves.
    expect(ben.errors).toEqual([]);
    await ben.page.close();
    await say(http, a, conversationId, 'later still');
    const benPhone = await openPage({ width: 390, height: 844, locale: 'zh-CN' });
    await benPhone.page.getByLabel('用户名').fill(b.username);
    await benPhone.page.getByLabel('密码').fill('correct horse battery');
    await benPhone.page.getByRole('button', { name: '登录' }).click();
    await benPhone.page.getByRole('heading', { name: '会话' }).first().waitFor();
    // Opened by its address (a bookmark, a notification): the chat renders before the conversation list arrives.
    await benPhone.page.goto(`${suite.server.url}/chats/${encodeURIComponent(conversationId)}`);
    await bubble(benPhone.page, 'later still').waitFor();
    expect((await lines(benPhone.page)).slice(-3)).toEqual([expect.stringContaining('today second'), '以下为新消息', expect.stringContaining('later still')]);
    expect(await lines(benPhone.page)).toContain('昨天');
    expect(await lines(benPhone.page)).toContain('今天');
    await screenshot(benPhone.page, 'chat-view-days-zh-390');
    expect(benPhone.errors).toEqual([]);
  }, 120_000);

  it('puts the unread count in the tab title and takes it away once read (two browsers)', async () => {
    const { http, users } = await people('Ann', 'Ben');
    const [a, b] = users as [(typeof users)[0], (typeof users)[0]];
    const conversationId = await befriend(http, a, b);
    const ben = await signedIn(b.username, { width: 1280, height: 800 });
    const ann = await signedIn(a.username, { width: 1280, height: 800 });
    expect(await ben.page.title()).toBe('Parley');
    await ann.page.locator(`[data-conversation="${conversationId}"]`).first().click();
    for (const text of ['one', 'two', 'three']) {
      await composer(ann.page).fill(text);
      await composer(ann.page).press('Enter');
      await bubble(ann.page, text).waitFor();
    }
    await expect.poll(() => ben.page.title(), { timeout: 10_000 }).toBe('(3) Parley');
    await ben.page.locator(`[data-conversation="${conversationId}"]`).first().click();
    await expect.poll(() => ben.page.title(), { timeout: 10_000 }).toBe('Parley');
  }, 120_000);

  it('jumps from a reply to its quoted message, loading older history, and finds messages by search', async () => {
    const { http, users } = await people('Ann', 'Ben');
    const [a, b] = users as [(typeof users)[0], (typeof users)[0]];
    const conversationId = await befriend(http, a, b);
    const original = await say(http, a, conversationId, 'the original question about llamas');
    for (let i = 0; i < 45; i++) await say(http, i % 2 ? a : b, conversationId, `filler ${i}`);
    await say(http, b, conversationId, 'my answer to that', original.id);

    const ann = await signedIn(a.username, { width: 390, height: 844 });
    await ann.page.locator(`[data-conversation="${conversationId}"]`).first().click();
    await bubble(ann.page, 'my answer to that').waitFor();
    expect(await bubble(ann.page, 'the original question').count()).toBe(0);
    // The quote is a button named by what it shows (here the quoted message is not loaded yet), which a
    // screen reader reads; its title says where it goes.
    const quote = bubble(ann.page, 'my answer to that').getByRole('button', { name: 'Earlier message' });
    expect(await quote.getAttribute('title')).toBe('Go to the quoted message');
    await quote.click();
    const target = bubble(ann.page, 'the original question about llamas').first();
    await target.waitFor();
    await expect.poll(() => insideMessages(ann.page, target)).toBe(true);
    expect(await target.getAttribute('data-flash')).toBe('true');
    await screenshot(ann.page, 'chat-view-jump-en-390');

    // Search: the result jumps to the message, wherever the view is.
    await ann.page.getByRole('button', { name: 'Search messages' }).click();
    await ann.page.getByRole('searchbox', { name: 'Search messages' }).fill('filler 44');
    await ann.page.getByRole('search', { name: 'Search messages' }).getByRole('button', { name: 'Search' }).click();
    const results = ann.page.getByRole('list', { name: 'Search results' });
    await results.getByRole('button').first().waitFor();
    expect(await results.getByRole('button').count()).toBe(1);
    await screenshot(ann.page, 'chat-view-search-en-390');
    await results.getByRole('button', { name: /filler 44/ }).click();
    const found = bubble(ann.page, 'filler 44');
    await expect.poll(() => insideMessages(ann.page, found)).toBe(true);
    expect(await found.getAttribute('data-flash')).toBe('true');
    expect(ann.errors).toEqual([]);
  }, 120_000);

  it('starts a chat with a friend or a group from the chat list', async () => {
    const { http, users } = await people('Ann', 'Cat');
    const [a, c] = users as [(typeof users)[0], (typeof users)[0]];
    const asked = await http('POST', '/friend-requests', { token: a.accessToken, body: { toUserId: c.id } });
    await http('POST', `/friend-requests/${asked.body.id}/accept`, { token: c.accessToken });
    const ann = await signedIn(a.username, { width: 1280, height: 800 });
    await ann.page.getByRole('button', { name: 'New chat' }).click();
    const dialog = ann.page.getByRole('dialog', { name: 'New chat' });
    await dialog.getByRole('button', { name: 'Cat' }).waitFor();
    await screenshot(ann.page, 'chat-view-new-chat-en-1280');
    await dialog.getByRole('button', { name: 'Cat' }).click();
    await ann.page.getByRole('heading', { name: 'Cat' }).waitFor();
    await composer(ann.page).waitFor();
    expect(await dialog.count()).toBe(0);

    await ann.page.getByRole('button', { name: 'New chat' }).click();
    await ann.page.getByRole('dialog', { name: 'New chat' }).getByRole('button', { name: 'New group' }).click();
    await ann.page.getByRole('heading', { name: 'New group' }).waitFor();
    expect(ann.errors).toEqual([]);
  }, 120_000);

  it('shows group events as translated lines to every member (two browsers, English and Chinese)', async () => {
    const { http, users } = await people('Ann', 'Ben', 'Cat');
    const [a, b, c] = users as [(typeof users)[0], (typeof users)[0], (typeof users)[0]];
    await befriend(http, a, b);
    await befriend(http, a, c);
    const group = (await http('POST', '/groups', { token: a.accessToken, body: { name: 'Hikers', memberIds: [b.id] } })).body;
    const ann = await signedIn(a.username, { width: 1280, height: 800 });
    const ben = await openPage({ width: 390, height: 844, locale: 'zh-CN' });
    await ben.page.getByLabel('用户名').fill(b.username);
    await ben.page.getByLabel('密码').fill('correct horse battery');
    await ben.page.getByRole('button', { name: '登录' }).click();
    for (const page of [ann.page, ben.page]) await page.locator(`[data-conversation="${group.conversationId}"]`).first().click();
    await ann.page.getByTestId('messages').getByText('You created the group').waitFor();
    await ann.page.getByTestId('messages').getByText('You added Ben').waitFor();
    await ben.page.getByTestId('messages').getByText('Ann 创建了群组').waitFor();
    await ben.page.getByTestId('messages').getByText('Ann 邀请 我 加入了群组').waitFor();

    // Live: Ann adds Cat and makes Ben an admin; Ben's page shows both as they happen.
    await http('POST', `/groups/${group.id}/members`, { token: a.accessToken, body: { userIds: [c.id] } });
    await http('PATCH', `/groups/${group.id}/members/${b.id}`, { token: a.accessToken, body: { role: 'admin' } });
    await ben.page.getByTestId('messages').getByText('Ann 邀请 Cat 加入了群组').waitFor();
    await ben.page.getByTestId('messages').getByText('Ann 将 我 设为管理员').waitFor();
    await ann.page.getByTestId('messages').getByText('You made Ben admin').waitFor();
    // A line, not a bubble: no actions menu, and the chat list previews it translated.
    expect(await ann.page.locator('li.system-line').count()).toBe(4);
    expect(await ann.page.locator('li.system-line').getByRole('button').count()).toBe(0);
    await screenshot(ann.page, 'chat-view-group-events-en-1280');
    await screenshot(ben.page, 'chat-view-group-events-zh-390');
    expect(ann.errors).toEqual([]);
    expect(ben.errors).toEqual([]);
  }, 120_000);

  it('keeps the newest message in view when an image loads, the emoji picker opens and the last menu opens (phone, two browsers)', async () => {
    const { http, users } = await people('Ann', 'Ben');
    const [a, b] = users as [(typeof users)[0], (typeof users)[0]];
    const conversationId = await befriend(http, a, b);
    for (let i = 0; i < 25; i++) await say(http, i % 2 ? a : b, conversationId, `earlier ${i}`);
    const ann = await signedIn(a.username, { width: 390, height: 844 });
    const ben = await signedIn(b.username, { width: 390, height: 844 });
    for (const page of [ann.page, ben.page]) {
      await page.locator(`[data-conversation="${conversationId}"]`).first().click();
      await bubble(page, 'earlier 24').waitFor();
    }
    const tall = await sharp({ create: { width: 300, height: 900, channels: 3, background: { r: 40, g: 120, b: 220 } } })
      .png()
      .toBuffer();
    await ann.page.getByLabel('Attach files').setInputFiles({ name: 'tall.png', mimeType: 'image/png', buffer: tall });
    for (const page of [ben.page, ann.page]) {
      const image = page.getByTestId('attachment-image').last();
      await image.waitFor();
      await expect.poll(() => image.evaluate((img: { complete: boolean; naturalWidth: number }) => img.complete && img.naturalWidth > 0), { timeout: 10_000 }).toBe(true);
      // The bottom of the image is shown, on the receiver's side and the sender's.
      await expect
        .poll(() => page.locator('.messages').evaluate((el: { scrollHeight: number; scrollTop: number; clientHeight: number }) => el.scrollHeight - el.scrollTop - el.clientHeight))
        .toBeLessThan(2);
    }

    await composer(ben.page).fill('last words');
    await composer(ben.page).press('Enter');
    const last = bubble(ann.page, 'last words');
    await last.waitFor();
    await expect.poll(() => insideMessages(ann.page, last)).toBe(true);
    await ann.page.getByRole('button', { name: 'Emoji', exact: true }).click();
    await ann.page.getByRole('group', { name: 'Emoji' }).waitFor();
    await expect.poll(() => insideMessages(ann.page, last)).toBe(true);
    await screenshot(ann.page, 'chat-view-emoji-open-en-390');
    await ann.page.getByRole('button', { name: 'Emoji', exact: true }).click();

    await last.getByRole('button', { name: 'Message actions' }).click();
    await last.getByRole('button', { name: 'React' }).click();
    const reactions = last.getByRole('group', { name: 'React' });
    await reactions.waitFor();
    await expect.poll(() => inViewport(ann.page, reactions)).toBe(true);
    await expect.poll(() => inViewport(ann.page, last.getByRole('button', { name: 'Reply' }))).toBe(true);
    await screenshot(ann.page, 'chat-view-last-menu-en-390');
    expect(ann.errors).toEqual([]);
    expect(ben.errors).toEqual([]);
  }, 120_000);

  it('asks for notification permission only from the settings button, then notifies while the tab is hidden; sound is off by default (two browsers)', async () => {
    const { http, users } = await people('Ann', 'Ben');
    const [a, b] = users as [(typeof users)[0], (typeof users)[0]];
    const conversationId = await befriend(http, a, b);
    const ben = await openPage({ width: 1280, height: 800 });
    const context = ben.page.context();
    // Watches the browser's own APIs (they stay real): permission requests and notifications shown.
    await context.addInitScript(() => {
      const w = globalThis as unknown as {
        Notification: { requestPermission: () => Promise<string> } & (new (title: string, options?: { body?: string }) => object);
        __asked: number;
        __shown: Array<{ title: string; body?: string }>;
      };
      w.__asked = 0;
      w.__shown = [];
      const Real = w.Notification;
      const request = Real.requestPermission.bind(Real);
      class Watched extends (Real as unknown as new (title: string, options?: { body?: string }) => object) {
        constructor(title: string, options?: { body?: string }) {
          super(title, options);
          w.__shown.push({ title, ...(options?.body ? { body: options.body } : {}) });
        }
      }
      Object.defineProperty(Watched, 'permission', { get: () => (Real as unknown as { permission: string }).permission });
      (Watched as unknown as { requestPermission: () => Promise<string> }).requestPermission = () => {
        w.__asked++;
        return request();
      };
      w.Notification = Watched as never;
    });
    await ben.page.reload();
    await logIn(ben.page, b.username);
    const asked = () => ben.page.evaluate(() => (globalThis as unknown as { __asked: number }).__asked);
    expect(await asked()).toBe(0);

    await tab(ben.page, 'Me').click();
    const notifications = ben.page.getByRole('checkbox', { name: 'Desktop notifications' });
    const sound = ben.page.getByRole('checkbox', { name: 'Sound for new messages' });
    expect(await notifications.isChecked()).toBe(false);
    expect(await sound.isChecked()).toBe(false);
    expect(await asked()).toBe(0);
    // The click asks the browser (which has not allowed notifications yet) ...
    await notifications.click();
    await expect.poll(asked).toBe(1);
    // Not on before the browser says yes.
    expect(await notifications.isChecked()).toBe(false);
    // ... and once the site is allowed, the switch turns on.
    await context.grantPermissions(['notifications']);
    await notifications.click();
    await expect.poll(() => notifications.isChecked()).toBe(true);
    await screenshot(ben.page, 'chat-view-notifications-en-1280');

    // The tab goes to the background: a message from Ann shows a notification naming her.
    await ben.page.evaluate(() => {
      const { document } = globalThis as unknown as { document: { dispatchEvent(event: Event): void } };
      Object.defineProperty(document, 'visibilityState', { configurable: true, get: () => 'hidden' });
      document.dispatchEvent(new Event('visibilitychange'));
    });
    await say(http, a, conversationId, 'are you there?');
    await expect
      .poll(() => ben.page.evaluate(() => (globalThis as unknown as { __shown: Array<{ title: string; body?: string }> }).__shown), { timeout: 10_000 })
      .toEqual([{ title: 'Ann', body: 'are you there?' }]);

    // Visible again: nothing more is shown for what Ben can see.
    await ben.page.evaluate(() => {
      const { document } = globalThis as unknown as { document: object };
      Object.defineProperty(document, 'visibilityState', { configurable: true, get: () => 'visible' });
    });
    await say(http, a, conversationId, 'never mind');
    await expect.poll(() => ben.page.title(), { timeout: 10_000 }).toBe('(2) Parley');
    expect(await ben.page.evaluate(() => (globalThis as unknown as { __shown: unknown[] }).__shown.length)).toBe(1);
    expect(ben.errors).toEqual([]);
  }, 120_000);
});
