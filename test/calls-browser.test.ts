import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { launchChromium } from './support/browser.js';
import { type CallPageWindow, serveCallPage } from './support/call-page.js';
import { registerClient } from './support/realtime.js';
import { storageLabel } from './support/server.js';
import { useTestServer } from './support/suite.js';

/**
 * Two headless Chromium pages, logged in as two users, place a video call through Parley (fake
 * camera and microphone) and each sees the other's remote video track live, with frames decoded.
 */

describe(`a video call between two Chromium pages (${storageLabel})`, () => {
  const suite = useTestServer({ STUN_URLS: 'stun:127.0.0.1:3478' });
  let page: Awaited<ReturnType<typeof serveCallPage>>;
  let browser: Browser;

  beforeAll(async () => {
    page = await serveCallPage();
    // Both pages are on this machine: let WebRTC use the loopback interface, with plain IPs (no mDNS names).
    browser = await launchChromium(['--allow-loopback-in-peer-connection', '--disable-features=WebRtcHideLocalIpsWithMdns']);
  });
  afterAll(async () => {
    await browser?.close();
    await page?.close();
  });

  async function openAs(user: { username: string; password: string }): Promise<Page> {
    const context = await browser.newContext();
    const tab = await context.newPage();
    tab.on('pageerror', (error) => console.error('page error:', error.message));
    const query = new URLSearchParams({ api: suite.server.url, user: user.username, pass: user.password });
    await tab.goto(`${page.url}?${query}`);
    await tab.waitForFunction(() => (globalThis as unknown as CallPageWindow).ready || (globalThis as unknown as CallPageWindow).failed, undefined, { timeout: 20_000 });
    const failed = await tab.evaluate(() => (globalThis as unknown as CallPageWindow).failed);
    if (failed) throw new Error(`page failed to start: ${failed}`);
    return tab;
  }

  it('each page receives the other page’s live remote video', async () => {
    const [alice, bob] = await Promise.all([registerClient(suite.server.url), registerClient(suite.server.url)]);
    const [alicePage, bobPage] = await Promise.all([openAs(alice), openAs(bob)]);

    const placed = await alicePage.evaluate((toUserId) => (globalThis as unknown as CallPageWindow).call(toUserId), bob.id);
    expect(placed.state).toBe('ringing');

    for (const tab of [alicePage, bobPage]) {
      await tab.waitForFunction(
        () => {
          const w = globalThis as unknown as CallPageWindow;
          return w.remote.track?.readyState === 'live' && w.remote.frames > 5 && w.remoteSize().width > 0;
        },
        undefined,
        { timeout: 30_000, polling: 250 },
      );
    }
    for (const tab of [alicePage, bobPage]) {
      const remote = await tab.evaluate(() => {
        const w = globalThis as unknown as CallPageWindow;
        return { readyState: w.remote.track?.readyState, frames: w.remote.frames, ...w.remoteSize(), states: w.states };
      });
      expect(remote.readyState).toBe('live');
      expect(remote.frames).toBeGreaterThan(5);
      expect(remote.width).toBeGreaterThan(0);
      expect(remote.height).toBeGreaterThan(0);
      expect(remote.states).toEqual(['ringing', 'accepted']);
    }

    await alicePage.evaluate(() => (globalThis as unknown as CallPageWindow).hangup());
    await bobPage.waitForFunction(() => (globalThis as unknown as CallPageWindow).states.includes('ended'), undefined, { timeout: 10_000 });
    const record = await alice.client.request<{ items: Array<{ id: string; state: string; media: string; durationSec: number }> }>('GET', '/calls');
    expect(record.items[0]).toMatchObject({ id: placed.callId, state: 'ended', media: 'video' });
  }, 90_000);
});
