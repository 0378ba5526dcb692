import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { Page } from 'playwright-core';
import sharp from 'sharp';
import { afterAll, describe, expect, it } from 'vitest';
import { type FakeLlm, signal, startFakeLlm } from './support/fake-llm.js';
import { apiClient, newUser, uniqueName } from './support/http.js';
import { ROOT } from './support/process.js';
import { connectedUser, registerClient } from './support/realtime.js';
import { storageLabel } from './support/server.js';
import { useTestServer } from './support/suite.js';
import { bubble, composer, logIn, PASSWORD, signUp, tab, useBrowser } from './support/web.js';

describe(`web client: served at / (${storageLabel})`, () => {
  const suite = useTestServer();

  it('serves the page at / and for client routes, and leaves server paths alone', async () => {
    const home = await fetch(`${suite.server.url}/`);
    expect(home.status).toBe(200);
    expect(home.headers.get('content-type')).toContain('text/html');
    const html = await home.text();
    expect(html).toContain('<div id="app">');
    const csp = home.headers.get('content-security-policy') ?? '';
    expect(csp).toContain("script-src 'self'");
    expect(csp).toContain("connect-src 'self'");
    expect(csp).not.toContain('upgrade-insecure-requests');

    const script = /src="(\/assets\/[^"]+\.js)"/.exec(html)?.[1];
    expect(script).toBeDefined();
    const asset = await fetch(`${suite.server.url}${script}`);
    expect(asset.status).toBe(200);
    expect(asset.headers.get('content-type')).toContain('javascript');
    expect(asset.headers.get('cache-control')).toContain('immutable');

    const deepLink = await fetch(`${suite.server.url}/chats/123`, { headers: { accept: 'text/html' } });
    expect(deepLink.status).toBe(200);
    expect(await deepLink.text()).toContain('<div id="app">');

    // Server paths keep their JSON answers, unknown ones included, even when HTML is accepted.
    for (const url of ['/api/v1/nope', '/api/v1/users/me/nope', '/docs/nope', '/missing.js']) {
      const response = await fetch(`${suite.server.url}${url}`, { headers: { accept: url.endsWith('.js') ? '*/*' : 'text/html' } });
      expect(response.status, url).toBe(404);
      expect(((await response.json()) as { error: { code: string } }).error.code).toBe('NOT_FOUND');
    }
    expect(((await (await fetch(`${suite.server.url}/healthz`, { headers: { accept: 'text/html' } })).json()) as { status: string }).status).toBe('ok');
    const config = (await (await fetch(`${suite.server.url}/web-config.json`)).json()) as { features: { ai: boolean } };
    expect(config.features.ai).toBe(false);
    expect((await fetch(`${suite.server.url}/openapi.json`)).headers.get('content-type')).toContain('application/json');
    const unauthenticated = await fetch(`${suite.server.url}/api/v1/users/me`, { headers: { accept: 'text/html' } });
    expect(unauthenticated.status).toBe(401);
  });
});

