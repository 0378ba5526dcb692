import path from 'node:path';
import type { Page } from 'playwright-core';
import { describe, expect, it } from 'vitest';
import { apiClient, newUser, uniqueName } from './support/http.js';
import { storageLabel } from './support/server.js';
import { useTestServerWithFakePush } from './support/suite.js';
import { logIn, tab, useBrowser } from './support/web.js';

async function screenshot(page: Page, name: string): Promise<void> {
  if (process.env.SCREENSHOT_DIR) await page.screenshot({ path: path.join(process.env.SCREENSHOT_DIR, `${name}.png`), fullPage: true });
}

/**
 * Headless Chromium has no push service to subscribe at, so `PushManager.subscribe` is replaced (in
 * the page, before the app loads) by one returning a subscription at the local fake push service,
 * with keys made in Node as a browser makes them. Everything else is real: the permission request
 * from the click, the service worker registration, the app's POST, the server's encrypted push.
 */
function stubPushManager(subscription: { endpoint: string; keys: { p256dh: string; auth: string } }) {
  return `(() => {
    const data = ${JSON.stringify(subscription)};
    let current = null;
    const make = () => ({ endpoint: data.endpoint, expirationTime: null, toJSON: () => ({ endpoint: data.endpoint, expirationTime: null, keys: data.keys }), unsubscribe: async () => { current = null; return true; } });
    PushManager.prototype.subscribe = async function (options) {
      if (!options || !options.userVisibleOnly || !(options.applicationServerKey instanceof Uint8Array) || options.applicationServerKey.length !== 65) throw new DOMException('bad options', 'InvalidAccessError');
      window.__subscribedWithKey = btoa(String.fromCharCode(...options.applicationServerKey)).replace(/\\+/g, '-').replace(/\\//g, '_').replace(/=+$/, '');
      current = make();
      return current;
    };
    PushManager.prototype.getSubscription = async function () { return current; };
  })();`;
}

describe(`web client: Web Push settings and the service worker (${storageLabel})`, () => {
  const { suite, service } = useTestServerWithFakePush();
  const openPage = useBrowser(() => suite.server);

  it('asks permission only on the click, subscribes this device with the server’s key, toggles previews, and the offline user gets the push', async () => {
    const push = service();
    const http = apiClient(suite.server.url);
    const [ann, ben] = await Promise.all([newUser(http, { username: uniqueName('ann'), nickname: 'Ann' }), newUser(http, { username: uniqueName('ben'), nickname: 'Ben' })]);
    const device = push.subscription();
    const { page, errors } = await openPage({ width: 1280, height: 800 });
    const context = page.context();
    await context.addInitScript(stubPushManager({ endpoint: device.endpoint, keys: device.keys }));
    // Counts permission prompts: none may come before the click.
    await context.addInitScript(`(() => {
      window.__permissionAsked = 0;
      const original = Notification.requestPermission.bind(Notification);
      Notification.requestPermission = (...args) => { window.__permissionAsked++; return original(...args); };
    })();`);
    await context.grantPermissions(['notifications'], { origin: suite.server.url });
    await page.reload();
    await logIn(page, ann.username);
    await tab(page, 'Me').click();
    const settings = page.getByTestId('push-settings');
    await settings.getByRole('button', { name: 'Enable notifications on this device' }).waitFor();
    expect(await page.evaluate('window.__permissionAsked')).toBe(0);
    await screenshot(page, 'push-settings-off-en');

    await settings.getByRole('button', { name: 'Enable notifications on this device' }).click();
    await settings.getByText('Notifications are on for this device.').waitFor();
    expect(await page.evaluate('window.__permissionAsked')).toBe(1);
    const { publicKey } = (await http('GET', '/push/vapid-public-key')).body as { publicKey: string };
    expect(await page.evaluate('window.__subscribedWithKey')).toBe(publicKey);
    // The real service worker is registered, from the site root, in the page's language.
    const scriptUrl = await page.evaluate('navigator.serviceWorker.ready.then((r) => r.active && r.active.scriptURL)');
    expect(scriptUrl).toBe(`${suite.server.url}/sw.js?lang=en`);
    const devices = async () => ((await http('GET', '/push/subscriptions', { token: ann.accessToken })).body as { items: Array<{ endpoint: string; previews: boolean }> }).items;
    expect(await devices()).toEqual([expect.objectContaining({ endpoint: device.endpoint, previews: false })]);

    await settings.getByLabel('Show message text in these notifications').check();
    await expect.poll(async () => (await devices())[0]?.previews).toBe(true);
    await screenshot(page, 'push-settings-on-en');

    // Ann closes Parley: Ben's message reaches her device through the push service, text included.
    await context.close();
    await expect.poll(() => suite.server.app.services.presence.hasOpenSocket(ann.id)).toBe(false);
    const conversationId: string = (await http('POST', '/conversations', { token: ben.accessToken, body: { peerId: ann.id } })).body.id;
    const sent = await http('POST', `/conversations/${encodeURIComponent(conversationId)}/messages`, {
      token: ben.accessToken,
      body: { type: 'text', content: 'dinner?', clientMsgId: uniqueName('m') },
    });
    const received = await push.next(device.endpoint, (p) => p.payload.messageId === sent.body.id);
    expect(received.payload).toEqual({ type: 'message', conversationId, messageId: sent.body.id, senderName: 'Ben', text: 'dinner?' });
    expect(push.rejected).toEqual([]);
    expect(errors.filter((e) => !/status of 4\d\d/.test(e))).toEqual([]);
  }, 120_000);

  it('shows the settings in Chinese on a phone, and turns notifications off on this device', async () => {
    const push = service();
    const http = apiClient(suite.server.url);
    const user = await newUser(http, { username: uniqueName('lin') });
    const device = push.subscription();
    const { page } = await openPage({ width: 390, height: 844, locale: 'zh-CN' });
    await page.context().addInitScript(stubPushManager({ endpoint: device.endpoint, keys: device.keys }));
    await page.context().grantPermissions(['notifications'], { origin: suite.server.url });
    await page.reload();
    await page.getByLabel('用户名').fill(user.username);
    await page.getByLabel('密码').fill('correct horse battery');
    await page.getByRole('button', { name: '登录', exact: true }).click();
    await page.getByRole('navigation').getByRole('link', { name: '我' }).click();
    const settings = page.getByTestId('push-settings');
    await settings.getByRole('button', { name: '在此设备上开启通知' }).click();
    await settings.getByText('此设备已开启通知。').waitFor();
    expect(await page.evaluate('navigator.serviceWorker.ready.then((r) => r.active && r.active.scriptURL)')).toBe(`${suite.server.url}/sw.js?lang=zh`);
    await screenshot(page, 'push-settings-on-zh-phone');
    await settings.getByRole('button', { name: '在此设备上关闭' }).click();
    await settings.getByRole('button', { name: '在此设备上开启通知' }).waitFor();
    expect(((await http('GET', '/push/subscriptions', { token: user.accessToken })).body as { items: unknown[] }).items).toEqual([]);
  }, 120_000);
});
