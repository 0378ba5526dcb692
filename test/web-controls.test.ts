import path from 'node:path';
import type { Locator, Page } from 'playwright-core';
import { describe, expect, it } from 'vitest';
import { apiClient, newUser, uniqueName } from './support/http.js';
import { storageLabel } from './support/server.js';
import { useTestServerWithFakeLlm } from './support/suite.js';
import { bubble, composer, logIn, PASSWORD, tab, useBrowser } from './support/web.js';

type Rgba = [number, number, number, number];
const parseColor = (css: string): Rgba => {
  const parts = (/rgba?\(([^)]+)\)/.exec(css)?.[1] ?? '')
    .split(/[\s,/]+/)
    .filter(Boolean)
    .map(Number);
  if (parts.length < 3) throw new Error(`unexpected colour ${css}`);
  return [parts[0] ?? 0, parts[1] ?? 0, parts[2] ?? 0, parts[3] ?? 1];
};
const over = (top: Rgba, under: Rgba): Rgba => [0, 1, 2].map((i) => (top[i] ?? 0) * top[3] + (under[i] ?? 0) * (1 - top[3])).concat(1) as Rgba;
const luminance = (color: Rgba) => {
  const [r, g, b] = color.slice(0, 3).map((v) => (v / 255 <= 0.03928 ? v / 255 / 12.92 : ((v / 255 + 0.055) / 1.055) ** 2.4)) as [number, number, number];
  return 0.2126 * r + 0.7152 * g + 0.0722 * b;
};

/** Styles as the page computes them (this project's TypeScript has no DOM types). */
type Styled = { parentElement: Styled | null };

/**
 * The contrast ratio (WCAG 2) of an element's text against what is painted behind it: its own and its
 * ancestors' backgrounds blended down to the first opaque one.
 */
async function contrast(locator: Locator): Promise<number> {
  const styles = await locator.evaluate((element: Styled) => {
    const view = globalThis as unknown as { getComputedStyle(node: Styled): { color: string; backgroundColor: string } };
    const backgrounds: string[] = [];
    for (let node: Styled | null = element; node; node = node.parentElement) backgrounds.push(view.getComputedStyle(node).backgroundColor);
    return { text: view.getComputedStyle(element).color, backgrounds };
  });
  const layers: Rgba[] = [];
  for (const css of styles.backgrounds) {
    const color = parseColor(css);
    if (color[3] > 0) layers.push(color);
    if (color[3] === 1) break;
  }
  let background: Rgba = [255, 255, 255, 1];
  for (const layer of layers.reverse()) background = over(layer, background);
  const [light, dark] = [luminance(over(parseColor(styles.text), background)), luminance(background)].sort((x, y) => y - x) as [number, number];
  return (light + 0.05) / (dark + 0.05);
}

/** WCAG AA for normal text. */
const AA = 4.5;

/** Puts the textarea's selection at [start, end). */
const select = (locator: Locator, start: number, end: number) =>
  locator.evaluate((element: { setSelectionRange(a: number, b: number): void }, range: [number, number]) => element.setSelectionRange(range[0], range[1]), [start, end] as [
    number,
    number,
  ]);

/** For a person to look at (SCREENSHOT_DIR=…): the run itself leaves the tree clean. */
async function screenshot(page: Page, name: string): Promise<void> {
  if (process.env.SCREENSHOT_DIR) await page.screenshot({ path: path.join(process.env.SCREENSHOT_DIR, `${name}.png`) });
}

/** The call overlay's clock as seconds. */
const seconds = async (timer: Locator) => {
  const [m, s] = ((await timer.textContent()) ?? '').split(':').map(Number);
  return (m ?? 0) * 60 + (s ?? 0);
};

