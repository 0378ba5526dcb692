import path from 'node:path';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { PreviewOutcome } from '../src/modules/previews/index.js';
import { apiClient, newUser, uniqueName } from './support/http.js';
import { type LinkSite, ogPage, startLinkSite } from './support/link-site.js';
import { storageLabel } from './support/server.js';
import { useTestServer } from './support/suite.js';
import { bubble, composer, logIn, useBrowser } from './support/web.js';

/** For a person to look at (SCREENSHOT_DIR=…): the run itself leaves the tree clean. */
async function screenshot(page: Page, name: string): Promise<void> {
  if (process.env.SCREENSHOT_DIR) await page.screenshot({ path: path.join(process.env.SCREENSHOT_DIR, `${name}.png`) });
}

describe(`web client: link preview cards (${storageLabel})`, () => {
  let site: LinkSite;
  beforeAll(async () => {
    site = await startLinkSite();
    site.page(
      '/tides',
      ogPage({
        title: 'Why the sea rises twice a day',
        description: 'The moon pulls the ocean towards it, and the earth away from the water on the far side: two bulges, two tides.',
        image: '/cover.png',
        siteName: 'Sea News',
      }),
    );
  });
  afterAll(async () => {
    await site.close();
  });
  // The linked site runs on this machine: loopback stands in for the internet here.
  // A generous time budget: this machine's browser tests can be slow, and the budget is not what is tested here.
  const suite = useTestServer({ OUTBOUND_ALLOW_PRIVATE: 'true', LINK_PREVIEW_TIMEOUT_MS: '30000' });
  const openPage = useBrowser(() => suite.server);

  it('shows the title, description and site of the first link under the message, as a link without a remote image', { timeout: 90_000 }, async () => {
    const api = apiClient(suite.server.url);
    const [a, b] = await Promise.all([newUser(api, { username: uniqueName('alice'), nickname: 'Alice' }), newUser(api, { username: uniqueName('bob'), nickname: 'Bob' })]);
    const conversationId: string = (await api('POST', '/conversations', { token: a.accessToken, body: { peerId: b.id } })).body.id;
    const chatUrl = `${suite.server.url}/chats/${encodeURIComponent(conversationId)}`;
    const url = `${site.origin}/tides`;

    const alice = await openPage({ width: 1280, height: 800 });
    await logIn(alice.page, a.username);
    await alice.page.goto(chatUrl);
    const bob = await openPage({ width: 390, height: 844, locale: 'zh-CN' });
    await bob.page.getByLabel('用户名').fill(b.username);
    await bob.page.getByLabel('密码').fill('correct horse battery');
    await bob.page.getByRole('button', { name: '登录' }).click();
    await bob.page.getByRole('heading', { name: '会话' }).first().waitFor();
    await bob.page.goto(chatUrl);

    const outcomes: PreviewOutcome[] = [];
    suite.server.app.services.previews.onSettled((outcome) => outcomes.push(outcome));
    await composer(alice.page).fill(`Tonight's question: ${url}`);
    await composer(alice.page).press('Enter');

    await expect.poll(() => outcomes, { timeout: 30_000 }).toMatchObject([{ result: 'preview' }]);
    for (const side of [alice, bob]) {
      const card = bubble(side.page, "Tonight's question").getByRole('link', { name: /Why the sea rises twice a day/ });
      await card.waitFor();
      expect(await card.getAttribute('href')).toBe(url);
      expect(await card.getAttribute('rel')).toContain('noopener');
      await expect.poll(() => card.textContent()).toContain('Sea News · 127.0.0.1');
      expect(await card.textContent()).toContain('The moon pulls the ocean');
      expect(await bubble(side.page, "Tonight's question").locator('img').count()).toBe(0);
    }
    await screenshot(alice.page, 'link-preview-desktop-en');
    await screenshot(bob.page, 'link-preview-phone-zh');
    expect(site.hits('/cover.png')).toBe(0);
    expect([...alice.errors, ...bob.errors]).toEqual([]);
  });
});
