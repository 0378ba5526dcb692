import { describe, expect, it } from 'vitest';
import { rest } from '../src/client/index.js';
import { outcomes } from './support/http.js';
import { registerClient } from './support/realtime.js';
import { storageLabel } from './support/server.js';
import { useTestServerWithFakePush } from './support/suite.js';

/**
 * A browser that subscribes the same endpoint twice at once (a service worker and the page both
 * registering, a retried request). The subscription is an upsert by endpoint, done as "delete the
 * endpoint's row, insert the new one": both requests deleted nothing and both inserted.
 */
describe(`Web Push subscriptions sent twice at once (${storageLabel})`, () => {
  const { suite, service } = useTestServerWithFakePush();
  const ROUNDS = 6;

  it('stores one subscription when the same endpoint is subscribed twice at once, and both answers name it', async () => {
    const user = await registerClient(suite.server.url);
    for (let round = 0; round < ROUNDS; round++) {
      const device = service().subscription();
      const body = { endpoint: device.endpoint, keys: device.keys };
      const answers = await Promise.all([0, 1].map(() => suite.api('POST', '/push/subscriptions', { token: user.client.accessToken, body })));
      expect(outcomes(answers)).toEqual(['201', '201']);
      const stored = (await rest(user.client).push.list()).items.filter((item) => item.endpoint === device.endpoint);
      expect(stored).toHaveLength(1);
      expect(answers.map((res) => res.body.id)).toEqual([stored[0]?.id, stored[0]?.id]);
    }
  });

  it('keeps one subscription when a subscribed endpoint is subscribed again twice at once', async () => {
    const user = await registerClient(suite.server.url);
    for (let round = 0; round < ROUNDS; round++) {
      const device = service().subscription();
      const body = { endpoint: device.endpoint, keys: device.keys };
      const first = await suite.api('POST', '/push/subscriptions', { token: user.client.accessToken, body });
      expect(first.status).toBe(201);
      const answers = await Promise.all([0, 1].map(() => suite.api('POST', '/push/subscriptions', { token: user.client.accessToken, body: { ...body, previews: true } })));
      expect(outcomes(answers)).toEqual(['201', '201']);
      const stored = (await rest(user.client).push.list()).items.filter((item) => item.endpoint === device.endpoint);
      expect(stored).toMatchObject([{ id: first.body.id, previews: true }]);
      expect(answers.map((res) => res.body.id)).toEqual([first.body.id, first.body.id]);
    }
  });
});