// Two browsers per scenario, a WebRTC call and two real one-second clock ticks: about 6 s on a quiet machine,
// but over the 30 s default while the full PostgreSQL pass ran beside it on a two-core CI machine.
describe(`web client controls in Chromium: calls, confirmations, composer (${storageLabel})`, { timeout: 90_000 }, () => {
  const { suite, fake } = useTestServerWithFakeLlm();
  const openPage = useBrowser(() => suite.server);

  /** Two friends made over REST, with their private conversation. */
  async function friends(nicknames: [string, string] = ['Ann', 'Ben']) {
    const http = apiClient(suite.server.url);
    const [a, b] = await Promise.all([
      newUser(http, { username: uniqueName('ann'), nickname: nicknames[0] }),
      newUser(http, { username: uniqueName('ben'), nickname: nicknames[1] }),
    ]);
    const asked = await http('POST', '/friend-requests', { token: a.accessToken, body: { toUserId: b.id } });
    await http('POST', `/friend-requests/${asked.body.id}/accept`, { token: b.accessToken });
    const conversationId: string = (await http('POST', '/conversations', { token: a.accessToken, body: { peerId: b.id } })).body.id;
    return { http, a, b, conversationId };
  }

  it('shows every call control legibly with a name and a pressed state, and a running timer once the call is active (desktop in English, phone in Chinese)', async () => {
    const { a, b, conversationId } = await friends();
    const ann = await openPage({ width: 1000, height: 760 });
    const ben = await openPage({ width: 390, height: 844, locale: 'zh-CN' });
    await logIn(ann.page, a.username);
    await ben.page.getByLabel('用户名').fill(b.username);
    await ben.page.getByLabel('密码').fill(PASSWORD);
    await ben.page.getByRole('button', { name: '登录', exact: true }).click();
    await ben.page.getByRole('heading', { name: '会话' }).first().waitFor();
    await ann.page.goto(`${suite.server.url}/chats/${encodeURIComponent(conversationId)}`);
    await composer(ann.page).waitFor();

    await ann.page.getByRole('button', { name: 'Video call' }).click();
    const ringing = ben.page.getByRole('dialog', { name: '视频来电' });
    // Ringing: the callee's Accept and Reject are legible too.
    for (const name of ['接受', '拒绝']) expect(await contrast(ringing.getByRole('button', { name, exact: true })), name).toBeGreaterThanOrEqual(AA);
    await ringing.getByRole('button', { name: '接受', exact: true }).click();

    const sides = [
      { page: ann.page, dialog: ann.page.getByRole('dialog', { name: 'In call' }), mute: 'Mute', camera: 'Camera off', hangUp: 'Hang up', timer: 'Call duration' },
      { page: ben.page, dialog: ben.page.getByRole('dialog', { name: '通话中' }), mute: '静音', camera: '关闭摄像头', hangUp: '挂断', timer: '通话时长' },
    ];
    for (const side of sides) {
      const { dialog } = side;
      const mute = dialog.getByRole('button', { name: side.mute, exact: true });
      const camera = dialog.getByRole('button', { name: side.camera, exact: true });
      const hangUp = dialog.getByRole('button', { name: side.hangUp, exact: true });
      // Toggles start released, and every control reads against the overlay.
      expect(await mute.getAttribute('aria-pressed')).toBe('false');
      expect(await camera.getAttribute('aria-pressed')).toBe('false');
      for (const control of [mute, camera, hangUp]) expect(await contrast(control)).toBeGreaterThanOrEqual(AA);

      // The timer counts up in mm:ss once media flows.
      const timer = dialog.getByRole('timer', { name: side.timer });
      expect(await timer.textContent()).toMatch(/^\d\d:\d\d$/);
      const first = await seconds(timer);
      await expect.poll(() => seconds(timer), { timeout: 5_000 }).toBeGreaterThan(first);

      // Pressing a toggle keeps its name, says so with aria-pressed, and stays legible.
      await mute.click();
      await dialog.getByRole('button', { name: side.mute, exact: true, pressed: true }).waitFor();
      await camera.click();
      await dialog.getByRole('button', { name: side.camera, exact: true, pressed: true }).waitFor();
      for (const control of [mute, camera]) expect(await contrast(control)).toBeGreaterThanOrEqual(AA);
      await screenshot(side.page, `call-${side.page === ann.page ? 'desktop-en' : 'phone-zh'}`);
      await mute.click();
      await dialog.getByRole('button', { name: side.mute, exact: true, pressed: false }).waitFor();
    }

    await sides[0]?.dialog.getByRole('button', { name: 'Hang up' }).click();
    await ann.page.getByTestId('call').waitFor({ state: 'detached' });
    await ben.page.getByTestId('call').waitFor({ state: 'detached' });
    expect(ann.errors).toEqual([]);
    expect(ben.errors).toEqual([]);
  });

  it('asks before blocking (Cancel and Esc change nothing), removes a friend without blocking, and blocks only once confirmed', async () => {
    const { http, a, b } = await friends(['Ann', 'Ben']);
    const cleo = await newUser(http, { username: uniqueName('cleo'), nickname: 'Cleo' });
    const asked = await http('POST', '/friend-requests', { token: a.accessToken, body: { toUserId: cleo.id } });
    await http('POST', `/friend-requests/${asked.body.id}/accept`, { token: cleo.accessToken });
    const friendIds = async () => ((await http('GET', '/friends', { token: a.accessToken })).body.items as Array<{ user: { id: string } }>).map((f) => f.user.id).sort();
    const blockedIds = async () => ((await http('GET', '/blocks', { token: a.accessToken })).body.items as Array<{ user: { id: string } }>).map((f) => f.user.id);

    const { page, errors } = await openPage({ width: 1000, height: 760 });
    await logIn(page, a.username);
    await tab(page, 'Contacts').click();
    const friendList = page.getByTestId('friends');
    const benRow = friendList.locator(`[data-user="${b.username}"]`);
    const cleoRow = friendList.locator(`[data-user="${cleo.username}"]`);

    // Remove friend and Block sit behind each friend's "more" button.
    await benRow.getByRole('button', { name: 'More actions for Ben' }).click();
    await cleoRow.getByRole('button', { name: 'More actions for Cleo' }).click();
    // Block asks first, and says the friendship goes with it; Cancel leaves everything as it was.
    await benRow.getByRole('button', { name: 'Block' }).click();
    const askBlockBen = page.getByRole('dialog', { name: 'Block Ben?' });
    await askBlockBen.getByText('unblocking later does not bring the friendship back').waitFor();
    await screenshot(page, 'confirm-block-desktop-en');
    await askBlockBen.getByRole('button', { name: 'Cancel' }).click();
    await askBlockBen.waitFor({ state: 'detached' });
    // Esc is a cancel as well.
    await cleoRow.getByRole('button', { name: 'Block' }).click();
    const askBlockCleo = page.getByRole('dialog', { name: 'Block Cleo?' });
    await askBlockCleo.waitFor();
    await page.keyboard.press('Escape');
    await askBlockCleo.waitFor({ state: 'detached' });

    // Remove friend: asked, then the friendship ends and nobody is blocked.
    await benRow.getByRole('button', { name: 'Remove friend' }).click();
    const askRemove = page.getByRole('dialog', { name: 'Remove Ben from your friends?' });
    await askRemove.getByRole('button', { name: 'Remove friend' }).click();
    await benRow.waitFor({ state: 'detached' });
    expect(await friendIds()).toEqual([cleo.id]);
    expect(await blockedIds()).toEqual([]);
    // Ben can be asked again: search offers Add friend, not a blocked state.
    await page.getByLabel('Search people by name').fill(b.username);
    await page.getByRole('button', { name: 'Search', exact: true }).click();
    await page.getByTestId('search-results').locator(`[data-user="${b.username}"]`).getByRole('button', { name: 'Add friend' }).waitFor();

    // Confirmed, Block blocks Cleo and ends that friendship.
    await cleoRow.getByRole('button', { name: 'Block' }).click();
    await askBlockCleo.getByRole('button', { name: 'Block' }).click();
    await page.getByRole('heading', { name: 'Blocked' }).waitFor();
    await cleoRow.waitFor({ state: 'detached' });
    expect(await blockedIds()).toEqual([cleo.id]);
    expect(await friendIds()).toEqual([]);
    expect(errors).toEqual([]);
  });

  it('asks before recalling a message and before dissolving a group (Cancel keeps both), in Chinese on a phone', async () => {
    const { http, a, b, conversationId } = await friends();
    const sent = await http('POST', `/conversations/${encodeURIComponent(conversationId)}/messages`, {
      token: a.accessToken,
      body: { type: 'text', content: 'take this back', clientMsgId: 'recall-me' },
    });
    const group = (await http('POST', '/groups', { token: a.accessToken, body: { name: 'Book club', memberIds: [b.id] } })).body as { id: string };

    const { page, errors } = await openPage({ width: 390, height: 844, locale: 'zh-CN' });
    await page.getByLabel('用户名').fill(a.username);
    await page.getByLabel('密码').fill(PASSWORD);
    await page.getByRole('button', { name: '登录', exact: true }).click();
    await page.getByRole('heading', { name: '会话' }).first().waitFor();
    await page.goto(`${suite.server.url}/chats/${encodeURIComponent(conversationId)}`);
    const message = bubble(page, 'take this back');
    await message.getByRole('button', { name: '消息操作' }).click();
    await message.getByRole('button', { name: '撤回' }).click();
    const askRecall = page.getByRole('dialog', { name: '撤回这条消息？' });
    await askRecall.waitFor();
    await screenshot(page, 'confirm-recall-phone-zh');
    await askRecall.getByRole('button', { name: '取消' }).click();
    await askRecall.waitFor({ state: 'detached' });
    expect((await http('GET', `/conversations/${encodeURIComponent(conversationId)}/messages`, { token: a.accessToken })).body.items[0]).toMatchObject({
      id: sent.body.id,
      recalledAt: null,
    });
    await message.getByRole('button', { name: '撤回' }).click();
    await askRecall.getByRole('button', { name: '撤回' }).click();
    await page.locator(`li.msg[data-message-id="${sent.body.id}"] .bubble.recalled`).waitFor();

    await page.goto(`${suite.server.url}/groups/${encodeURIComponent(group.id)}`);
    await page.getByRole('button', { name: '解散群组' }).click();
    const askDissolve = page.getByRole('dialog', { name: '解散 Book club？' });
    await askDissolve.getByText('此操作无法撤销').waitFor();
    await askDissolve.getByRole('button', { name: '取消' }).click();
    await askDissolve.waitFor({ state: 'detached' });
    expect((await http('GET', `/groups/${group.id}`, { token: a.accessToken })).status).toBe(200);
    await page.getByRole('button', { name: '解散群组' }).click();
    await askDissolve.getByRole('button', { name: '解散群组' }).click();
    await page.waitForURL('**/chats');
    expect((await http('GET', `/groups/${group.id}`, { token: a.accessToken })).status).toBe(404);
    expect(errors).toEqual([]);
  });

  it('asks before removing a member and before leaving a group (Cancel keeps both)', async () => {
    const { http, a, b } = await friends();
    const members = async (groupId: string) =>
      ((await http('GET', `/groups/${groupId}/members`, { token: a.accessToken })).body.items as Array<{ user: { id: string } }>).map((m) => m.user.id);
    const club = (await http('POST', '/groups', { token: a.accessToken, body: { name: 'Chess club', memberIds: [b.id] } })).body as { id: string };
    const ann = await openPage({ width: 1280, height: 800 });
    await logIn(ann.page, a.username);
    await ann.page.goto(`${suite.server.url}/groups/${encodeURIComponent(club.id)}`);
    // Ann sees herself online in the member list.
    await ann.page
      .getByRole('listitem')
      .filter({ hasText: `@${a.username}` })
      .getByText('online')
      .waitFor();
    const remove = ann.page.getByRole('button', { name: 'Remove', exact: true });
    await remove.click();
    const askRemove = ann.page.getByRole('dialog', { name: 'Remove Ben from Chess club?' });
    await askRemove.getByText('You can add them again later').waitFor();
    await screenshot(ann.page, 'confirm-remove-member-desktop-en');
    await askRemove.getByRole('button', { name: 'Cancel' }).click();
    await askRemove.waitFor({ state: 'detached' });
    expect(await members(club.id)).toContain(b.id);
    await remove.click();
    await askRemove.getByRole('button', { name: 'Remove', exact: true }).click();
    await expect.poll(() => members(club.id)).not.toContain(b.id);

    const book = (await http('POST', '/groups', { token: a.accessToken, body: { name: 'Book club', memberIds: [b.id] } })).body as { id: string };
    const ben = await openPage({ width: 390, height: 844 });
    await logIn(ben.page, b.username);
    await ben.page.goto(`${suite.server.url}/groups/${encodeURIComponent(book.id)}`);
    const leave = ben.page.getByRole('button', { name: 'Leave group' });
    await leave.click();
    const askLeave = ben.page.getByRole('dialog', { name: 'Leave Book club?' });
    await askLeave.waitFor();
    await screenshot(ben.page, 'confirm-leave-phone-en');
    await askLeave.getByRole('button', { name: 'Cancel' }).click();
    await askLeave.waitFor({ state: 'detached' });
    expect(await members(book.id)).toContain(b.id);
    await leave.click();
    await askLeave.getByRole('button', { name: 'Leave group' }).click();
    await ben.page.waitForURL('**/chats');
    expect(await members(book.id)).not.toContain(b.id);
    expect(ann.errors).toEqual([]);
    expect(ben.errors).toEqual([]);
  });

  it('offers Pin and Remove on others’ group messages to the owner only, and removing asks first (two browsers)', async () => {
    const { http, a, b } = await friends();
    const group = (await http('POST', '/groups', { token: a.accessToken, body: { name: 'Garden club', memberIds: [b.id] } })).body as { id: string; conversationId: string };
    const post = (token: string, content: string) =>
      http('POST', `/conversations/${encodeURIComponent(group.conversationId)}/messages`, { token, body: { type: 'text', content, clientMsgId: uniqueName('g') } });
    await post(a.accessToken, 'Tomatoes are ripe');
    const spam = (await post(b.accessToken, 'buy cheap watches')).body as { id: string };

    // Ben, a plain member, is offered neither on Ann's message (the server would refuse both).
    const ben = await openPage({ width: 390, height: 844 });
    await logIn(ben.page, b.username);
    await ben.page.goto(`${suite.server.url}/chats/${encodeURIComponent(group.conversationId)}`);
    const annsMessage = bubble(ben.page, 'Tomatoes are ripe');
    await annsMessage.getByRole('button', { name: 'Message actions' }).click();
    await annsMessage.getByRole('button', { name: 'Forward', exact: true }).waitFor();
    expect(await annsMessage.getByRole('button', { name: 'Pin', exact: true }).count()).toBe(0);
    expect(await annsMessage.getByRole('button', { name: 'Remove', exact: true }).count()).toBe(0);

    // Ann, the owner, is offered both on Ben's message, and removing asks first.
    const ann = await openPage({ width: 1280, height: 800 });
    await logIn(ann.page, a.username);
    await ann.page.goto(`${suite.server.url}/chats/${encodeURIComponent(group.conversationId)}`);
    const bensMessage = bubble(ann.page, 'buy cheap watches');
    await bensMessage.getByRole('button', { name: 'Message actions' }).click();
    await bensMessage.getByRole('button', { name: 'Pin', exact: true }).waitFor();
    await bensMessage.getByRole('button', { name: 'Remove', exact: true }).click();
    const ask = ann.page.getByRole('dialog', { name: 'Remove this message for everyone?' });
    await ask.getByRole('button', { name: 'Remove', exact: true }).click();
    await ann.page.locator(`li.msg[data-message-id="${spam.id}"] .bubble.recalled`).waitFor();
    await ben.page.locator(`li.msg[data-message-id="${spam.id}"] .bubble.recalled`).waitFor();
    expect(ann.errors).toEqual([]);
    expect(ben.errors).toEqual([]);
  });

  it('Esc while editing puts the draft back (Enter then sends no stale copy), smart replies hide while editing, and an emoji lands at the caret', async () => {
    const { http, a, b, conversationId } = await friends();
    const post = (token: string, content: string) =>
      http('POST', `/conversations/${encodeURIComponent(conversationId)}/messages`, { token, body: { type: 'text', content, clientMsgId: uniqueName('c') } });
    await post(a.accessToken, 'Original text');
    // Smart replies are opt-in: this user turned them on.
    expect((await http('PATCH', '/users/me', { token: a.accessToken, body: { smartReplies: true } })).status).toBe(200);
    fake().defaultReply = { kind: 'reply', chunks: ['["Sure thing", "On my way", "Maybe later"]'] };
    await post(b.accessToken, 'Coffee at 3?');

    const { page, errors } = await openPage({ width: 1000, height: 760 });
    await logIn(page, a.username);
    await page.goto(`${suite.server.url}/chats/${encodeURIComponent(conversationId)}`);
    const chips = page.getByTestId('smart-replies');
    await chips.getByRole('button', { name: 'On my way' }).waitFor();

    // A half-typed draft, then an edit of the earlier message: the chips step aside.
    await composer(page).fill('half-typed draft');
    await bubble(page, 'Original text').getByRole('button', { name: 'Message actions' }).click();
    await bubble(page, 'Original text').getByRole('button', { name: 'Edit' }).click();
    await expect.poll(() => composer(page).inputValue()).toBe('Original text');
    await page.getByRole('button', { name: 'Save' }).waitFor();
    await chips.waitFor({ state: 'detached' });

    // Esc cancels the edit: the draft is back with Send, and the chips return.
    await composer(page).press('Escape');
    await page.getByRole('button', { name: 'Send' }).waitFor();
    expect(await composer(page).inputValue()).toBe('half-typed draft');
    await chips.getByRole('button', { name: 'On my way' }).waitFor();
    await page.getByText('Editing message').waitFor({ state: 'detached' });

    // Enter sends the draft, and nothing else: no copy of the edited text, which is unchanged.
    await composer(page).press('Enter');
    await bubble(page, 'half-typed draft').waitFor();
    const history = (await http('GET', `/conversations/${encodeURIComponent(conversationId)}/messages`, { token: a.accessToken })).body.items as Array<{
      content: string;
      editedAt: string | null;
    }>;
    expect(history.map((m) => m.content)).toEqual(['half-typed draft', 'Coffee at 3?', 'Original text']);
    expect(history[2]?.editedAt).toBeNull();

    // An emoji goes in at the caret, and typing carries on after it; with a selection it replaces it.
    await composer(page).fill('Hello world');
    await select(composer(page), 5, 5);
    await page.getByRole('button', { name: 'Emoji', exact: true }).click();
    const picker = page.getByRole('group', { name: 'Emoji' });
    await picker.getByRole('button', { name: '🎉' }).click();
    await page.keyboard.type('!');
    expect(await composer(page).inputValue()).toBe('Hello🎉! world');
    // "world" is UTF-16 code units 9 to 14 (the emoji takes two).
    await select(composer(page), 9, 14);
    await picker.getByRole('button', { name: '👍' }).click();
    expect(await composer(page).inputValue()).toBe('Hello🎉! 👍');
    expect(errors).toEqual([]);
  });
});
