import path from 'node:path';
import type { Page } from 'playwright-core';
import { describe, expect, it } from 'vitest';
import { apiClient, newUser, uniqueName } from './support/http.js';
import { storageLabel } from './support/server.js';
import { useTestServer } from './support/suite.js';
import { bubble, logIn, PASSWORD, tab, useBrowser } from './support/web.js';

/** For a person to look at (SCREENSHOT_DIR=…): the run itself leaves the tree clean. */
async function screenshot(page: Page, name: string): Promise<void> {
  if (process.env.SCREENSHOT_DIR) await page.screenshot({ path: path.join(process.env.SCREENSHOT_DIR, `${name}.png`), fullPage: true });
}

const toast = (page: Page) => page.getByRole('alert');
const ROOT = uniqueName('webroot');

async function logInZh(page: Page, username: string): Promise<void> {
  await page.getByLabel('用户名').fill(username);
  await page.getByLabel('密码').fill(PASSWORD);
  await page.getByRole('button', { name: '登录', exact: true }).click();
  await page.getByRole('heading', { name: '会话' }).first().waitFor();
}

// Timeouts of two minutes: each case signs in browsers, slow on a shared two-core machine.
describe(`web client: reports and the admin page (${storageLabel})`, () => {
  const suite = useTestServer({ ADMIN_USERNAMES: ROOT });
  const openPage = useBrowser(() => suite.server);

  /** Ann and Ben share a group where Ben said something; the admin exists. */
  async function cast() {
    const http = apiClient(suite.server.url);
    const root = await newUser(http, { username: ROOT }).catch(async () => {
      const login = await http('POST', '/auth/login', { body: { username: ROOT, password: PASSWORD } });
      return { id: login.body.user.id as string, accessToken: login.body.accessToken as string, username: ROOT };
    });
    const [ann, ben] = await Promise.all([newUser(http, { username: uniqueName('ann'), nickname: 'Ann' }), newUser(http, { username: uniqueName('ben'), nickname: 'Ben' })]);
    const asked = await http('POST', '/friend-requests', { token: ann.accessToken, body: { toUserId: ben.id } });
    await http('POST', `/friend-requests/${asked.body.id}/accept`, { token: ben.accessToken });
    const spam = `buy cheap watches at ${uniqueName('shop')}`;
    const group = (await http('POST', '/groups', { token: ann.accessToken, body: { name: 'Book club', memberIds: [ben.id] } })).body;
    const said = await http('POST', `/conversations/${encodeURIComponent(group.conversationId)}/messages`, {
      token: ben.accessToken,
      body: { type: 'text', content: spam, clientMsgId: uniqueName('m') },
    });
    return { http, root, ann, ben, group, spam, messageId: said.body.id as string };
  }

  it('reports a message from its menu and a user from their profile, each with a toast; a plain user has no admin page', async () => {
    const { http, root, ann, ben, group, spam, messageId } = await cast();
    const { page, errors } = await openPage({ width: 390, height: 844 });
    await logIn(page, ann.username);
    await page.goto(`${suite.server.url}/chats/${encodeURIComponent(group.conversationId)}`);
    await bubble(page, spam).getByRole('button', { name: 'Actions' }).click();
    await page.getByRole('group', { name: 'Actions' }).getByRole('button', { name: 'Report' }).click();
    const dialog = page.getByRole('dialog', { name: 'Report this message' });
    await dialog.getByLabel('Spam').check();
    await dialog.getByLabel('Anything to add (optional)').fill('watch ads all day');
    await screenshot(page, 'report-message-phone-en');
    await dialog.getByRole('button', { name: 'Report' }).click();
    await expect.poll(() => toast(page).textContent()).toContain('Thanks — the admins will look at your report.');
    await expect(dialog.isVisible()).resolves.toBe(false);

    await page.goto(`${suite.server.url}/users/${ben.id}`);
    await page.getByRole('button', { name: 'Report' }).click();
    const userDialog = page.getByRole('dialog', { name: 'Report this user' });
    await userDialog.getByLabel('Abuse or harassment').check();
    await userDialog.getByRole('button', { name: 'Report' }).click();
    await expect.poll(() => toast(page).textContent()).toContain('Thanks');

    const queue = (await http('GET', '/admin/reports', { token: root.accessToken })).body.items as Array<Record<string, unknown>>;
    expect(queue.find((r) => r.messageId === messageId)).toMatchObject({ reporterId: ann.id, reason: 'spam', note: 'watch ads all day' });
    expect(queue.find((r) => r.targetType === 'user' && r.targetUserId === ben.id)).toMatchObject({ reporterId: ann.id, reason: 'abuse' });

    // No admin link for Ann, and the address shows her own page instead.
    await tab(page, 'Me').click();
    await page.getByRole('heading', { name: 'Me' }).waitFor();
    expect(await page.getByRole('link', { name: 'Administration' }).count()).toBe(0);
    await page.goto(`${suite.server.url}/admin`);
    await page.getByRole('heading', { name: 'Me' }).waitFor();
    expect(await page.getByRole('heading', { name: 'Administration' }).count()).toBe(0);
    expect(errors.filter((e) => !/status of 4\d\d/.test(e))).toEqual([]);
  }, 120_000);

  it('lets an admin resolve a report by deleting the message, suspend a user after confirming, and read the audit log (desktop, English)', async () => {
    const { http, root, ann, ben, group, spam, messageId } = await cast();
    await http('POST', '/reports', { token: ann.accessToken, body: { target: { messageId }, reason: 'spam', note: 'ads' } });
    const { page, errors } = await openPage({ width: 1280, height: 800 });
    await logIn(page, root.username);
    await tab(page, 'Me').click();
    await page.getByRole('link', { name: 'Administration' }).click();
    await page.getByRole('heading', { name: 'Administration' }).waitFor();

    const card = page.locator('li.report-card').filter({ hasText: spam });
    await card.waitFor();
    expect(await card.textContent()).toContain('Reported by Ann');
    await screenshot(page, 'admin-reports-desktop-en');
    expect(await card.getByLabel('Action').inputValue()).toBe('delete_message');
    await card.getByLabel('Note for the audit log (optional)').fill('spam removed');
    await card.getByRole('button', { name: 'Resolve' }).click();
    await expect.poll(() => toast(page).textContent()).toContain('Report resolved.');
    await card.waitFor({ state: 'detached' });
    await expect
      .poll(
        async () =>
          (
            (await http('GET', `/conversations/${encodeURIComponent(group.conversationId)}/messages`, { token: ann.accessToken })).body.items as Array<{
              id: string;
              recalledAt: string | null;
            }>
          ).find((m) => m.id === messageId)?.recalledAt,
      )
      .not.toBeNull();
    await page.getByLabel('Status').selectOption('resolved');
    await page.locator('li.report-card').filter({ hasText: 'spam removed' }).waitFor();

    await page.getByRole('tab', { name: 'Users' }).click();
    await page.getByRole('searchbox').fill(ben.username);
    const row = page.locator('li.admin-row').filter({ hasText: ben.username });
    await row.getByRole('button', { name: 'Suspend' }).click();
    const confirm = page.getByRole('dialog', { name: 'Suspend Ben?' });
    await screenshot(page, 'admin-suspend-confirm-desktop-en');
    await confirm.getByRole('button', { name: 'Suspend' }).click();
    await row.getByText('suspended').waitFor();
    expect((await http('POST', '/auth/login', { body: { username: ben.username, password: PASSWORD } })).body.error.code).toBe('ACCOUNT_SUSPENDED');
    await row.getByRole('button', { name: 'Unsuspend' }).click();
    await page.getByRole('dialog', { name: 'Let Ben sign in again?' }).getByRole('button', { name: 'Unsuspend' }).click();
    await row.getByRole('button', { name: 'Suspend' }).waitFor();
    await screenshot(page, 'admin-users-desktop-en');

    await page.getByRole('tab', { name: 'Audit log' }).click();
    await page.locator('li.audit-row').filter({ hasText: 'unsuspended Ben' }).waitFor();
    const audit = await page.locator('ul.audit').textContent();
    expect(audit).toContain('suspended Ben');
    expect(audit).toContain(`deleted message #${messageId}`);
    expect(audit).toContain('resolved report');
    await screenshot(page, 'admin-audit-desktop-en');
    expect(errors.filter((e) => !/status of 4\d\d/.test(e))).toEqual([]);
  }, 120_000);

  it('shows the admin page in Chinese on a phone, and dismisses a report of a user', async () => {
    const { http, root, ann, ben } = await cast();
    await http('POST', '/reports', { token: ann.accessToken, body: { target: { userId: ben.id }, reason: 'other', note: '昵称不当' } });
    const { page, errors } = await openPage({ width: 390, height: 844, locale: 'zh-CN' });
    await logInZh(page, root.username);
    await page.goto(`${suite.server.url}/admin`);
    await page.getByRole('heading', { name: '管理后台' }).waitFor();
    const card = page.locator('li.report-card').filter({ hasText: '昵称不当' });
    // The reporter's name is looked up after the card shows ('…' until then): wait for it, not the card.
    await card.filter({ hasText: '举报人：Ann' }).waitFor();
    expect(await card.textContent()).toContain('举报人：Ann');
    await screenshot(page, 'admin-reports-phone-zh');
    await card.getByRole('button', { name: '驳回' }).click();
    await expect.poll(() => toast(page).textContent()).toContain('举报已驳回。');
    await page.getByRole('tab', { name: '用户' }).click();
    await page.getByRole('searchbox').fill(ben.username);
    await page.locator('li.admin-row').filter({ hasText: ben.username }).waitFor();
    await screenshot(page, 'admin-users-phone-zh');
    await page.getByRole('tab', { name: '审计日志' }).click();
    await page.locator('li.audit-row').filter({ hasText: '驳回了举报' }).first().waitFor();
    await screenshot(page, 'admin-audit-phone-zh');
    expect(errors.filter((e) => !/status of 4\d\d/.test(e))).toEqual([]);
  }, 120_000);
});
