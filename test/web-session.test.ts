import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { BrowserContext, Page } from 'playwright-core';
import { afterAll, describe, expect, it } from 'vitest';
import { launchPersistentChromium } from './support/browser.js';
import { uniqueName } from './support/http.js';
import { storageLabel } from './support/server.js';
import { useTestServer } from './support/suite.js';

const PASSWORD = 'correct horse battery';

describe(`web client session across tabs and restarts (${storageLabel})`, { timeout: 90_000 }, () => {
  const suite = useTestServer();
  const profiles: string[] = [];
  const open: BrowserContext[] = [];

  // Registered after the server's hooks, so the pages' sockets leave while the server still runs.
  afterAll(async () => {
    for (const context of open) await context.close().catch(() => {});
    for (const dir of profiles) rmSync(dir, { recursive: true, force: true });
  });

  /** A browser with its own profile directory (cookies and storage survive a relaunch on it). */
  async function browserProfile(): Promise<{ launch: () => Promise<BrowserContext> }> {
    const dir = mkdtempSync(path.join(tmpdir(), 'parley-profile-'));
    profiles.push(dir);
    return {
      launch: async () => {
        const context = await launchPersistentChromium(dir);
        context.setDefaultTimeout(10_000);
        open.push(context);
        return context;
      },
    };
  }

  /** A new tab of the browser on the app; console errors and uncaught exceptions are collected. */
  async function newTab(context: BrowserContext, errors: string[] = []): Promise<Page> {
    const page = await context.newPage();
    page.on('console', (message) => {
      if (message.type() === 'error') errors.push(message.text());
    });
    page.on('pageerror', (error) => errors.push(error.message));
    await page.goto(suite.server.url);
    return page;
  }

  const chats = (page: Page) => page.getByRole('heading', { name: 'Chats' }).first();
  const loginPage = (page: Page) => page.getByRole('button', { name: 'Log in' });
  const meTab = (page: Page) => page.getByRole('navigation').getByRole('link', { name: 'Me' });

  async function signUp(page: Page, username: string): Promise<void> {
    await page.getByRole('tab', { name: 'Sign up' }).click();
    await page.getByLabel('Username').fill(username);
    await page.getByLabel('Nickname').fill(username);
    await page.getByLabel('Password').fill(PASSWORD);
    await page.getByRole('button', { name: 'Sign up' }).click();
    await chats(page).waitFor();
  }

  /** What page scripts can read: document.cookie and both storages, as one string. */
  const readableByScripts = (page: Page) => page.evaluate<string>('JSON.stringify([document.cookie, { ...localStorage }, { ...sessionStorage }])');

  it('signs in a second tab and a restarted browser through one httpOnly cookie, with one session for the browser and no token scripts can read', async () => {
    const profile = await browserProfile();
    let context = await profile.launch();
    const errors: string[] = [];
    const first = await newTab(context, errors);
    await signUp(first, uniqueName('tabs'));

    const [cookie, ...others] = (await context.cookies()).filter((c) => c.name === 'parley_refresh');
    expect(others).toEqual([]);
    expect(cookie).toMatchObject({ httpOnly: true, sameSite: 'Strict', path: '/api/v1/auth' });
    expect(cookie!.expires).toBeGreaterThan(Date.now() / 1000 + 3600);
    const visible = await readableByScripts(first);
    expect(visible).not.toContain(cookie!.value);
    expect(visible).not.toMatch(/eyJ/); // no JWT of any kind

    const second = await newTab(context, errors);
    await chats(second).waitFor();
    await meTab(second).click();
    // Both tabs are the one session of this browser.
    await expect.poll(() => second.getByTestId('sessions').getByRole('listitem').count()).toBe(1);
    expect(await readableByScripts(second)).not.toMatch(/eyJ/);

    // Both tabs rotate at once (a reload of each): the cookie is not spent twice, so the session lives.
    await Promise.all([first.reload(), second.reload()]);
    await Promise.all([chats(first).waitFor(), chats(second).waitFor()]);

    await context.close();
    context = await profile.launch();
    const restarted = await newTab(context, errors);
    await chats(restarted).waitFor();
    await meTab(restarted).click();
    await expect.poll(() => restarted.getByTestId('sessions').getByRole('listitem').count()).toBe(1);
    expect(errors).toEqual([]);
  });

  it('keeps a guest account when its only tab is closed, and keeps its other tabs signed in through an upgrade', async () => {
    const context = await (await browserProfile()).launch();
    const errors: string[] = [];
    const page = await newTab(context, errors);
    await page.getByRole('button', { name: 'Continue as guest' }).click();
    await chats(page).waitFor();
    await meTab(page).click();
    const username = await page.getByText(/^@/).first().textContent();
    expect(username).toMatch(/^@\w+/);
    await page.close();

    const reopened = await newTab(context, errors);
    await chats(reopened).waitFor();
    await meTab(reopened).click();
    await reopened.getByText(username!, { exact: true }).first().waitFor();

    // Upgrading ends every guest session; another open tab follows to the new one through the cookie.
    const other = await newTab(context, errors);
    await meTab(other).click();
    await other.getByText(username!, { exact: true }).first().waitFor();
    const chosen = uniqueName('kept');
    const form = reopened.getByRole('form', { name: 'Create an account' });
    await form.getByLabel('Username').fill(chosen);
    await form.getByLabel('Password').fill(PASSWORD);
    await form.getByRole('button', { name: 'Create an account' }).click();
    await reopened.getByText(`@${chosen}`, { exact: true }).waitFor();
    await other.getByText(`@${chosen}`, { exact: true }).waitFor();
    expect(errors).toEqual([]);
  });

  it('signs out every tab when one tab signs out, and the cookie is gone; signing in again in one tab signs in the others', async () => {
    const context = await (await browserProfile()).launch();
    const errors: string[] = [];
    const first = await newTab(context, errors);
    const username = uniqueName('out');
    await signUp(first, username);
    const second = await newTab(context, errors);
    await chats(second).waitFor();

    await meTab(first).click();
    await first.getByRole('button', { name: 'Log out' }).click();
    await loginPage(first).waitFor();
    await loginPage(second).waitFor();
    expect((await context.cookies()).filter((c) => c.name === 'parley_refresh')).toEqual([]);

    // A new tab stays signed out too.
    const third = await newTab(context, errors);
    await loginPage(third).waitFor();

    // Signing in again in one tab brings the others along.
    await first.getByLabel('Username').fill(username);
    await first.getByLabel('Password').fill(PASSWORD);
    await loginPage(first).click();
    await Promise.all([chats(first).waitFor(), chats(second).waitFor(), chats(third).waitFor()]);
    expect(errors).toEqual([]);
  });

  it('stays signed in when the network fails during a load: a refresh that cannot reach the server or lists aborted mid-load only delay the page, they never sign out', async () => {
    const context = await (await browserProfile()).launch();
    const page = await newTab(context);
    await signUp(page, uniqueName('net'));

    // The refresh cannot reach the server: the page keeps trying ("Connecting…") instead of showing the sign-in page.
    await context.route('**/api/v1/auth/refresh', (route) => route.abort('internetdisconnected'));
    await page.reload();
    await page.getByText('Connecting…').waitFor();
    await page.waitForTimeout(1500);
    expect(await loginPage(page).count()).toBe(0);
    await context.unroute('**/api/v1/auth/refresh');
    await chats(page).waitFor();

    // The lists fail once after a good refresh (as when the page is left mid-load): still signed in, then and on the next load.
    let aborted = 0;
    await context.route('**/api/v1/conversations?*', (route) => (aborted++ === 0 ? route.abort('connectionreset') : route.continue()));
    await page.reload();
    await chats(page).waitFor();
    await expect.poll(() => aborted, { timeout: 15000 }).toBeGreaterThan(1);
    await context.unroute('**/api/v1/conversations?*');
    await page.reload();
    await chats(page).waitFor();
    expect(await loginPage(page).count()).toBe(0);
  });
});
