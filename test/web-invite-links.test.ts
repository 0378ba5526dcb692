import path from 'node:path';
import type { Page } from 'playwright-core';
import { describe, expect, it } from 'vitest';
import { apiClient, newUser, uniqueName } from './support/http.js';
import { storageLabel } from './support/server.js';
import { useTestServer } from './support/suite.js';
import { composer, logIn, PASSWORD, useBrowser } from './support/web.js';

/** For a person to look at (SCREENSHOT_DIR=…): the run itself leaves the tree clean. */
async function screenshot(page: Page, name: string): Promise<void> {
  if (process.env.SCREENSHOT_DIR) await page.screenshot({ path: path.join(process.env.SCREENSHOT_DIR, `${name}.png`), fullPage: true });
}

describe(`invite links in the web client (${storageLabel})`, () => {
  const suite = useTestServer();
  const openPage = useBrowser(() => suite.server);

  it('an admin makes a link in the group info; someone signed out opens it, signs up, sees the group, joins and lands in its chat', { timeout: 120_000 }, async () => {
    const http = apiClient(suite.server.url);
    const admin = await newUser(http, { username: uniqueName('ada'), nickname: 'Ada' });
    const group = (await http('POST', '/groups', { token: admin.accessToken, body: { name: 'Book club' } })).body;

    const ada = await openPage({ width: 1280, height: 800 });
    await logIn(ada.page, admin.username);
    await ada.page.goto(`${suite.server.url}/groups/${encodeURIComponent(group.id)}`);
    const links = ada.page.getByRole('region', { name: 'Invite links' });
    await links.getByLabel('Expires').selectOption({ label: 'In 1 day' });
    await links.getByLabel('Use limit').fill('5');
    await links.getByRole('button', { name: 'Create invite link' }).click();
    const row = links.getByTestId('invite-links').getByRole('listitem');
    await row.filter({ hasText: 'used 0 of 5' }).waitFor();
    expect(await row.count()).toBe(1);
    const url = (await row.locator('code').textContent()) ?? '';
    expect(url).toMatch(new RegExp(`^${suite.server.url}/invite/[A-Za-z0-9_-]{32}$`));
    await screenshot(ada.page, 'invite-links-admin-desktop-en');

    // The second person has no account yet: the link's page asks them to sign up first, then shows the group.
    const bea = await openPage({ width: 390, height: 844 });
    await bea.page.goto(url);
    await bea.page.getByRole('tab', { name: 'Sign up' }).click();
    await bea.page.getByLabel('Username').fill(uniqueName('bea'));
    await bea.page.getByLabel('Nickname').fill('Bea');
    await bea.page.getByLabel('Password').fill(PASSWORD);
    await bea.page.getByRole('button', { name: 'Sign up' }).click();
    const invitation = bea.page.getByRole('region', { name: 'Group invitation' });
    await invitation.getByRole('heading', { name: 'Book club' }).waitFor();
    expect(await invitation.textContent()).toContain('1');
    await screenshot(bea.page, 'invite-join-phone-en');
    await invitation.getByRole('button', { name: 'Join group' }).click();
    await composer(bea.page).waitFor();
    await bea.page.getByRole('heading', { name: 'Book club' }).waitFor();
    expect(bea.page.url()).toBe(`${suite.server.url}/chats/${encodeURIComponent(group.conversationId)}`);

    // The admin's list counts the use; revoking strikes the link out and it opens nothing any more.
    await ada.page.reload();
    await row.filter({ hasText: 'used 1 of 5' }).waitFor();
    await links.getByRole('button', { name: 'Revoke' }).click();
    await row.filter({ hasText: 'revoked' }).waitFor();
    const cai = await openPage({ width: 390, height: 844, locale: 'zh-CN' });
    const caiUser = await newUser(http, { username: uniqueName('cai') });
    await cai.page.getByLabel('用户名').fill(caiUser.username);
    await cai.page.getByLabel('密码').fill(PASSWORD);
    await cai.page.getByRole('button', { name: '登录', exact: true }).click();
    await cai.page.getByRole('heading', { name: '会话' }).first().waitFor();
    await cai.page.goto(url);
    await cai.page.getByRole('region', { name: '群邀请' }).getByRole('alert').filter({ hasText: '此邀请链接无效' }).waitFor();
    expect([...ada.errors, ...bea.errors]).toEqual([]);
  });

  it('shows the invite links and the invite page in Chinese, on a phone and a desktop', { timeout: 120_000 }, async () => {
    const http = apiClient(suite.server.url);
    const [owner, guestUser] = await Promise.all([newUser(http, { username: uniqueName('zhu') }), newUser(http, { username: uniqueName('wang') })]);
    const group = (await http('POST', '/groups', { token: owner.accessToken, body: { name: '读书会' } })).body;
    const made = (await http('POST', `/groups/${group.id}/invite-links`, { token: owner.accessToken, body: { maxUses: 3, expiresInSeconds: 86_400 } })).body;
    await http('POST', `/groups/${group.id}/invite-links`, { token: owner.accessToken, body: {} });
    for (const [who, width, height, name] of [
      [owner, 390, 844, 'phone'],
      [guestUser, 1280, 800, 'desktop'],
    ] as const) {
      const { page, errors } = await openPage({ width, height, locale: 'zh-CN' });
      await page.getByLabel('用户名').fill(who.username);
      await page.getByLabel('密码').fill(PASSWORD);
      await page.getByRole('button', { name: '登录', exact: true }).click();
      await page.getByRole('heading', { name: '会话' }).first().waitFor();
      if (who === owner) {
        await page.goto(`${suite.server.url}/groups/${encodeURIComponent(group.id)}`);
        const region = page.getByRole('region', { name: '邀请链接' });
        await region.getByRole('listitem').nth(1).waitFor();
        await region.getByRole('button', { name: '创建邀请链接' }).waitFor();
        await screenshot(page, `invite-links-admin-${name}-zh`);
        await page.getByRole('button', { name: '复制链接' }).first().waitFor();
      } else {
        await page.goto(`${suite.server.url}/invite/${made.code}`);
        await page.getByRole('region', { name: '群邀请' }).getByRole('button', { name: '加入群组' }).waitFor();
        await screenshot(page, `invite-join-${name}-zh`);
        await page.getByRole('button', { name: '加入群组' }).click();
        await page.getByRole('textbox', { name: '消息' }).waitFor();
      }
      expect(errors).toEqual([]);
    }
  });
});
