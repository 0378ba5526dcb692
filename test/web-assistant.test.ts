import path from 'node:path';
import type { Page } from 'playwright-core';
import { afterAll, describe, expect, it } from 'vitest';
import { type FakeLlm, signal, startFakeLlm } from './support/fake-llm.js';
import { apiClient, newUser, uniqueName } from './support/http.js';
import { storageLabel } from './support/server.js';
import { useTestServer } from './support/suite.js';
import { logIn, PASSWORD, tab, useBrowser } from './support/web.js';

/** For a person to look at (SCREENSHOT_DIR=…): the run itself leaves the tree clean. */
async function screenshot(page: Page, name: string): Promise<void> {
  if (process.env.SCREENSHOT_DIR) await page.screenshot({ path: path.join(process.env.SCREENSHOT_DIR, `${name}.png`) });
}

// Browser-side expressions are strings: this project's TypeScript has no DOM types.
const noHorizontalScroll = (page: Page) =>
  page.evaluate<boolean>('document.documentElement.scrollWidth <= document.documentElement.clientWidth && document.body.scrollWidth <= window.innerWidth');

/** Provider names as long as real deployments give them. */
const LONG_MODEL = 'meta-llama-3.1-405b-instruct-turbo-eu-west-deployment-2026';

describe(`web client assistant page in Chromium (${storageLabel})`, () => {
  let fake: FakeLlm;
  const suite = useTestServer(async () => {
    fake = await startFakeLlm();
    return { AI_PROVIDERS: JSON.stringify([{ name: 'openrouter-production', baseUrl: fake.openaiBaseUrl, apiKey: 'local-key', models: [LONG_MODEL, 'm2'] }]) };
  });
  afterAll(async () => {
    await fake?.close();
  });
  const openPage = useBrowser(() => suite.server);

  async function signedIn(options: { width: number; height: number; locale?: string }) {
    const user = await newUser(apiClient(suite.server.url), { username: uniqueName('asker') });
    const opened = await openPage(options);
    if (options.locale === 'zh-CN') {
      await opened.page.getByLabel('用户名').fill(user.username);
      await opened.page.getByLabel('密码').fill(PASSWORD);
      await opened.page.getByRole('button', { name: '登录', exact: true }).click();
      await opened.page.getByRole('heading', { name: '会话' }).first().waitFor();
    } else {
      await logIn(opened.page, user.username);
    }
    return opened;
  }

  const replies = (page: Page) => page.getByTestId('ai-messages').locator('li[data-role="assistant"]');

  it('greets an empty chat with example questions; one click asks it, and Stop shows for that first question and cancels it', async () => {
    const { page, errors } = await signedIn({ width: 1280, height: 800 });
    await tab(page, 'Assistant').click();
    await page.getByText('Hi! What can I help you with?').waitFor();
    const examples = page.getByRole('list', { name: 'Example questions' }).getByRole('button');
    expect(await examples.count()).toBe(4);
    await screenshot(page, 'assistant-empty-desktop-en');

    const release = signal();
    fake.enqueue({ kind: 'reply', chunks: ['Day 1: ', 'Fushimi Inari', ' …'], holdAfter: 1, release: release.promise });
    const requested = fake.nextRequest();
    await page.getByRole('button', { name: 'Plan a three-day trip to Kyoto' }).click();
    const request = await requested;
    expect(request.turns.at(-1)).toEqual({ role: 'user', content: 'Plan a three-day trip to Kyoto' });
    // The question moved to the new chat's own address, and its reply is streaming: Stop is there.
    await page.waitForURL(/\/ai\/[^/]+$/);
    await replies(page).filter({ hasText: 'Day 1:' }).and(page.locator('[data-status="streaming"]')).waitFor();
    expect(await page.getByText('Hi! What can I help you with?').count()).toBe(0);
    await page.getByRole('button', { name: 'Stop' }).click();
    await request.aborted;
    await replies(page).and(page.locator('[data-status="failed"]')).getByText('Stopped', { exact: true }).waitFor();
    await page.getByRole('button', { name: 'Send' }).waitFor();
    expect(await page.getByRole('button', { name: 'Stop' }).count()).toBe(0);
    release.fire();
    expect(errors).toEqual([]);
  }, 60_000);

  it('renders a reply as Markdown (code, lists, tables, safe links) and leaves HTML and javascript: links inert', async () => {
    const { page, errors } = await signedIn({ width: 1280, height: 800 });
    await tab(page, 'Assistant').click();
    const reply = [
      'Here is **the plan**:',
      '',
      '1. Boil water',
      '2. Steep the tea',
      '',
      '- green',
      '- black',
      '',
      '| tea | minutes |',
      '|-----|---------|',
      '| green | 2 |',
      '| black | 4 |',
      '',
      '```js',
      'const steep = (minutes) => minutes * 60;',
      '```',
      '',
      'Raw HTML: <img src=x onerror="document.title=\'pwned-img\'"> and <script>document.title = "pwned-script"</script>',
      '',
      "A [trap](javascript:document.title='pwned-link'), a [data trap](data:text/html,<b>x</b>), and [the guide](https://example.com/tea).",
    ].join('\n');
    fake.enqueue({ kind: 'reply', chunks: [reply.slice(0, 40), reply.slice(40)] });
    await page.getByRole('textbox', { name: 'Ask anything' }).fill('How do I make tea?');
    await page.getByRole('textbox', { name: 'Ask anything' }).press('Enter');
    const done = replies(page).and(page.locator('[data-status="complete"]'));
    await done.waitFor();

    await done.locator('strong', { hasText: 'the plan' }).waitFor();
    expect(await done.locator('ol > li').allTextContents()).toEqual(['Boil water', 'Steep the tea']);
    expect(await done.locator('ul > li').allTextContents()).toEqual(['green', 'black']);
    expect(await done.getByRole('table').getByRole('columnheader').allTextContents()).toEqual(['tea', 'minutes']);
    expect(await done.getByRole('table').getByRole('cell').allTextContents()).toEqual(['green', '2', 'black', '4']);
    expect(await done.locator('pre code').textContent()).toBe('const steep = (minutes) => minutes * 60;\n');

    // The HTML arrives as text: no element, no handler, nothing ran.
    expect(await done.locator('img, script, [onerror]').count()).toBe(0);
    await done.getByText('<img src=x onerror="document.title=\'pwned-img\'">', { exact: false }).waitFor();
    await done.getByText('<script>document.title = "pwned-script"</script>', { exact: false }).waitFor();
    // Only the https link is a link, and it cannot reach back into this page.
    const links = done.getByRole('link');
    expect(await links.count()).toBe(1);
    const guide = done.getByRole('link', { name: 'the guide' });
    expect(await guide.getAttribute('href')).toBe('https://example.com/tea');
    expect(await guide.getAttribute('rel')).toBe('noopener noreferrer nofollow');
    expect(await guide.getAttribute('target')).toBe('_blank');
    await done.getByText("[trap](javascript:document.title='pwned-link')", { exact: false }).waitFor();
    await done.getByText('[data trap](data:text/html,', { exact: false }).waitFor();
    expect(await page.title()).not.toContain('pwned');
    await screenshot(page, 'assistant-markdown-desktop-en');
    expect(errors).toEqual([]);
  }, 60_000);

  it('fits a long model name on a phone without horizontal scroll, in English and Chinese', async () => {
    for (const locale of ['en-US', 'zh-CN']) {
      const { page, errors } = await signedIn({ width: 390, height: 844, locale });
      await page
        .getByRole('navigation')
        .getByRole('link', { name: locale === 'zh-CN' ? '助手' : 'Assistant' })
        .click();
      const picker = page.getByTestId('model-picker');
      await expect.poll(() => picker.inputValue()).toBe(`openrouter-production/${LONG_MODEL}`);
      await page.getByRole('list', { name: locale === 'zh-CN' ? '示例问题' : 'Example questions' }).waitFor();
      expect(await noHorizontalScroll(page)).toBe(true);
      const box = await picker.boundingBox();
      expect(box && box.x >= 0 && box.x + box.width <= 390).toBe(true);
      // The whole name is still there for whoever points at it or opens the list.
      expect(await picker.getAttribute('title')).toBe(`openrouter-production/${LONG_MODEL}`);
      await screenshot(page, `assistant-phone-${locale === 'zh-CN' ? 'zh' : 'en'}`);
      expect(errors).toEqual([]);
    }
  }, 90_000);
});