describe(`web client in Chromium (${storageLabel})`, { timeout: 90_000 }, () => {
  const suite = useTestServer();
  const openPage = useBrowser(() => suite.server);

  it('fits a 390×844 phone screen without horizontal scroll or console errors, in English and Chinese', async () => {
    const { page, errors } = await openPage({ width: 390, height: 844 });
    // Browser-side expressions are strings: this project's TypeScript has no DOM types.
    const noHorizontalScroll = () =>
      page.evaluate<boolean>('document.documentElement.scrollWidth <= document.documentElement.clientWidth && document.body.scrollWidth <= window.innerWidth');
    await page.getByRole('button', { name: 'Continue as guest' }).waitFor();
    expect(await noHorizontalScroll()).toBe(true);
    await signUp(page, uniqueName('phone'));
    expect(await noHorizontalScroll()).toBe(true);
    await tab(page, 'Contacts').click();
    await page.getByRole('heading', { name: 'Friends' }).waitFor();
    expect(await noHorizontalScroll()).toBe(true);
    await tab(page, 'Me').click();
    await page.getByRole('heading', { name: 'Login history' }).waitFor();
    await page.getByTestId('login-logs').getByText('password').first().waitFor();
    expect(await noHorizontalScroll()).toBe(true);
    // The language switch turns the interface to Simplified Chinese.
    await page.getByLabel('Language').selectOption('zh');
    await page.getByRole('heading', { name: '登录记录' }).waitFor();
    expect(await page.evaluate<string>('document.documentElement.lang')).toBe('zh-CN');
    expect(await noHorizontalScroll()).toBe(true);
    expect(errors).toEqual([]);

    // A browser asking for Chinese gets it from the first screen.
    const chinese = await openPage({ width: 390, height: 844, locale: 'zh-CN' });
    await chinese.page.getByRole('button', { name: '以访客身份继续' }).waitFor();
    expect(chinese.errors).toEqual([]);
  });

  it("says call messages in the reader's language, in the chat and the conversation list, and follows a folded missed call live", async () => {
    const caller = await connectedUser(suite.server.url);
    const callee = await registerClient(suite.server.url);
    try {
      // The callee is offline: the call is missed at once and leaves a call message.
      expect((await caller.client.emit('call_request', { toUserId: callee.id, media: 'video' })).state).toBe('missed');

      const { page, errors } = await openPage({ width: 1000, height: 760, locale: 'zh-CN' });
      await page.getByLabel('用户名').fill(callee.username);
      await page.getByLabel('密码').fill(callee.password);
      await page.getByRole('button', { name: '登录', exact: true }).click();
      const list = page.getByTestId('conversation-list');
      await list.getByText('未接视频通话', { exact: true }).waitFor();
      await list.locator('a[data-conversation]').first().click();
      await page.locator('li.msg .content', { hasText: '📞 未接视频通话' }).waitFor();

      // A second unanswered call folds into the same message, updated live, still in Chinese.
      const ringing = page.getByRole('dialog', { name: '视频来电' });
      const { callId } = await caller.client.emit('call_request', { toUserId: callee.id, media: 'video' });
      await ringing.waitFor();
      await caller.client.emit('call_cancel', { callId });
      await ringing.waitFor({ state: 'detached' });
      await page.locator('li.msg .content', { hasText: '📞 未接视频通话（2）' }).waitFor();
      await list.getByText('未接视频通话（2）', { exact: true }).waitFor();
      expect(await page.locator('li.msg .content', { hasText: 'missed' }).count()).toBe(0);

      // The same data in English once the reader switches.
      await page.getByRole('navigation').getByRole('link', { name: '我' }).click();
      await page.getByLabel('语言').selectOption('en');
      await tab(page, 'Chats').click();
      await page.getByTestId('conversation-list').getByText('Missed video call (2)', { exact: true }).waitFor();
      expect(errors).toEqual([]);
    } finally {
      caller.client.disconnect();
    }
  });

  it('shows a group invitation from a stranger under Contacts with a badge, in Chinese on a phone; accepting opens the group chat, declining removes it', async () => {
    const stranger = await connectedUser(suite.server.url);
    const invitee = await registerClient(suite.server.url);
    try {
      const { page, errors } = await openPage({ width: 390, height: 844, locale: 'zh-CN' });
      await page.getByLabel('用户名').fill(invitee.username);
      await page.getByLabel('密码').fill(invitee.password);
      await page.getByRole('button', { name: '登录', exact: true }).click();
      await page.getByRole('heading', { name: '会话' }).first().waitFor();

      // Not friends: creating a group with the invitee invites them; it arrives live.
      const weekend = await stranger.client.request<{ conversationId: string; invited: unknown[] }>('POST', '/groups', { name: '周末徒步', memberIds: [invitee.id] });
      expect(weekend.invited).toHaveLength(1);
      const contacts = page.getByRole('navigation').getByRole('link', { name: /联系人/ });
      await contacts.getByText('1', { exact: true }).waitFor();
      await contacts.click();
      const invitations = page.getByTestId('group-invitations');
      await invitations.getByText('周末徒步').waitFor();
      await invitations.getByText(`${stranger.username} 邀请你加入 · 1 位成员`).waitFor();
      // For a person to look at (SCREENSHOT_DIR=…): the run itself leaves the tree clean.
      if (process.env.SCREENSHOT_DIR) await page.screenshot({ path: path.join(process.env.SCREENSHOT_DIR, 'web-group-invitation-zh-phone.png') });

      await invitations.getByRole('button', { name: '接受' }).click();
      // Accepting opens the group's chat, and the invitation is gone.
      await page.waitForURL(`**/chats/${encodeURIComponent(weekend.conversationId)}`);
      await page.getByRole('heading', { name: '周末徒步' }).first().waitFor();
      expect((await stranger.client.request<{ items: unknown[] }>('GET', `/groups/${weekend.conversationId.slice(2)}/members`)).items).toHaveLength(2);

      // A second invitation, declined: it leaves the list and the invitee never joins.
      const chess = await stranger.client.request<{ id: string }>('POST', '/groups', { name: '象棋社', memberIds: [invitee.id] });
      // On a phone an open chat fills the screen: back to the lists first.
      await page.getByRole('button', { name: '返回' }).first().click();
      await contacts.click();
      await invitations.getByText('象棋社').waitFor();
      await invitations.getByRole('button', { name: '谢绝' }).click();
      await invitations.waitFor({ state: 'detached' });
      expect((await stranger.client.request<{ items: unknown[] }>('GET', `/groups/${chess.id}/members`)).items).toHaveLength(1);
      expect(errors).toEqual([]);
    } finally {
      stranger.client.disconnect();
    }
  });

  it('lets a guest upgrade to a full account and stay signed in across a reload', async () => {
    const { page, errors } = await openPage({ width: 390, height: 844 });
    await page.getByRole('button', { name: 'Continue as guest' }).click();
    await tab(page, 'Me').click();
    const upgrade = page.getByRole('form', { name: 'Create an account' });
    const username = uniqueName('upg');
    await upgrade.getByLabel('Username').fill(username);
    await upgrade.getByLabel('Password').fill(PASSWORD);
    await upgrade.getByRole('button', { name: 'Create an account' }).click();
    await page.getByText(`@${username}`).waitFor();
    await upgrade.waitFor({ state: 'detached' });
    // The new session is live: the socket reconnected with the upgraded tokens.
    await page.locator('.offline-bar').waitFor({ state: 'detached' });
    // A reload keeps the tab signed in: the stored refresh token is rotated over REST at start.
    await page.reload();
    await tab(page, 'Me').click();
    await page.getByText(`@${username}`).waitFor();
    await page.getByTestId('login-logs').getByText('refresh').first().waitFor();
    expect(errors).toEqual([]);
  });

  it('pages back through long history as the reader scrolls up', async () => {
    const api = apiClient(suite.server.url);
    const [reader, writer] = await Promise.all([newUser(api, { username: uniqueName('reader') }), newUser(api, { username: uniqueName('writer') })]);
    const asked = await api('POST', '/friend-requests', { token: writer.accessToken, body: { toUserId: reader.id } });
    await api('POST', `/friend-requests/${asked.body.id}/accept`, { token: reader.accessToken });
    const conversationId: string = (await api('POST', '/conversations', { token: writer.accessToken, body: { peerId: reader.id } })).body.id;
    for (let i = 1; i <= 75; i++) {
      await api('POST', `/conversations/${encodeURIComponent(conversationId)}/messages`, {
        token: writer.accessToken,
        body: { type: 'text', content: `line ${i}`, clientMsgId: `line-${i}` },
      });
    }
    const { page, errors } = await openPage({ width: 390, height: 844 });
    await logIn(page, reader.username);
    await page.getByTestId('conversation-list').getByRole('link').filter({ hasText: writer.username }).getByLabel('75 unread').click();
    await bubble(page, 'line 75').waitFor();
    // One page (30) is shown; scrolling to the top loads the next ones until the start.
    expect(await page.locator('li.msg').count()).toBeLessThan(75);
    const messages = page.locator('.messages');
    await expect
      .poll(
        async () => {
          await messages.evaluate((el: { scrollTop: number }) => {
            el.scrollTop = 0;
          });
          return page.locator('li.msg').count();
        },
        { timeout: 10_000 },
      )
      .toBe(75);
    await bubble(page, 'line 1').first().waitFor();
    await page.getByText('Start of the conversation').waitFor();
    expect(errors).toEqual([]);
  });

  it('two users befriend, chat with typing and read receipts, react, edit, recall and create a group', async () => {
    const alice = await openPage({ width: 1200, height: 760 });
    const bob = await openPage({ width: 390, height: 844 });
    const aliceName = uniqueName('alice');
    const bobName = uniqueName('bob');
    await signUp(alice.page, aliceName, 'Alice');
    await signUp(bob.page, bobName, 'Bob');

    // Alice finds Bob and asks to be friends; Bob accepts.
    await tab(alice.page, 'Contacts').click();
    await alice.page.getByLabel('Search people by name').fill(bobName);
    await alice.page.getByRole('button', { name: 'Search', exact: true }).click();
    const result = alice.page.getByTestId('search-results').locator(`[data-user="${bobName}"]`);
    await result.getByRole('button', { name: 'Add friend' }).click();
    await result.getByText('Requested').waitFor();

    await tab(bob.page, 'Contacts').click();
    const request = bob.page.getByTestId('incoming-requests').locator(`[data-user="${aliceName}"]`);
    await request.getByRole('button', { name: 'Accept' }).click();
    const aliceRow = bob.page.getByTestId('friends').locator(`[data-user="${aliceName}"]`);
    // Alice is online: her presence dot says so.
    await aliceRow.locator('[data-status="online"]').waitFor();

    // Bob opens the chat and writes; Alice sees the new conversation with an unread badge.
    await aliceRow.getByRole('button', { name: 'Message' }).click();
    await composer(bob.page).fill('Hi Alice 👋');
    await composer(bob.page).press('Enter');
    await bubble(bob.page, 'Hi Alice 👋').waitFor();
    await bob.page.getByTestId('receipt').filter({ hasText: 'Sent' }).waitFor();

    const aliceList = alice.page.getByTestId('conversation-list');
    const bobConversation = aliceList.getByRole('link').filter({ hasText: 'Bob' });
    await bobConversation.getByLabel('1 unread').waitFor();
    await bobConversation.click();
    await bubble(alice.page, 'Hi Alice 👋').waitFor();
    // Alice read it: Bob's receipt turns to "Read"; her badge is gone.
    await bob.page.getByTestId('receipt').filter({ hasText: 'Read' }).waitFor();
    await bobConversation.getByLabel('1 unread').waitFor({ state: 'detached' });

    // Alice types: Bob sees the indicator; she sends a reply to his message.
    await composer(alice.page).fill('Hello');
    await bob.page.getByTestId('typing').getByText('Alice is typing…').waitFor();
    await bubble(alice.page, 'Hi Alice 👋').getByRole('button', { name: 'Message actions' }).click();
    await alice.page.getByRole('button', { name: 'Reply', exact: true }).click();
    await composer(alice.page).fill('Hello Bob, welcome');
    await composer(alice.page).press('Enter');
    const reply = bubble(bob.page, 'Hello Bob, welcome');
    await reply.waitFor();
    await reply.getByRole('button', { name: /Hi Alice 👋/ }).waitFor();
    await bob.page.getByTestId('typing').getByText('Alice is typing…').waitFor({ state: 'detached' });
    await alice.page.getByTestId('receipt').filter({ hasText: 'Read' }).waitFor();

    // Bob reacts; Alice edits her message and sees the reaction.
    await reply.getByRole('button', { name: 'Message actions' }).click();
    await reply.getByRole('button', { name: 'React' }).click();
    await reply.getByRole('button', { name: '👍' }).click();
    await bubble(alice.page, 'Hello Bob, welcome').getByRole('button', { name: '👍 1' }).waitFor();
    await bubble(alice.page, 'Hello Bob, welcome').getByRole('button', { name: 'Message actions' }).click();
    await bubble(alice.page, 'Hello Bob, welcome').getByRole('button', { name: 'Edit' }).click();
    await composer(alice.page).fill('Hello Bob, welcome to Parley');
    await alice.page.getByRole('button', { name: 'Save' }).click();
    await bubble(bob.page, 'Hello Bob, welcome to Parley').getByText('(edited)').waitFor();

    // Emoji picker: Alice sends a lone emoji.
    await alice.page.getByRole('button', { name: 'Emoji', exact: true }).click();
    await alice.page.getByRole('group', { name: 'Emoji' }).getByRole('button', { name: '🎉' }).click();
    await composer(alice.page).press('Enter');
    await bob.page.locator('li.msg .big-emoji').filter({ hasText: '🎉' }).waitFor();
    await bubble(alice.page, 'Hello Bob, welcome to Parley').getByRole('button', { name: '👍 1' }).waitFor();

    // The screenshot in the README: Alice's window mid-conversation. It is taken every run (it
    // must not fail), but replaces the committed one only with UPDATE_SCREENSHOT=1, so a test run
    // leaves the working tree clean.
    const screenshot = await alice.page.screenshot();
    expect(screenshot.length).toBeGreaterThan(0);
    if (process.env.UPDATE_SCREENSHOT === '1') {
      mkdirSync(path.join(ROOT, 'docs'), { recursive: true });
      writeFileSync(path.join(ROOT, 'docs', 'screenshot.png'), screenshot);
    }

    // Bob recalls his first message: Alice sees the placeholder.
    await bubble(bob.page, 'Hi Alice 👋').first().getByRole('button', { name: 'Message actions' }).click();
    await bob.page.getByRole('button', { name: 'Recall' }).click();
    await bob.page.getByRole('dialog', { name: 'Recall this message?' }).getByRole('button', { name: 'Recall' }).click();
    await alice.page.locator('li.msg .bubble.recalled').first().waitFor();
    await bubble(alice.page, 'Hi Alice 👋')
      .locator('.bubble')
      .waitFor({ state: 'detached' })
      .catch(() => {});
    expect(await alice.page.locator('li.msg .content', { hasText: 'Hi Alice 👋' }).count()).toBe(0);

    // Alice creates a group with Bob; Bob sees it in his list with her first message.
    await tab(alice.page, 'Contacts').click();
    await alice.page.getByRole('button', { name: 'New group' }).click();
    await alice.page.getByLabel('Group name').fill('Team 🚀');
    await alice.page.getByLabel('Bob', { exact: true }).check();
    await alice.page.getByRole('button', { name: 'Create' }).click();
    await alice.page.getByRole('heading', { name: 'Team 🚀' }).waitFor();
    await composer(alice.page).fill('Welcome to the team');
    await composer(alice.page).press('Enter');
    await bubble(alice.page, 'Welcome to the team').waitFor();

    await bob.page.getByRole('button', { name: 'Back' }).click();
    const team = bob.page.getByTestId('conversation-list').getByRole('link').filter({ hasText: 'Team 🚀' });
    await team.getByText('Welcome to the team').waitFor();
    // Live reordering: the group is now Bob's most recent conversation.
    await bob.page.getByTestId('conversation-list').getByRole('link').first().filter({ hasText: 'Team 🚀' }).waitFor();

    // Group admin: Alice makes Bob an admin and mutes him from the group's page.
    await alice.page.getByRole('button', { name: 'Group info' }).click();
    const bobMember = alice.page.getByTestId('members').locator(`[data-user="${bobName}"]`);
    await bobMember.getByLabel('Role').selectOption('admin');
    await bobMember.getByRole('button', { name: 'Mute 1 h' }).click();
    await bobMember.getByRole('button', { name: 'Unmute' }).waitFor();

    expect(alice.errors).toEqual([]);
    expect(bob.errors).toEqual([]);
  });
});

