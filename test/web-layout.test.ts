import path from 'node:path';
import type { Locator, Page } from 'playwright-core';
import { describe, expect, it } from 'vitest';
import { apiClient, newUser, uniqueName } from './support/http.js';
import { storageLabel } from './support/server.js';
import { useTestServer } from './support/suite.js';
import { bubble, PASSWORD, useBrowser } from './support/web.js';

/** For a person to look at (SCREENSHOT_DIR=…): the run itself leaves the tree clean. */
async function screenshot(page: Page, name: string): Promise<void> {
  if (process.env.SCREENSHOT_DIR) await page.screenshot({ path: path.join(process.env.SCREENSHOT_DIR, `${name}.png`) });
}

const noHorizontalScroll = (page: Page) =>
  page.evaluate<boolean>('document.documentElement.scrollWidth <= document.documentElement.clientWidth && document.body.scrollWidth <= window.innerWidth');

async function box(locator: Locator) {
  const found = await locator.boundingBox();
  if (!found) throw new Error('not visible');
  return found;
}

const WORDS = {
  en: { username: 'Username', password: 'Password', login: 'Log in', chats: 'Chats', nav: 'Main', message: 'Message' },
  zh: { username: '用户名', password: '密码', login: '登录', chats: '会话', nav: '主导航', message: '消息' },
} as const;

describe(`web client layout in Chromium: a desktop app on wide screens, one pane at a time on phones (${storageLabel})`, { timeout: 90_000 }, () => {
  const suite = useTestServer();
  const openPage = useBrowser(() => suite.server);

  async function friendsWithChat() {
    const http = apiClient(suite.server.url);
    const [a, b] = await Promise.all([newUser(http, { username: uniqueName('ann'), nickname: 'Ann' }), newUser(http, { username: uniqueName('ben'), nickname: 'Ben' })]);
    const asked = await http('POST', '/friend-requests', { token: a.accessToken, body: { toUserId: b.id } });
    await http('POST', `/friend-requests/${asked.body.id}/accept`, { token: b.accessToken });
    const conversationId: string = (await http('POST', '/conversations', { token: a.accessToken, body: { peerId: b.id } })).body.id;
    for (const content of ['Are we still on for Friday?', '周五见！']) {
      await http('POST', `/conversations/${conversationId}/messages`, { token: b.accessToken, body: { type: 'text', content, clientMsgId: uniqueName('m') } });
    }
    return { a, conversationId };
  }

  async function open(viewport: { width: number; height: number }, lang: 'en' | 'zh', username: string) {
    const opened = await openPage({ ...viewport, locale: lang === 'zh' ? 'zh-CN' : 'en-US' });
    const words = WORDS[lang];
    await opened.page.getByLabel(words.username).fill(username);
    await opened.page.getByLabel(words.password).fill(PASSWORD);
    await opened.page.getByRole('button', { name: words.login, exact: true }).click();
    await opened.page.getByRole('heading', { name: words.chats }).first().waitFor();
    return opened;
  }

  for (const lang of ['en', 'zh'] as const) {
    it(`shows a navigation rail, the conversation list and the open chat side by side at 1280×800 and 1024×768 (${lang})`, async () => {
      const { a } = await friendsWithChat();
      for (const viewport of [
        { width: 1280, height: 800 },
        { width: 1024, height: 768 },
      ]) {
        const { page, errors } = await open(viewport, lang, a.username);
        const nav = page.getByRole('navigation', { name: WORDS[lang].nav });
        const list = page.getByTestId('conversation-list');
        await list.getByRole('link').filter({ hasText: 'Ben' }).click();
        await bubble(page, '周五见！').waitFor();
        const [rail, column, input] = [await box(nav), await box(list), await box(page.getByRole('textbox', { name: WORDS[lang].message }))];
        // The rail runs down the left edge, the full height; no bar stretched along the bottom.
        expect(rail.x).toBe(0);
        expect(rail.width).toBeLessThan(120);
        expect(rail.height).toBeGreaterThan(viewport.height * 0.9);
        // The list is the next column, the conversation takes the rest of the width.
        expect(column.x).toBeGreaterThanOrEqual(rail.x + rail.width - 1);
        expect(column.width).toBeLessThan(400);
        expect(input.x).toBeGreaterThanOrEqual(column.x + column.width - 1);
        expect(input.x + input.width).toBeGreaterThan(viewport.width - 200);
        expect(input.width).toBeGreaterThan(viewport.width - 400 - 120 - 200);
        // Every section is one click away while the chat stays open beside the list.
        expect(await nav.getByRole('link').count()).toBe(3);
        expect(await noHorizontalScroll(page)).toBe(true);
        await screenshot(page, `layout-${viewport.width}-${lang}`);
        // A settings form in the wide pane keeps a readable width instead of stretching across it.
        await nav.getByRole('link').last().click();
        const field = await box(page.getByRole('textbox', { name: lang === 'zh' ? '昵称' : 'Nickname' }));
        expect(field.width).toBeLessThan(760);
        expect(errors).toEqual([]);
      }
    }, 120_000);

    it(`keeps the phone layout at 390×844: the list with a tab bar along the bottom, the chat alone (${lang})`, async () => {
      const { a } = await friendsWithChat();
      const { page, errors } = await open({ width: 390, height: 844 }, lang, a.username);
      const nav = page.getByRole('navigation', { name: WORDS[lang].nav });
      const bar = await box(nav);
      expect(bar.x).toBe(0);
      expect(bar.width).toBe(390);
      expect(bar.y + bar.height).toBeGreaterThan(844 - 2);
      expect(bar.height).toBeLessThan(80);
      expect(await noHorizontalScroll(page)).toBe(true);
      await screenshot(page, `layout-phone-list-${lang}`);
      await page.getByTestId('conversation-list').getByRole('link').filter({ hasText: 'Ben' }).click();
      await bubble(page, '周五见！').waitFor();
      // The open chat has the whole screen: no list beside it, no tab bar under it.
      expect(await nav.count()).toBe(0);
      expect(await page.getByTestId('conversation-list').count()).toBe(0);
      const input = await box(page.getByRole('textbox', { name: WORDS[lang].message }));
      expect(input.width).toBeGreaterThan(200);
      expect(await noHorizontalScroll(page)).toBe(true);
      await screenshot(page, `layout-phone-chat-${lang}`);
      expect(errors).toEqual([]);
    });
  }
});
