import type { Page } from 'playwright-core';
import { describe, expect, it } from 'vitest';
import { apiClient, newUser, uniqueName } from './support/http.js';
import { storageLabel } from './support/server.js';
import { useTestServer, useTestServerWithFakeLlm } from './support/suite.js';
import { composer, logIn, useBrowser } from './support/web.js';

/**
 * Read receipts as a person sees them after a reload or on another device (they used to revert to
 * "Sent": only live events carried them), and the assistant found in the contact search offered as
 * a chat rather than a friend request nobody would answer.
 */

const receipt = (page: Page) => page.getByTestId('receipt');

describe(`web client: read receipts survive a reload (${storageLabel})`, { timeout: 90_000 }, () => {
  const suite = useTestServer();
  const openPage = useBrowser(() => suite.server);

  it('Bob reads; Alice sees "Read" live, after reloading and on another device', async () => {
    const api = apiClient(suite.server.url);
    const [a, b] = await Promise.all([newUser(api, { username: uniqueName('alice'), nickname: 'Alice' }), newUser(api, { username: uniqueName('bob'), nickname: 'Bob' })]);
    const conversationId: string = (await api('POST', '/conversations', { token: a.accessToken, body: { peerId: b.id } })).body.id;
    const chatUrl = `${suite.server.url}/chats/${encodeURIComponent(conversationId)}`;

    const alice = await openPage({ width: 1200, height: 760 });
    await logIn(alice.page, a.username);
    await alice.page.goto(chatUrl);
    await composer(alice.page).fill('Did you get the tickets?');
    await composer(alice.page).press('Enter');
    await receipt(alice.page).filter({ hasText: 'Sent' }).waitFor();

    const bob = await openPage({ width: 390, height: 844 });
    await logIn(bob.page, b.username);
    await bob.page.getByTestId('conversation-list').getByRole('link').filter({ hasText: 'Alice' }).click();
    await bob.page.locator('li.msg').filter({ hasText: 'Did you get the tickets?' }).waitFor();
    await receipt(alice.page).filter({ hasText: 'Read' }).waitFor();

    // A reload starts from REST alone: the receipt must come back from the server.
    await alice.page.reload();
    await alice.page.locator('li.msg').filter({ hasText: 'Did you get the tickets?' }).waitFor();
    await receipt(alice.page).filter({ hasText: 'Read' }).waitFor();

    // Another device (a new sign-in) shows it too.
    const laptop = await openPage({ width: 1000, height: 700 });
    await logIn(laptop.page, a.username);
    await laptop.page.goto(chatUrl);
    await receipt(laptop.page).filter({ hasText: 'Read' }).waitFor();

    expect([...alice.errors, ...bob.errors, ...laptop.errors]).toEqual([]);
    // Three browsers and four page loads: more than the default 30 s when CI runs suites side by side.
  }, 90_000);

  it('a group shows "Read by n" after a reload, counting the members who read before the page loaded', async () => {
    const api = apiClient(suite.server.url);
    const [a, b, c] = await Promise.all(['ann', 'ben', 'cat'].map((name) => newUser(api, { username: uniqueName(name) })));
    if (!a || !b || !c) throw new Error('users not created');
    const created = await api('POST', '/groups', { token: a.accessToken, body: { name: 'Picnic 🧺', memberIds: [b.id, c.id] } });
    // Strangers are invited: they join by accepting.
    for (const invitation of created.body.invited as Array<{ id: string; inviteeId: string }>) {
      const invitee = [b, c].find((u) => u.id === invitation.inviteeId);
      await api('POST', `/group-invitations/${invitation.id}/accept`, { token: invitee?.accessToken ?? '' });
    }
    const conversationId: string = created.body.conversationId;
    const chatUrl = `${suite.server.url}/chats/${encodeURIComponent(conversationId)}`;

    const ann = await openPage({ width: 1200, height: 760 });
    await logIn(ann.page, a.username);
    await ann.page.goto(chatUrl);
    await composer(ann.page).fill('Saturday at noon?');
    await composer(ann.page).press('Enter');
    await receipt(ann.page).filter({ hasText: 'Sent' }).waitFor();

    // Ben reads in his browser, Cat on a device of hers over the API.
    const ben = await openPage({ width: 390, height: 844 });
    await logIn(ben.page, b.username);
    await ben.page.goto(chatUrl);
    await ben.page.locator('li.msg').filter({ hasText: 'Saturday at noon?' }).waitFor();
    await receipt(ann.page).filter({ hasText: 'Read by 1' }).waitFor();
    const history = await api('GET', `/conversations/${encodeURIComponent(conversationId)}/messages`, { token: c.accessToken });
    await api('POST', `/conversations/${encodeURIComponent(conversationId)}/read`, { token: c.accessToken, body: { messageId: history.body.items[0].id } });
    await receipt(ann.page).filter({ hasText: 'Read by 2' }).waitFor();

    await ann.page.reload();
    await ann.page.locator('li.msg').filter({ hasText: 'Saturday at noon?' }).waitFor();
    await receipt(ann.page).filter({ hasText: 'Read by 2' }).waitFor();
    expect([...ann.errors, ...ben.errors]).toEqual([]);
  });
});

describe(`web client: the assistant in the contact search (${storageLabel})`, { timeout: 90_000 }, () => {
  const { suite } = useTestServerWithFakeLlm();
  const openPage = useBrowser(() => suite.server);

  it('offers "Chat" instead of "Add friend" and opens the conversation with it', async () => {
    const api = apiClient(suite.server.url);
    const user = await newUser(api, { username: uniqueName('asker') });
    const { page, errors } = await openPage({ width: 390, height: 844 });
    await logIn(page, user.username);
    await page.getByRole('navigation').getByRole('link', { name: 'Contacts' }).click();
    await page.getByLabel('Search people by name').fill('assistant');
    await page.getByRole('button', { name: 'Search', exact: true }).click();
    const result = page.getByTestId('search-results').locator('[data-user="assistant"]');
    await result.getByRole('button', { name: 'Chat' }).waitFor();
    expect(await result.getByRole('button', { name: 'Add friend' }).count()).toBe(0);
    await result.getByRole('button', { name: 'Chat' }).click();
    await page.getByRole('heading', { name: 'Parley Assistant' }).waitFor();
    await composer(page).waitFor();
    const info = await api('GET', '/ai/assistant', { token: user.accessToken });
    expect(decodeURIComponent(new URL(page.url()).pathname)).toBe(`/chats/${info.body.conversationId}`);
    expect(errors).toEqual([]);
  });
});