describe(`web client in Chromium: files, calls and AI (${storageLabel})`, { timeout: 90_000 }, () => {
  let fake: FakeLlm;
  const suite = useTestServer(async () => {
    fake = await startFakeLlm();
    return {
      AI_PROVIDERS: JSON.stringify([{ name: 'local', baseUrl: fake.openaiBaseUrl, apiKey: 'local-key', models: ['m1', 'm2'] }]),
      // The shortest access token life: these tests outlive the first tokens, so rotation happens mid-way.
      ACCESS_TOKEN_TTL: '30',
    };
  });
  afterAll(async () => {
    await fake?.close();
  });
  const openPage = useBrowser(() => suite.server);

  /** Two friends made over REST, each logged in through the UI with their private chat open. */
  async function friendsInChat() {
    const api = apiClient(suite.server.url);
    const [a, b] = await Promise.all([newUser(api, { username: uniqueName('ann') }), newUser(api, { username: uniqueName('ben') })]);
    const asked = await api('POST', '/friend-requests', { token: a.accessToken, body: { toUserId: b.id } });
    await api('POST', `/friend-requests/${asked.body.id}/accept`, { token: b.accessToken });
    const opened = await api('POST', '/conversations', { token: a.accessToken, body: { peerId: b.id } });
    const conversationId: string = opened.body.id;
    const ann = await openPage({ width: 1000, height: 760 });
    const ben = await openPage({ width: 390, height: 844 });
    await logIn(ann.page, a.username);
    await logIn(ben.page, b.username);
    for (const page of [ann.page, ben.page]) await page.goto(`${suite.server.url}/chats/${encodeURIComponent(conversationId)}`);
    await composer(ann.page).waitFor();
    await composer(ben.page).waitFor();
    return { a, b, ann, ben, conversationId };
  }

  /** The first pair's pages stay open to the end, for the token rotation test. */
  let veterans: Awaited<ReturnType<typeof friendsInChat>> | undefined;

  it('uploads an image with tus and the other side sees it', async () => {
    veterans = await friendsInChat();
    const { ann, ben } = veterans;
    const png = await sharp({ create: { width: 64, height: 48, channels: 3, background: { r: 220, g: 40, b: 40 } } })
      .png()
      .toBuffer();
    await ann.page.getByLabel('Attach files').setInputFiles({ name: 'red.png', mimeType: 'image/png', buffer: png });
    // Ben's image loads from a signed URL (naturalWidth > 0 means the bytes arrived and decoded).
    const image = ben.page.getByTestId('attachment-image');
    await image.waitFor();
    // Polled through the DevTools protocol: the page's CSP (rightly) forbids the eval behind waitForFunction.
    await expect.poll(() => image.evaluate((img: { complete: boolean; naturalWidth: number }) => img.complete && img.naturalWidth > 0), { timeout: 10_000 }).toBe(true);
    await ann.page.getByTestId('upload').waitFor({ state: 'detached' });
    expect(ann.errors).toEqual([]);
    expect(ben.errors).toEqual([]);
  });

  it('places a video call with fake media: both remote videos play, then hang up leaves a call entry', async () => {
    const { ann, ben } = await friendsInChat();
    await ann.page.getByRole('button', { name: 'Video call' }).click();
    await ann.page.getByTestId('call').getByText('Calling…').waitFor();
    const ring = ben.page.getByRole('dialog', { name: 'Incoming video call' });
    await ring.getByRole('button', { name: 'Accept' }).click();
    const remotePlays = (page: Page) =>
      expect
        .poll(
          () =>
            page
              .locator('video.remote')
              .evaluate((video: { readyState: number; videoWidth: number; paused: boolean }) => video.readyState >= 2 && video.videoWidth > 0 && !video.paused),
          {
            timeout: 15_000,
          },
        )
        .toBe(true);
    await remotePlays(ann.page);
    await remotePlays(ben.page);
    await ann.page.getByTestId('call').getByText('In call').waitFor();
    await ann.page.getByRole('button', { name: 'Mute' }).click();
    await ann.page.getByRole('button', { name: 'Mute', pressed: true }).waitFor();
    await ann.page.getByRole('button', { name: 'Hang up' }).click();
    await ann.page.getByTestId('call').waitFor({ state: 'detached' });
    await ben.page.getByTestId('call').waitFor({ state: 'detached' });
    // The server writes the call into the conversation history.
    await ann.page.locator('li.msg .content', { hasText: '📞' }).first().waitFor();
    await ben.page.locator('li.msg .content', { hasText: '📞' }).first().waitFor();
    expect(ann.errors).toEqual([]);
    expect(ben.errors).toEqual([]);
  });

  it('streams an assistant reply token by token from the (fake) provider, and offers smart replies', async () => {
    const api = apiClient(suite.server.url);
    const user = await newUser(api, { username: uniqueName('asker') });
    const { page, errors } = await openPage({ width: 390, height: 844 });
    await logIn(page, user.username);
    await tab(page, 'Assistant').click();
    await page.getByTestId('model-picker').selectOption('local/m2');
    const release = signal();
    fake.enqueue({ kind: 'reply', chunks: ['Tea ', 'is ', 'a ', 'drink.'], holdAfter: 1, release: release.promise });
    const requested = fake.nextRequest();
    await page.getByRole('textbox', { name: 'Ask anything' }).fill('What is tea?');
    await page.getByRole('textbox', { name: 'Ask anything' }).press('Enter');
    // The first piece shows while the provider still holds the rest: the reply streams.
    const reply = page.locator('[data-testid="ai-messages"] li[data-role="assistant"]');
    await reply.filter({ hasText: 'Tea' }).and(page.locator('[data-status="streaming"]')).waitFor();
    expect((await requested).body.model).toBe('m2');
    release.fire();
    await reply.filter({ hasText: 'Tea is a drink.' }).and(page.locator('[data-status="complete"]')).waitFor();

    // Smart replies are off until Ann turns them on: a friend's message reaches her, and nothing of
    // the chat reaches the provider.
    const { ann, ben, conversationId } = await friendsInChat();
    fake.defaultReply = { kind: 'reply', chunks: ['["Sure thing", "On my way", "Maybe later"]'] };
    const sentBefore = fake.requests.length;
    await composer(ben.page).fill('Coffee at 3?');
    await composer(ben.page).press('Enter');
    await bubble(ann.page, 'Coffee at 3?').waitFor();
    await ann.page.waitForLoadState('networkidle');
    expect(fake.requests.length).toBe(sentBefore);
    expect(await ann.page.getByTestId('smart-replies').count()).toBe(0);

    // She turns them on in her settings (which say what they send), and they appear under his message.
    await ann.page.goto(`${suite.server.url}/me`);
    await ann.page.getByText('the last messages of that chat are sent to the AI provider', { exact: false }).waitFor();
    await ann.page.getByRole('checkbox', { name: 'Smart replies' }).check();
    await expect.poll(() => ann.page.getByRole('checkbox', { name: 'Smart replies' }).isChecked()).toBe(true);
    await ann.page.waitForLoadState('networkidle');
    await ann.page.goto(`${suite.server.url}/chats/${encodeURIComponent(conversationId)}`);
    await ann.page.getByTestId('smart-replies').getByRole('button', { name: 'On my way' }).click();
    await bubble(ben.page, 'On my way').waitFor();
    expect(errors).toEqual([]);
    expect(ann.errors).toEqual([]);
    expect(ben.errors).toEqual([]);
  });
  it('keeps a long session going: the access token rotates over REST before it expires and the socket stays usable', async () => {
    if (!veterans) throw new Error('runs after the upload test, whose pages are still open');
    const { a, ann, ben } = veterans;
    const api = apiClient(suite.server.url);
    const observer = await api('POST', '/auth/login', { body: { username: a.username, password: PASSWORD } });
    // Ann's tab rotates at three quarters of the 30 s token life; the login history records it.
    await expect
      .poll(
        async () => {
          const logs = await api('GET', '/users/me/login-logs', { token: observer.body.accessToken });
          return (logs.body.items as Array<{ method: string; success: boolean }>).filter((log) => log.method === 'refresh' && log.success).length;
        },
        { timeout: 30_000, interval: 500 },
      )
      .toBeGreaterThan(0);
    await composer(ann.page).fill('still here after a token rotation');
    await composer(ann.page).press('Enter');
    await bubble(ben.page, 'still here after a token rotation').waitFor();
    await tab(ann.page, 'Contacts').click();
    await ann.page.getByTestId('friends').locator(`[data-user="${veterans.b.username}"]`).waitFor();
    expect(ann.errors).toEqual([]);
    expect(ben.errors).toEqual([]);
  });
});
