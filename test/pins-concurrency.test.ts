import { afterEach, describe, expect, it } from 'vitest';
import { type Message, rest } from '../src/client/index.js';
import { MAX_PINS_PER_CONVERSATION } from '../src/contract/pins.js';
import { outcomes } from './support/http.js';
import { openPrivate, people, postMessage } from './support/messaging.js';
import { storageLabel } from './support/server.js';
import { useTestServer } from './support/suite.js';

/**
 * Pins arriving together in a conversation one short of its cap (two people pinning, a client
 * pinning several messages at once). The cap was "count, then insert": every pin counted one short
 * and the conversation went past it.
 */
describe(`pins at the cap at once (${storageLabel})`, () => {
  const suite = useTestServer();
  const crowd = people(() => suite.server.url);
  afterEach(() => crowd.closeAll());
  const AT_ONCE = 6;

  it(`pins one of ${AT_ONCE} messages pinned at once one short of the cap, and refuses the others with PIN_LIMIT_REACHED`, async () => {
    const alice = await crowd.user();
    const bob = await crowd.user();
    const conversationId = await openPrivate(alice.client, bob.id);
    const sent: Message[] = [];
    for (let i = 0; i < MAX_PINS_PER_CONVERSATION - 1 + AT_ONCE; i++) sent.push(await postMessage(alice.client, conversationId, { type: 'text', content: `note ${i}` }));
    await Promise.all(sent.slice(0, MAX_PINS_PER_CONVERSATION - 1).map((message) => rest(alice.client).messages.pin(message.id)));
    const racing = sent.slice(MAX_PINS_PER_CONVERSATION - 1);
    const answers = await Promise.all(racing.map((message, i) => suite.api('PUT', `/messages/${message.id}/pin`, { token: (i % 2 === 0 ? alice : bob).client.accessToken })));
    expect(outcomes(answers)).toEqual(['200', ...Array.from({ length: AT_ONCE - 1 }, () => '409 PIN_LIMIT_REACHED')]);
    const pinned = await suite.api('GET', `/conversations/${conversationId}/pins?limit=100`, { token: alice.client.accessToken });
    expect(pinned.status).toBe(200);
    expect(pinned.body.items).toHaveLength(MAX_PINS_PER_CONVERSATION);
  });
});
