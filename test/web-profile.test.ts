import path from 'node:path';
import type { Page } from 'playwright-core';
import sharp from 'sharp';
import { describe, expect, it } from 'vitest';
import { apiClient, newUser, uniqueName } from './support/http.js';
import { storageLabel } from './support/server.js';
import { useTestServer } from './support/suite.js';
import { bubble, composer, logIn, PASSWORD, tab, useBrowser } from './support/web.js';

/** For a person to look at (SCREENSHOT_DIR=…): the run itself leaves the tree clean. */
async function screenshot(page: Page, name: string): Promise<void> {
  if (process.env.SCREENSHOT_DIR) await page.screenshot({ path: path.join(process.env.SCREENSHOT_DIR, `${name}.png`), fullPage: true });
}

const ISO_TIME = /\d{4}-\d\d-\d\dT\d\d:\d\d/;
const toast = (page: Page) => page.getByRole('alert');

async function logInZh(page: Page, username: string): Promise<void> {
  await page.getByLabel('用户名').fill(username);
  await page.getByLabel('密码').fill(PASSWORD);
  await page.getByRole('button', { name: '登录', exact: true }).click();
  await page.getByRole('heading', { name: '会话' }).first().waitFor();
}

// Timeouts of two minutes: each case signs in two or three browsers, slow on a shared two-core machine.
describe(`web client: readable errors, live profiles, profile page, change password (${storageLabel})`, () => {
  const suite = useTestServer();
  const openPage = useBrowser(() => suite.server);

  /** Two friends made over REST, with their private conversation holding one message. */
  async function friends() {
    const http = apiClient(suite.server.url);
    const [a, b] = await Promise.all([newUser(http, { username: uniqueName('ann'), nickname: 'Ann' }), newUser(http, { username: uniqueName('ben'), nickname: 'Ben' })]);
    const asked = await http('POST', '/friend-requests', { token: a.accessToken, body: { toUserId: b.id } });
    await http('POST', `/friend-requests/${asked.body.id}/accept`, { token: b.accessToken });
    const conversationId: string = (await http('POST', '/conversations', { token: a.accessToken, body: { peerId: b.id } })).body.id;
    await http('POST', `/conversations/${encodeURIComponent(conversationId)}/messages`, {
      token: b.accessToken,
      body: { type: 'text', content: 'hello Ann', clientMsgId: uniqueName('m') },
    });
    return { http, a, b, conversationId };
  }

  it('says what is wrong with a username with a space at sign-up, in English and in Chinese, never the pattern', async () => {
    const { page, errors } = await openPage({ width: 390, height: 844 });
    await page.getByRole('tab', { name: 'Sign up' }).click();
    await page.getByLabel('Username').fill('ann smith');
    await page.getByLabel('Password').fill(PASSWORD);
    await page.getByRole('button', { name: 'Sign up' }).click();
    await expect.poll(() => toast(page).textContent(), { timeout: 10_000 }).toContain('A username may contain only letters, digits, _ . and - (no spaces).');
    expect(await toast(page).textContent()).not.toMatch(/\\p|pattern|\^/);
    await screenshot(page, 'error-username-phone-en');

    await page.getByRole('combobox', { name: 'Language' }).selectOption('zh');
    await page.getByRole('tab', { name: '注册' }).click();
    await page.getByRole('button', { name: '注册', exact: true }).click();
    await expect.poll(() => toast(page).textContent(), { timeout: 10_000 }).toContain('用户名只能包含字母、数字、_ . 和 -（不能有空格）。');
    await screenshot(page, 'error-username-phone-zh');

    // A wrong password at login is about the credentials, not a "session".
    await page.getByRole('tab', { name: '登录' }).click();
    await page.getByLabel('用户名').fill('nobody-here');
    await page.getByLabel('密码').fill('not the password');
    await page.getByRole('button', { name: '登录', exact: true }).click();
    await expect.poll(() => toast(page).textContent(), { timeout: 10_000 }).toContain('用户名或密码错误。');
    expect(errors.filter((e) => !/status of 4\d\d/.test(e))).toEqual([]);
  }, 120_000);

  it('tells a muted member until when, as a local date and time (English and Chinese)', async () => {
    const http = apiClient(suite.server.url);
    const { a, b } = await friends();
    const group = await http('POST', '/groups', { token: a.accessToken, body: { name: 'Quiet room', memberIds: [b.id] } });
    const until = new Date(Date.now() + 3 * 3600_000).toISOString();
    expect((await http('PATCH', `/groups/${group.body.id}/members/${b.id}`, { token: a.accessToken, body: { mutedUntil: until } })).status).toBe(200);

    for (const locale of ['en-US', 'zh-CN']) {
      const { page } = await openPage({ width: 1280, height: 800, locale });
      if (locale === 'en-US') await logIn(page, b.username);
      else await logInZh(page, b.username);
      await page.goto(`${suite.server.url}/chats/${encodeURIComponent(group.body.conversationId)}`);
      await composer(page)
        .or(page.getByRole('textbox', { name: '消息' }))
        .fill('may I speak?');
      await page.keyboard.press('Enter');
      const text = locale === 'en-US' ? 'You are muted in this group until' : '你在本群被禁言至';
      await expect.poll(() => toast(page).textContent(), { timeout: 10_000 }).toContain(text);
      const shown = (await toast(page).textContent()) ?? '';
      expect(shown).not.toMatch(ISO_TIME);
      // The mute's end in the reader's words: its year and minutes are there, as a date, not as ISO.
      expect(shown).toContain(String(new Date(until).getUTCFullYear()));
      await screenshot(page, `error-muted-desktop-${locale}`);
    }
  }, 120_000);

  it('ends an unanswered call with translated text (English and Chinese)', async () => {
    const { a, conversationId } = await friends();
    for (const locale of ['en-US', 'zh-CN']) {
      const { page } = await openPage({ width: 1280, height: 800, locale });
      if (locale === 'en-US') await logIn(page, a.username);
      else await logInZh(page, a.username);
      await page.goto(`${suite.server.url}/chats/${encodeURIComponent(conversationId)}`);
      // Ben has no device connected: the call is missed at once.
      await page.getByRole('button', { name: locale === 'en-US' ? 'Voice call' : '语音通话' }).click();
      await expect.poll(() => toast(page).textContent(), { timeout: 10_000 }).toContain(locale === 'en-US' ? 'Call ended: no answer' : '通话结束：无人接听');
      expect(await toast(page).textContent()).not.toContain('missed');
    }
  }, 120_000);

  it("shows a friend's new nickname and avatar at once in the chat list, header and group bubbles, without a reload", async () => {
    const { http, a, b, conversationId } = await friends();
    const group = await http('POST', '/groups', { token: a.accessToken, body: { name: 'Crew', memberIds: [b.id] } });
    await http('POST', `/conversations/${encodeURIComponent(group.body.conversationId)}/messages`, {
      token: b.accessToken,
      body: { type: 'text', content: 'hi crew', clientMsgId: uniqueName('m') },
    });
    const ann = await openPage({ width: 1280, height: 800 });
    const ben = await openPage({ width: 390, height: 844 });
    await logIn(ann.page, a.username);
    await logIn(ben.page, b.username);
    await ann.page.goto(`${suite.server.url}/chats/${encodeURIComponent(group.body.conversationId)}`);
    await expect.poll(() => bubble(ann.page, 'hi crew').locator('.sender').textContent(), { timeout: 10_000 }).toBe('Ben');
    const benRow = ann.page.locator(`[data-conversation="${conversationId}"]`);
    expect(await benRow.locator('.name').textContent()).toBe('Ben');

    await tab(ben.page, 'Me').click();
    await ben.page.getByLabel('Nickname').fill('Benedict');
    await ben.page.getByRole('button', { name: 'Save' }).click();
    await ben.page.getByRole('button', { name: 'Saved' }).waitFor();

    await expect.poll(() => benRow.locator('.name').textContent(), { timeout: 10_000 }).toBe('Benedict');
    await expect.poll(() => bubble(ann.page, 'hi crew').locator('.sender').textContent(), { timeout: 10_000 }).toBe('Benedict');

    const png = await sharp({ create: { width: 96, height: 96, channels: 3, background: { r: 200, g: 60, b: 40 } } })
      .png()
      .toBuffer();
    await ben.page.getByLabel('Choose a picture').setInputFiles({ name: 'me.png', mimeType: 'image/png', buffer: png });
    await expect.poll(() => benRow.locator('img').getAttribute('src'), { timeout: 10_000 }).toMatch(/\/api\/v1\/avatars\//);

    await benRow.click();
    const header = ann.page.getByTitle('Profile of Benedict');
    await header.getByRole('heading', { name: 'Benedict' }).waitFor();
    expect(await header.locator('img').getAttribute('src')).toMatch(/\/api\/v1\/avatars\//);
    await screenshot(ann.page, 'profile-live-desktop-en');
    expect(ann.errors).toEqual([]);
  }, 120_000);

  it("opens a contact's profile from the contacts list and the chat header, with bio, status and a localized last seen", async () => {
    const { http, a, b, conversationId } = await friends();
    await http('PATCH', '/users/me', { token: b.accessToken, body: { bio: 'Plays the cello', statusText: 'At rehearsal' } });
    const ben = await openPage({ width: 390, height: 844 });
    await logIn(ben.page, b.username);

    const ann = await openPage({ width: 1280, height: 800 });
    await logIn(ann.page, a.username);
    await tab(ann.page, 'Contacts').click();
    await ann.page.getByTestId('friends').getByRole('link', { name: /Ben/ }).click();
    const profile = ann.page.getByRole('region', { name: 'Profile of Ben' });
    await profile.getByRole('heading', { name: 'Ben' }).waitFor();
    expect(await profile.textContent()).toContain(`@${b.username}`);
    expect(await profile.textContent()).toContain('Plays the cello');
    expect(await profile.textContent()).toContain('At rehearsal');
    await expect.poll(() => profile.getByTestId('last-seen').textContent(), { timeout: 10_000 }).toBe('online now');
    await screenshot(ann.page, 'profile-desktop-en');

    // Ben goes away: his last seen shows as a relative time.
    await ben.page.context().close();
    await expect.poll(() => profile.getByTestId('last-seen').textContent(), { timeout: 10_000 }).toMatch(/^last seen (now|this minute|\d+ seconds? ago|1 minute ago)$/);

    // Message opens the chat; its header leads back to the profile.
    await profile.getByRole('button', { name: 'Message' }).click();
    await composer(ann.page).waitFor();
    expect(ann.page.url()).toContain(encodeURIComponent(conversationId));
    await ann.page.getByTitle('Profile of Ben').click();
    await profile.getByRole('button', { name: 'Remove friend' }).click();
    await ann.page.getByRole('dialog', { name: 'Remove Ben from your friends?' }).waitFor();
    await ann.page.getByRole('dialog').getByRole('button', { name: 'Cancel' }).click();

    // The same page in Chinese, on a phone.
    const zh = await openPage({ width: 390, height: 844, locale: 'zh-CN' });
    await logInZh(zh.page, a.username);
    await zh.page.goto(`${suite.server.url}/users/${b.id}`);
    const zhProfile = zh.page.getByRole('region', { name: 'Ben 的资料' });
    await expect.poll(() => zhProfile.getByTestId('last-seen').textContent(), { timeout: 10_000 }).toMatch(/^最后在线 /);
    for (const name of ['发消息', '删除好友', '拉黑']) await zhProfile.getByRole('button', { name, exact: true }).waitFor();
    await screenshot(zh.page, 'profile-phone-zh');
    expect(ann.errors).toEqual([]);
  }, 120_000);

  it('changes the password in settings: a wrong current password gets a translated sentence, success signs out the other sessions', async () => {
    const http = apiClient(suite.server.url);
    const user = await newUser(http, { username: uniqueName('pw'), nickname: 'Pat' });
    const fill = async (page: Page, labels: [string, string, string], current: string) => {
      await page.getByLabel(labels[0], { exact: true }).fill(current);
      await page.getByLabel(labels[1], { exact: true }).fill('a brand new secret');
      await page.getByLabel(labels[2], { exact: true }).fill('a brand new secret');
    };

    // English, on a phone: a wrong current password.
    const other = await openPage({ width: 390, height: 844 });
    await logIn(other.page, user.username);
    await tab(other.page, 'Me').click();
    await other.page.getByRole('link', { name: 'Change password' }).scrollIntoViewIfNeeded();
    await screenshot(other.page, 'me-password-link-phone-en');
    await other.page.getByRole('link', { name: 'Change password' }).click();
    await fill(other.page, ['Current password', 'New password', 'Confirm new password'], 'not my password');
    await other.page.getByRole('button', { name: 'Change password' }).click();
    await expect.poll(() => other.page.getByRole('alert').first().textContent(), { timeout: 10_000 }).toBe('The current password is not correct.');
    await screenshot(other.page, 'password-wrong-phone-en');

    // Chinese, on a desktop: wrong, then right.
    const { page, errors } = await openPage({ width: 1280, height: 800, locale: 'zh-CN' });
    await logInZh(page, user.username);
    await page.goto(`${suite.server.url}/me/password`);
    await fill(page, ['当前密码', '新密码', '确认新密码'], 'not my password');
    await page.getByRole('button', { name: '修改密码' }).click();
    await expect.poll(() => page.getByRole('alert').first().textContent(), { timeout: 10_000 }).toBe('当前密码不正确。');
    await screenshot(page, 'password-wrong-desktop-zh');

    await fill(page, ['当前密码', '新密码', '确认新密码'], PASSWORD);
    await page.getByRole('button', { name: '修改密码' }).click();
    await expect.poll(() => page.getByRole('status').textContent(), { timeout: 10_000 }).toBe('密码已修改，你的其他会话已退出登录。');
    await screenshot(page, 'password-changed-desktop-zh');
    // The phone's session is over: it is back at the login screen.
    await other.page.getByRole('tab', { name: 'Log in' }).waitFor();
    expect(errors.filter((e) => !/status of 403/.test(e))).toEqual([]);

    const login = await http('POST', '/auth/login', { body: { username: user.username, password: 'a brand new secret' } });
    expect(login.status).toBe(200);
  }, 120_000);
});
