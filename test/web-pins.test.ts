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

describe(`web client: pins and forwarding in Chromium (${storageLabel})`, () => {
  const suite = useTestServer();
  const openPage = useBrowser(() => suite.server);

  it('pins from the message menu, shows the pinned bar live on the other person’s phone (in Chinese), jumps to the message, forwards it with a “Forwarded from” label, and unpins', async () => {
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
    const post = async (token: string, peerId: string, content: string) => {
      const conversationId: string = (await http('POST', '/conversations', { token, body: { peerId } })).body.id;
      await http('POST', `/conversations/${encodeURIComponent(conversationId)}/messages`, { token, body: { type: 'text', content, clientMsgId: uniqueName('m') } });
      return conversationId;
    };
    const withBen = await post(b.accessToken, a.id, 'Dinner at 7 at the noodle place?');
    for (let i = 0; i < 25; i++) await post(b.accessToken, a.id, `filler ${i}`);
    const withCleo = await post(c.accessToken, a.id, 'hi Ann');

    const ann = await openPage({ width: 1280, height: 800 });
    const ben = await openPage({ width: 390, height: 844, locale: 'zh-CN' });
    await logIn(ann.page, a.username);
    await ben.page.getByLabel('用户名').fill(b.username);
    await ben.page.getByLabel('密码').fill(PASSWORD);
    await ben.page.getByRole('button', { name: '登录', exact: true }).click();
    await ben.page.getByRole('heading', { name: '会话' }).first().waitFor();
    for (const side of [ann, ben]) {
      await side.page.goto(`${suite.server.url}/chats/${encodeURIComponent(withBen)}`);
      await side.page.locator('form.composer textarea').waitFor();
    }

    // Ann pins Ben's message from its menu.
    const dinner = bubble(ann.page, 'Dinner at 7');
    await dinner.scrollIntoViewIfNeeded();
    await dinner.getByRole('button', { name: 'Message actions' }).click();
    await dinner.getByRole('button', { name: 'Pin', exact: true }).click();
    const annBar = ann.page.getByRole('region', { name: 'Pinned messages' });
    await annBar.getByText('Dinner at 7').waitFor();
    await screenshot(ann.page, 'pins-bar-desktop-en');

    // Ben's phone shows the bar as it happens, and its button jumps to the message.
    const benBar = ben.page.getByRole('region', { name: '置顶消息' });
    await benBar.getByText('Dinner at 7').waitFor();
    const inView = () =>
      bubble(ben.page, 'Dinner at 7').evaluate((el: { getBoundingClientRect(): { top: number; bottom: number } }) => {
        const box = el.getBoundingClientRect();
        return box.bottom > 0 && box.top < (globalThis as unknown as { innerHeight: number }).innerHeight;
      });
    await ben.page.locator('.messages').evaluate((el: { scrollTop: number; scrollHeight: number }) => {
      el.scrollTop = el.scrollHeight;
    });
    await expect.poll(inView).toBe(false);
    await benBar.getByRole('button', { name: /Dinner at 7/ }).click();
    await expect.poll(inView).toBe(true);
    await screenshot(ben.page, 'pins-bar-phone-zh');

    // Ben opens the forward dialog in Chinese (screenshot) and cancels.
    const benDinner = bubble(ben.page, 'Dinner at 7');
    await benDinner.getByRole('button', { name: '消息操作' }).click();
    await benDinner.getByRole('button', { name: '转发', exact: true }).click();
    const benDialog = ben.page.getByRole('dialog', { name: '转发到…' });
    await benDialog.waitFor();
    await screenshot(ben.page, 'forward-dialog-phone-zh');
    await benDialog.getByRole('button', { name: '取消' }).click();
    await benDialog.waitFor({ state: 'detached' });

    // Ann forwards it to Cleo.
    await dinner.getByRole('button', { name: 'Message actions' }).click();
    await dinner.getByRole('button', { name: 'Forward', exact: true }).click();
    const dialog = ann.page.getByRole('dialog', { name: 'Forward to…' });
    const forward = dialog.getByRole('button', { name: 'Forward', exact: true });
    expect(await forward.isDisabled()).toBe(true);
    await dialog.getByRole('checkbox', { name: 'Cleo' }).check();
    await screenshot(ann.page, 'forward-dialog-desktop-en');
    await forward.click();
    await dialog.waitFor({ state: 'detached' });
    const copies = await http('GET', `/conversations/${encodeURIComponent(withCleo)}/messages`, { token: c.accessToken });
    expect(copies.body.items[0]).toMatchObject({ content: 'Dinner at 7 at the noodle place?', senderId: a.id, forwardedFrom: { senderId: b.id, senderName: 'Ben' } });
    await ann.page.goto(`${suite.server.url}/chats/${encodeURIComponent(withCleo)}`);
    await bubble(ann.page, 'Dinner at 7').getByText('Forwarded from Ben').waitFor();
    await screenshot(ann.page, 'forwarded-label-desktop-en');

    // Back in Ben's chat, Ann unpins; Ben's bar goes away.
    await ann.page.goto(`${suite.server.url}/chats/${encodeURIComponent(withBen)}`);
    await annBar.waitFor();
    const again = bubble(ann.page, 'Dinner at 7');
    await annBar.getByRole('button', { name: /Dinner at 7/ }).click();
    await again.getByRole('button', { name: 'Message actions' }).click();
    await again.getByRole('button', { name: 'Unpin', exact: true }).click();
    await annBar.waitFor({ state: 'detached' });
    await benBar.waitFor({ state: 'detached' });
    expect(ann.errors).toEqual([]);
    expect(ben.errors).toEqual([]);
  }, 180_000);
});
