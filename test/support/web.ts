import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll } from 'vitest';
import { launchChromium } from './browser.js';
import type { TestServer } from './server.js';

/** The password the web tests sign up and log in with (the one `newUser` uses too). */
export const PASSWORD = 'correct horse battery';

/** One Chromium for a describe block; pages record console errors and uncaught exceptions. */
export function useBrowser(serverOf: () => TestServer) {
  let browser: Browser;
  const contexts: BrowserContext[] = [];
  const baseUrl = () => serverOf().url;
  beforeAll(async () => {
    browser = await launchChromium();
  });
  // Registered after the server's hooks, so it runs before the server closes: the pages' sockets
  // leave first and the server sees them go (presence updates) while it is still whole.
  afterAll(async () => {
    for (const context of contexts) await context.close().catch(() => {});
    await browser?.close();
    const sockets = serverOf().app.gateway.io.of('/').sockets;
    for (const deadline = Date.now() + 10_000; sockets.size > 0 && Date.now() < deadline; ) await new Promise((resolve) => setTimeout(resolve, 50));
  });
  return async function openPage(options: { width: number; height: number; locale?: string }): Promise<{ page: Page; errors: string[] }> {
    const context = await browser.newContext({ viewport: { width: options.width, height: options.height }, locale: options.locale ?? 'en-US' });
    contexts.push(context);
    // Every wait is on visible state; ten seconds is far beyond what any step needs.
    context.setDefaultTimeout(10_000);
    const page = await context.newPage();
    const errors: string[] = [];
    page.on('console', (message) => {
      if (message.type() === 'error') errors.push(message.text());
    });
    page.on('pageerror', (error) => errors.push(error.message));
    await page.goto(baseUrl());
    return { page, errors };
  };
}

export async function signUp(page: Page, username: string, nickname = username): Promise<void> {
  await page.getByRole('tab', { name: 'Sign up' }).click();
  await page.getByLabel('Username').fill(username);
  await page.getByLabel('Nickname').fill(nickname);
  await page.getByLabel('Password').fill(PASSWORD);
  await page.getByRole('button', { name: 'Sign up' }).click();
  await page.getByRole('heading', { name: 'Chats' }).first().waitFor();
}

export async function logIn(page: Page, username: string): Promise<void> {
  await page.getByLabel('Username').fill(username);
  await page.getByLabel('Password').fill(PASSWORD);
  await page.getByRole('button', { name: 'Log in' }).click();
  await page.getByRole('heading', { name: 'Chats' }).first().waitFor();
}

export const tab = (page: Page, name: 'Chats' | 'Contacts' | 'Me' | 'Assistant') => page.getByRole('navigation').getByRole('link', { name });
export const bubble = (page: Page, text: string) => page.locator('li.msg').filter({ hasText: text });
export const composer = (page: Page) => page.getByRole('textbox', { name: 'Message' });
