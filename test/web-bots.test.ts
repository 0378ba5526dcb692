import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import type { Page } from 'playwright-core';
import { afterEach, describe, expect, it } from 'vitest';
import { apiClient, newUser, uniqueName } from './support/http.js';
import { storageLabel } from './support/server.js';
import { useTestServer } from './support/suite.js';
import { bubble, logIn, PASSWORD, tab, useBrowser } from './support/web.js';

/** For a person to look at (SCREENSHOT_DIR=…): the run itself leaves the tree clean. */
async function screenshot(page: Page, name: string): Promise<void> {
  if (process.env.SCREENSHOT_DIR) await page.screenshot({ path: path.join(process.env.SCREENSHOT_DIR, `${name}.png`), fullPage: true });
}

/** A local webhook receiver answering `status()` to every POST. */
async function startReceiver() {
  let count = 0;
  let status = 200;
  const server = http.createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      count++;
      res.statusCode = status;
      res.end('ok');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`,
    received: () => count,
    answer: (next: number) => (status = next),
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

async function logInZh(page: Page, username: string): Promise<void> {
  await page.getByLabel('用户名').fill(username);
  await page.getByLabel('密码').fill(PASSWORD);
  await page.getByRole('button', { name: '登录', exact: true }).click();
  await page.getByRole('heading', { name: '会话' }).first().waitFor();
}

// Timeouts of two minutes: each case signs in a browser, slow on a shared two-core machine.
describe(`web client: bots and webhooks page (${storageLabel})`, () => {
  // Webhooks to a local receiver, retried fast so a failing one is dead within seconds.
  const suite = useTestServer({ OUTBOUND_ALLOW_PRIVATE: 'true', WEBHOOK_RETRY_BASE_MS: '50', WEBHOOK_MAX_ATTEMPTS: '2', WEBHOOK_POLL_MS: '50', WEBHOOK_TIMEOUT_MS: '2000' });
  const openPage = useBrowser(() => suite.server);
  const receivers: Array<Awaited<ReturnType<typeof startReceiver>>> = [];
  afterEach(async () => {
    for (const receiver of receivers.splice(0)) await receiver.close();
  });

  /** Ann with a group, her bot (made in the page) added to it over the API. */
  async function cast() {
    const api = apiClient(suite.server.url);
    const ann = await newUser(api, { username: uniqueName('ann'), nickname: 'Ann' });
    const group = (await api('POST', '/groups', { token: ann.accessToken, body: { name: 'Robots' } })).body;
    const receiver = await startReceiver();
    receivers.push(receiver);
    const addBot = async (username: string) => {
      const bots = (await api('GET', '/bots', { token: ann.accessToken })).body.items as Array<{ user: { id: string; username: string } }>;
      const bot = bots.find((b) => b.user.username === username);
      expect(bot).toBeDefined();
      await api('POST', `/groups/${group.id}/members`, { token: ann.accessToken, body: { userIds: [bot!.user.id] } });
      return bot!.user.id;
    };
    const say = (content: string) =>
      api('POST', `/conversations/${encodeURIComponent(group.conversationId)}/messages`, { token: ann.accessToken, body: { type: 'text', content, clientMsgId: uniqueName('m') } });
    return { api, ann, group, receiver, addBot, say };
  }

  it('creates a bot and a token shown once, and a webhook whose delivery shows in the log (desktop, English)', async () => {
    const { api, ann, group, receiver, addBot, say } = await cast();
    const { page, errors } = await openPage({ width: 1280, height: 800 });
    await logIn(page, ann.username);
    await tab(page, 'Me').click();
    await page.getByRole('link', { name: 'Bots & webhooks' }).click();
    await page.getByRole('heading', { name: 'Bots & webhooks' }).waitFor();
    const botName = uniqueName('bot');
    await page.getByLabel('Bot username').fill(botName);
    await page.getByRole('button', { name: 'Create bot' }).click();
    const card = page.locator('[data-testid="bot"]').filter({ hasText: botName });
    await card.waitFor();
    const botId = await addBot(botName);

    await card.getByLabel('Robots').check();
    await card.getByLabel('messages:write').check();
    await card.getByRole('button', { name: 'Create token' }).click();
    const box = card.getByRole('group', { name: 'New bot token' });
    await box.waitFor();
    const token = await box.getByRole('textbox').inputValue();
    expect(token).toMatch(/^pbt_/);
    expect(await box.textContent()).toContain('shown only this once');
    await screenshot(page, 'bots-token-desktop-en');
    // The token works, and once dismissed it is nowhere on the page again.
    const me = await api('GET', '/users/me', { token });
    expect(me.body.id).toBe(botId);
    await box.getByRole('button', { name: 'Done' }).click();
    await box.waitFor({ state: 'detached' });
    await card.locator('[data-testid="bot-tokens"] li').first().waitFor();
    expect(await page.content()).not.toContain(token);
    const tokens = (await api('GET', `/bots/${botId}/tokens`, { token: ann.accessToken })).body.items as Array<{ scopes: { actions: string[] } }>;
    expect(tokens).toHaveLength(1);
    expect(tokens[0]!.scopes.actions.sort()).toEqual(['messages:read', 'messages:write']);

    const form = page.getByTestId('webhook-form');
    await form.getByLabel('Receiver URL').fill(receiver.url);
    await form.getByLabel('Robots').check();
    await form.getByRole('button', { name: 'Create webhook' }).click();
    const secret = page.getByRole('group', { name: 'Webhook signing secret' });
    await secret.waitFor();
    expect((await secret.getByRole('textbox').inputValue()).length).toBeGreaterThan(10);
    await secret.getByRole('button', { name: 'Done' }).click();
    await say('hello hook');
    await expect.poll(() => receiver.received(), { timeout: 10_000 }).toBeGreaterThan(0);
    const hook = page.locator('[data-testid="webhook"]').filter({ hasText: receiver.url });
    await hook.getByRole('button', { name: 'Deliveries' }).click();
    const delivered = hook.locator('[data-testid="deliveries"] li[data-status="delivered"]');
    await expect
      .poll(
        async () => {
          await hook.getByRole('button', { name: 'Refresh' }).click();
          return delivered.count();
        },
        { timeout: 15_000 },
      )
      .toBe(1);
    expect(await delivered.textContent()).toContain('message.created');
    expect(await delivered.textContent()).toContain('HTTP 200');
    await screenshot(page, 'bots-webhooks-desktop-en');

    // In the group's member list the bot is marked as one.
    await page.goto(`${suite.server.url}/groups/${encodeURIComponent(group.id)}`);
    await page.locator(`li[data-user="${botName}"]`).getByText('bot', { exact: true }).waitFor();
    expect(errors).toEqual([]);
  }, 120_000);

  it('in Chinese on a phone: revokes a token and replays a dead delivery', async () => {
    const { api, ann, receiver, addBot, say } = await cast();
    const { page, errors } = await openPage({ width: 390, height: 844, locale: 'zh-CN' });
    await logInZh(page, ann.username);
    await page.goto(`${suite.server.url}/me/bots`);
    await page.getByRole('heading', { name: '机器人与 Webhook' }).waitFor();
    const botName = uniqueName('bot');
    await page.getByLabel('机器人用户名').fill(botName);
    await page.getByRole('button', { name: '创建机器人' }).click();
    const card = page.locator('[data-testid="bot"]').filter({ hasText: botName });
    await card.waitFor();
    const botId = await addBot(botName);
    await card.getByLabel('Robots').check();
    await card.getByRole('button', { name: '创建令牌' }).click();
    const box = card.getByRole('group', { name: '新的机器人令牌' });
    const token = await box.getByRole('textbox').inputValue();
    expect(token).toMatch(/^pbt_/);
    await screenshot(page, 'bots-token-phone-zh');
    await box.getByRole('button', { name: '完成' }).click();
    await card.getByRole('button', { name: '吊销' }).click();
    await page.getByRole('dialog').getByRole('button', { name: '吊销' }).click();
    await card.getByText('已吊销').waitFor();
    expect((await api('GET', '/users/me', { token })).status).toBe(401);
    expect((await api('GET', `/bots/${botId}/tokens`, { token: ann.accessToken })).body.items[0].revokedAt).not.toBeNull();

    receiver.answer(503);
    const form = page.getByTestId('webhook-form');
    await form.getByLabel('接收地址').fill(receiver.url);
    await form.getByLabel('Robots').check();
    await form.getByRole('button', { name: '创建 Webhook' }).click();
    await page.getByRole('group', { name: 'Webhook 签名密钥' }).getByRole('button', { name: '完成' }).click();
    await say('doomed');
    const hook = page.locator('[data-testid="webhook"]').filter({ hasText: receiver.url });
    await hook.getByRole('button', { name: '投递记录' }).click();
    const dead = hook.locator('[data-testid="deliveries"] li[data-status="dead"]');
    await expect
      .poll(
        async () => {
          await hook.getByRole('button', { name: '刷新' }).click();
          return dead.count();
        },
        { timeout: 15_000 },
      )
      .toBe(1);
    expect(await dead.textContent()).toContain('失败');
    await screenshot(page, 'bots-dead-phone-zh');
    receiver.answer(204);
    await dead.getByRole('button', { name: '重新投递' }).click();
    const delivered = hook.locator('[data-testid="deliveries"] li[data-status="delivered"]');
    await expect
      .poll(
        async () => {
          await hook.getByRole('button', { name: '刷新' }).click();
          return delivered.count();
        },
        { timeout: 15_000 },
      )
      .toBe(1);
    await screenshot(page, 'bots-replayed-phone-zh');
    expect(errors).toEqual([]);
  }, 120_000);
  /** POSTs `text` to an incoming webhook's URL as any program would: real HTTP, no session. */
  const postTo = (url: string, text: string) =>
    fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ text }) }).then(async (res) => ({
      status: res.status,
      body: await res.json(),
    }));

  it('creates an incoming webhook whose URL (shown once, copied) posts into the group; revoked, the URL is refused (desktop, English)', async () => {
    const { api, ann, group } = await cast();
    const { page, errors } = await openPage({ width: 1280, height: 800 });
    await page.context().grantPermissions(['clipboard-read', 'clipboard-write'], { origin: suite.server.url });
    await logIn(page, ann.username);
    await page.goto(`${suite.server.url}/me/bots`);
    await page.getByRole('heading', { name: 'Incoming webhooks' }).waitFor();
    const form = page.getByTestId('incoming-form');
    expect(await form.getByLabel('Group').inputValue()).toBe(group.conversationId);
    await form.getByLabel('Bot name (optional)').fill('CI status');
    await form.getByRole('button', { name: 'Create incoming webhook' }).click();
    const box = page.getByRole('group', { name: 'Incoming webhook URL' });
    await box.waitFor();
    const url = await box.getByRole('textbox').inputValue();
    expect(url).toMatch(new RegExp(`^${suite.server.url}/api/v1/hooks/[A-Za-z0-9_-]{20,}$`));
    expect(await box.textContent()).toContain('shown only this once');
    await box.getByRole('button', { name: 'Copy' }).click();
    await box.getByRole('button', { name: 'Copied' }).waitFor();
    expect(await page.evaluate('navigator.clipboard.readText()')).toBe(url);
    const hook = page.getByTestId('incoming-webhook').filter({ hasText: 'CI status' });
    await hook.waitFor();
    // Its bot is one of Ann's bots now.
    await page.locator('[data-testid="bot"]').filter({ hasText: 'CI status' }).waitFor();
    await hook.scrollIntoViewIfNeeded();
    await screenshot(page, 'bots-incoming-desktop-en');
    await box.getByRole('button', { name: 'Done' }).click();
    await box.waitFor({ state: 'detached' });
    expect(await page.content()).not.toContain(url);

    const posted = await postTo(url, 'build 42 passed');
    expect(posted.status).toBe(201);
    await page.goto(`${suite.server.url}/chats/${encodeURIComponent(group.conversationId)}`);
    await bubble(page, 'build 42 passed').waitFor();
    await screenshot(page, 'bots-incoming-chat-desktop-en');

    await page.goto(`${suite.server.url}/me/bots`);
    await hook.getByRole('button', { name: 'Revoke' }).click();
    await page.getByRole('dialog').getByRole('button', { name: 'Revoke' }).click();
    await hook.getByText('revoked').waitFor();
    expect(await hook.getAttribute('data-revoked')).toBe('true');
    expect((await postTo(url, 'too late')).status).toBe(404);
    const listed = (await api('GET', `/conversations/${encodeURIComponent(group.conversationId)}/incoming-webhooks`, { token: ann.accessToken })).body.items;
    expect(listed).toHaveLength(1);
    expect(listed[0].revokedAt).not.toBeNull();
    expect(errors).toEqual([]);
  }, 120_000);

  it('in Chinese on a phone: an incoming webhook posts into the chat and is revoked; a group the user does not run offers none', async () => {
    const { api, ann, group } = await cast();
    // A group Ann is only a member of: not hers to add webhooks to.
    const bea = await newUser(api, { username: uniqueName('bea'), nickname: 'Bea' });
    const other = (await api('POST', '/groups', { token: bea.accessToken, body: { name: 'Not mine' } })).body;
    await api('POST', `/groups/${other.id}/members`, { token: bea.accessToken, body: { userIds: [ann.user.id] } });
    const invitations = (await api('GET', '/group-invitations', { token: ann.accessToken })).body.items as Array<{ id: string }>;
    for (const invitation of invitations) await api('POST', `/group-invitations/${invitation.id}/accept`, { token: ann.accessToken });

    const { page, errors } = await openPage({ width: 390, height: 844, locale: 'zh-CN' });
    await logInZh(page, ann.username);
    await page.goto(`${suite.server.url}/me/bots`);
    await page.getByRole('heading', { name: '传入 Webhook' }).waitFor();
    const form = page.getByTestId('incoming-form');
    await form.getByLabel('群组').locator('option').first().waitFor({ state: 'attached' });
    const options = await form.getByLabel('群组').locator('option').allTextContents();
    expect(options).toEqual(['Robots']);
    await form.getByRole('button', { name: '创建传入 Webhook' }).click();
    const box = page.getByRole('group', { name: '传入 Webhook 网址' });
    const url = await box.getByRole('textbox').inputValue();
    expect(url).toContain('/api/v1/hooks/');
    await box.scrollIntoViewIfNeeded();
    await screenshot(page, 'bots-incoming-phone-zh');
    await box.getByRole('button', { name: '完成' }).click();

    expect((await postTo(url, '部署完成 ✅')).status).toBe(201);
    await page.goto(`${suite.server.url}/chats/${encodeURIComponent(group.conversationId)}`);
    await bubble(page, '部署完成 ✅').waitFor();

    await page.goto(`${suite.server.url}/me/bots`);
    const hook = page.getByTestId('incoming-webhook').first();
    await hook.getByRole('button', { name: '吊销' }).click();
    await page.getByRole('dialog').getByRole('button', { name: '吊销' }).click();
    await hook.getByText('已吊销').waitFor();
    await hook.scrollIntoViewIfNeeded();
    await screenshot(page, 'bots-incoming-revoked-phone-zh');
    expect((await postTo(url, '太迟了')).status).toBe(404);
    expect(errors).toEqual([]);
  }, 120_000);
});
