import path from 'node:path';
import type { Page } from 'playwright-core';
import { describe, expect, it } from 'vitest';
import { apiClient, newUser, uniqueName } from './support/http.js';
import { storageLabel } from './support/server.js';
import { useTestServer } from './support/suite.js';
import { bubble, logIn, PASSWORD, useBrowser } from './support/web.js';

/** For a person to look at (SCREENSHOT_DIR=…): the run itself leaves the tree clean. */
async function screenshot(page: Page, name: string): Promise<void> {
  if (process.env.SCREENSHOT_DIR) await page.screenshot({ path: path.join(process.env.SCREENSHOT_DIR, `${name}.png`) });
}

async function logInZh(page: Page, username: string): Promise<void> {
  await page.getByLabel('用户名').fill(username);
  await page.getByLabel('密码').fill(PASSWORD);
  await page.getByRole('button', { name: '登录', exact: true }).click();
  await page.getByRole('heading', { name: '会话' }).first().waitFor();
}

describe(`web client: mentions and notification settings in Chromium (${storageLabel})`, () => {
  const suite = useTestServer();
  const openPage = useBrowser(() => suite.server);

  it('shows the @ badge, highlights the reader’s mention, completes @ in the composer, and sets a chat’s notifications (desktop and phone, English and Chinese)', async () => {
    const http = apiClient(suite.server.url);
    const [a, b, c] = await Promise.all([
      newUser(http, { username: uniqueName('ann'), nickname: 'Ann' }),
      newUser(http, { username: uniqueName('ben'), nickname: 'Ben' }),
      newUser(http, { username: uniqueName('cleo'), nickname: 'Cleo' }),
    ]);
    for (const friend of [b, c]) {
      const asked = await http('POST', '/friend-requests', { token: a.accessToken, body: { toUserId: friend.id } });
      await http('POST', `/friend-requests/${asked.body.id}/accept`, { token: friend.accessToken });
    }
    const group = (await http('POST', '/groups', { token: a.accessToken, body: { name: 'Trip', memberIds: [b.id, c.id] } })).body as { conversationId: string };
    const say = (token: string, content: string) =>
      http('POST', `/conversations/${encodeURIComponent(group.conversationId)}/messages`, { token, body: { type: 'text', content, clientMsgId: uniqueName('m') } });
    await say(b.accessToken, `@${a.username} can you book the train?`);
    await say(a.accessToken, '@all we leave at 9');

    const ann = await openPage({ width: 1280, height: 800 });
    const ben = await openPage({ width: 390, height: 844, locale: 'zh-CN' });
    const cleo = await openPage({ width: 1280, height: 800, locale: 'zh-CN' });
    await logIn(ann.page, a.username);
    await logInZh(ben.page, b.username);
    await logInZh(cleo.page, c.username);

    // The list shows an @ badge beside the unread count (Cleo: Ann's @all).
    const cleoRow = cleo.page.locator(`[data-conversation="${group.conversationId}"]`);
    await cleoRow.getByRole('img', { name: '有 1 条消息@了你' }).waitFor();
    await screenshot(cleo.page, 'mentions-list-desktop-zh');

    // Ann opens the group from the list: her own mention stands out, and the badge goes once read.
    const annRow = ann.page.locator(`[data-conversation="${group.conversationId}"]`);
    await annRow.getByRole('img', { name: '1 mentions of you' }).waitFor();
    await annRow.click();
    const mine = bubble(ann.page, 'book the train').locator('.mention.me');
    await expect.poll(() => mine.textContent()).toBe(`@${a.username}`);
    await expect.poll(() => annRow.getByRole('img', { name: /mentions of you/ }).count()).toBe(0);

    // @ completion: type a prefix, pick with the arrow keys and Enter; then send.
    const composer = ann.page.locator('form.composer textarea');
    await composer.fill('');
    await composer.pressSequentially(`thanks @${b.username.slice(0, 4)}`);
    const options = ann.page.getByRole('listbox', { name: 'People to mention' }).getByRole('option');
    await options.first().waitFor();
    expect(await options.allTextContents()).toEqual([expect.stringContaining(`@${b.username}`)]);
    await screenshot(ann.page, 'mentions-completion-desktop-en');
    await composer.press('Enter');
    await expect.poll(() => composer.inputValue()).toBe(`thanks @${b.username} `);
    await composer.pressSequentially('see you');
    await composer.press('Enter');

    // Ben's phone (Chinese) highlights his mention.
    await ben.page.goto(`${suite.server.url}/chats/${encodeURIComponent(group.conversationId)}`);
    const benMention = bubble(ben.page, 'see you').locator('.mention.me');
    await expect.poll(() => benMention.textContent()).toBe(`@${b.username}`);
    await screenshot(ben.page, 'mentions-bubble-phone-zh');

    // Ben chooses "mentions only" in the header; the server keeps it.
    await ben.page.getByLabel('此聊天的通知').selectOption('mentions');
    await expect
      .poll(async () => (await http('GET', '/conversations', { token: b.accessToken })).body.items.find((i: { id: string }) => i.id === group.conversationId)?.notifications)
      .toEqual({ level: 'mentions', until: null });
    await ben.page.goto(`${suite.server.url}/chats`);
    await ben.page.locator(`[data-conversation="${group.conversationId}"]`).getByRole('img', { name: '仅在被@时通知' }).waitFor();
    await screenshot(ben.page, 'mentions-list-phone-zh');

    // Ann mutes the chat for an hour: the header shows until when, the list a muted mark.
    await ann.page.getByLabel('Notifications for this chat').selectOption('mute1h');
    await ann.page.getByRole('option', { name: /Muted until/ }).waitFor({ state: 'attached' });
    await annRow.getByRole('img', { name: 'Muted' }).waitFor();
    const annSetting = (await http('GET', '/conversations', { token: a.accessToken })).body.items.find((i: { id: string }) => i.id === group.conversationId)?.notifications;
    expect(annSetting.level).toBe('none');
    expect(Date.parse(annSetting.until) - Date.now()).toBeGreaterThan(50 * 60_000);
    await screenshot(ann.page, 'mentions-muted-desktop-en');

    // The same on an English phone.
    const annPhone = await openPage({ width: 390, height: 844 });
    await logIn(annPhone.page, a.username);
    await annPhone.page.locator(`[data-conversation="${group.conversationId}"]`).getByRole('img', { name: 'Muted' }).waitFor();
    await screenshot(annPhone.page, 'mentions-list-phone-en');
    await annPhone.page.goto(`${suite.server.url}/chats/${encodeURIComponent(group.conversationId)}`);
    await annPhone.page.locator('form.composer textarea').pressSequentially('@');
    await annPhone.page.getByRole('listbox', { name: 'People to mention' }).getByRole('option', { name: /@all/ }).waitFor();
    await screenshot(annPhone.page, 'mentions-completion-phone-en');
  }, 120_000);
});
