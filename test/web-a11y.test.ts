import path from 'node:path';
import type { Page } from 'playwright-core';
import { describe, expect, it } from 'vitest';
import { seriousViolations } from './support/a11y.js';
import { apiClient, newUser, uniqueName } from './support/http.js';
import { storageLabel } from './support/server.js';
import { useTestServerWithFakeLlm } from './support/suite.js';
import { bubble, composer, logIn, PASSWORD, tab, useBrowser } from './support/web.js';

/** For a person to look at (SCREENSHOT_DIR=…): the run itself leaves the tree clean. */
async function screenshot(page: Page, name: string): Promise<void> {
  if (process.env.SCREENSHOT_DIR) await page.screenshot({ path: path.join(process.env.SCREENSHOT_DIR, `${name}.png`) });
}

/**
 * axe-core over every main screen of the web client, as two people use it (a desktop in English, a
 * phone in Chinese): no serious or critical violation anywhere. Each screen is checked once it shows
 * what a person would see there (content loaded, dialogs open).
 */
describe(`web client accessibility (axe-core) in Chromium (${storageLabel})`, () => {
  const { suite, fake } = useTestServerWithFakeLlm();
  const openPage = useBrowser(() => suite.server);

  async function friends() {
    const http = apiClient(suite.server.url);
    const [a, b] = await Promise.all([newUser(http, { username: uniqueName('ann'), nickname: 'Ann' }), newUser(http, { username: uniqueName('ben'), nickname: 'Ben' })]);
    const asked = await http('POST', '/friend-requests', { token: a.accessToken, body: { toUserId: b.id } });
    await http('POST', `/friend-requests/${asked.body.id}/accept`, { token: b.accessToken });
    const conversationId: string = (await http('POST', '/conversations', { token: a.accessToken, body: { peerId: b.id } })).body.id;
    // Something to read: an unread message in Ann's list, a pending request under her contacts.
    const sent = await http('POST', `/conversations/${conversationId}/messages`, {
      token: b.accessToken,
      body: { type: 'text', content: 'Lunch at noon?', clientMsgId: uniqueName('m') },
    });
    expect(sent.status).toBe(201);
    const stranger = await newUser(http, { username: uniqueName('cat'), nickname: 'Cat' });
    await http('POST', '/friend-requests', { token: stranger.accessToken, body: { toUserId: a.id } });
    return { a, b, conversationId };
  }

  const expectClean = async (page: Page, screen: string) => expect(await seriousViolations(page), screen).toEqual([]);

  it('has no serious or critical violations on the sign-in, chat list, open chat, contacts, settings and assistant screens (desktop, English)', async () => {
    const { a } = await friends();
    const { page, errors } = await openPage({ width: 1280, height: 800 });
    await page.getByRole('button', { name: 'Continue as guest' }).waitFor();
    await expectClean(page, 'sign-in');
    await page.getByRole('tab', { name: 'Sign up' }).click();
    await page.getByLabel('Nickname').waitFor();
    await expectClean(page, 'sign-up');

    await page.getByRole('tab', { name: 'Log in' }).click();
    await logIn(page, a.username);
    const ben = page.getByTestId('conversation-list').getByRole('link').filter({ hasText: 'Ben' });
    await ben.getByLabel('1 unread').waitFor();
    await expectClean(page, 'chat list');
    // Keyboard focus is always visible: from the first navigation link on, each stop of the Tab order draws an outline.
    // The stops are the rail's other three links and Ben's conversation.
    await page.getByRole('navigation').getByRole('link').first().focus();
    for (let stop = 0; stop < 4; stop++) {
      await page.keyboard.press('Tab');
      const focus = await page.evaluate<{ what: string; style: string; width: number }>(
        "(() => { const e = document.activeElement; const s = getComputedStyle(e); return { what: e.tagName + ' ' + (e.textContent || '').trim().slice(0, 30), style: s.outlineStyle, width: parseFloat(s.outlineWidth) }; })()",
      );
      expect(focus.what).not.toMatch(/^BODY/);
      expect(focus.style, focus.what).not.toBe('none');
      expect(focus.width, focus.what).toBeGreaterThanOrEqual(2);
    }

    await ben.click();
    await bubble(page, 'Lunch at noon?').waitFor();
    await expectClean(page, 'open chat');
    await bubble(page, 'Lunch at noon?').getByRole('button', { name: 'Message actions' }).click();
    await page.getByRole('button', { name: 'Reply', exact: true }).waitFor();
    await page.getByRole('button', { name: 'Emoji', exact: true }).click();
    await page.getByRole('group', { name: 'Emoji' }).waitFor();
    await expectClean(page, 'open chat with the message menu and the emoji picker');

    await tab(page, 'Contacts').click();
    await page.getByTestId('incoming-requests').getByText('Cat', { exact: true }).waitFor();
    await page.getByTestId('friends').getByText('Ben', { exact: true }).waitFor();
    await expectClean(page, 'contacts');

    await tab(page, 'Me').click();
    await page.getByRole('heading', { name: 'Login history' }).waitFor();
    await page.getByTestId('login-logs').getByText('password').first().waitFor();
    await expectClean(page, 'settings');

    await tab(page, 'Assistant').click();
    await page.getByRole('button', { name: 'Explain how HTTPS keeps a connection private' }).waitFor();
    await expectClean(page, 'assistant, empty');
    fake().enqueue({
      kind: 'reply',
      chunks: ['Here is a list:\n\n- one\n- two\n\n| a | b |\n|---|---|\n| 1 | 2 |\n\n```js\nconst x = 1;\n```\n\nSee [the docs](https://example.com/docs).'],
    });
    await page.getByRole('textbox', { name: 'Ask anything' }).fill('Show me Markdown');
    await page.getByRole('textbox', { name: 'Ask anything' }).press('Enter');
    await page.locator('[data-testid="ai-messages"] li[data-role="assistant"][data-status="complete"] table').waitFor();
    await expectClean(page, 'assistant, with a formatted reply');

    // The check is not vacuous: a button with no name, added by hand, is reported.
    await page.evaluate("document.querySelector('.composer').append(Object.assign(document.createElement('button'), { className: 'nameless' }))");
    expect((await seriousViolations(page)).join('\n')).toMatch(/critical button-name .*nameless/);
    expect(errors).toEqual([]);
  }, 90_000);

  it('has no serious or critical violations on the chat screens of a phone in Chinese, nor on the ringing and in-call screens', async () => {
    const { a, b, conversationId } = await friends();
    const ann = await openPage({ width: 1280, height: 800 });
    const ben = await openPage({ width: 390, height: 844, locale: 'zh-CN' });
    await ben.page.getByRole('button', { name: '以访客身份继续' }).waitFor();
    await expectClean(ben.page, 'sign-in (phone, zh)');
    await ben.page.getByLabel('用户名').fill(b.username);
    await ben.page.getByLabel('密码').fill(PASSWORD);
    await ben.page.getByRole('button', { name: '登录', exact: true }).click();
    await ben.page.getByTestId('conversation-list').getByRole('link').filter({ hasText: 'Ann' }).waitFor();
    await expectClean(ben.page, 'chat list (phone, zh)');
    await ben.page.getByTestId('conversation-list').getByRole('link').filter({ hasText: 'Ann' }).click();
    await bubble(ben.page, 'Lunch at noon?').waitFor();
    await expectClean(ben.page, 'open chat (phone, zh)');

    await logIn(ann.page, a.username);
    await ann.page.goto(`${suite.server.url}/chats/${encodeURIComponent(conversationId)}`);
    await composer(ann.page).waitFor();
    await ann.page.getByRole('button', { name: 'Video call' }).click();
    await ann.page.getByTestId('call').getByText('Calling…').waitFor();
    await expectClean(ann.page, 'calling (desktop, en)');
    const ringing = ben.page.getByRole('dialog', { name: '视频来电' });
    await ringing.waitFor();
    await expectClean(ben.page, 'ringing (phone, zh)');
    await ringing.getByRole('button', { name: '接受', exact: true }).click();
    // Media has to flow first (ICE on a busy machine can take a while).
    await ann.page.getByRole('dialog', { name: 'In call' }).getByRole('timer').waitFor({ timeout: 30_000 });
    await ben.page.getByRole('dialog', { name: '通话中' }).getByRole('timer').waitFor({ timeout: 30_000 });
    await expectClean(ann.page, 'in call (desktop, en)');
    await expectClean(ben.page, 'in call (phone, zh)');
    await screenshot(ann.page, 'a11y-call-desktop-en');
    await ann.page.getByRole('button', { name: 'Hang up' }).click();
    await ben.page.getByTestId('call').waitFor({ state: 'detached' });
    expect(ann.errors).toEqual([]);
    expect(ben.errors).toEqual([]);
  }, 90_000);
});
