import { describe, expect, it } from 'vitest';
import { type ApiResponse, outcomes, uniqueName } from './support/http.js';
import { storageLabel } from './support/server.js';
import { useTestServer } from './support/suite.js';

const PASSWORD = 'correct horse battery';

/**
 * A guest's upgrade sent twice at once (a double tap, or two tabs choosing different names). Both
 * requests read "still a guest" before either wrote, so both were answered 200 with their own
 * name and password while the account kept only the last write, and each request's revocation of
 * "every other session" could end the session the other had just opened.
 */
describe(`guest upgrades sent twice at once (${storageLabel})`, () => {
  const suite = useTestServer({ GUEST_CREATE_PER_IP: '100' });
  const { api } = suite;
  const ROUNDS = 6;

  it('upgrades a guest once when two upgrades with different names arrive at once, and refuses the other as no longer a guest', async () => {
    for (let round = 0; round < ROUNDS; round++) {
      const guest = (await api('POST', '/auth/guest', { body: {} })).body;
      const names = [uniqueName('upg'), uniqueName('upg')];
      const answers = await Promise.all(names.map((username) => api('POST', '/auth/upgrade', { token: guest.accessToken, body: { username, password: PASSWORD } })));
      expect(outcomes(answers)).toEqual(['200', '403 FORBIDDEN']);
      const upgraded = answers.find((res) => res.status === 200) as ApiResponse;
      // The account is what the successful answer said, and the session it opened works.
      const me = await api('GET', '/users/me', { token: upgraded.body.accessToken });
      expect(me.status).toBe(200);
      expect(me.body).toMatchObject({ id: guest.user.id, username: upgraded.body.user.username, isGuest: false });
      expect((await api('POST', '/auth/login', { body: { username: upgraded.body.user.username, password: PASSWORD } })).status).toBe(200);
      const refused = names.find((name) => name !== upgraded.body.user.username) as string;
      expect((await api('POST', '/auth/login', { body: { username: refused, password: PASSWORD } })).status).toBe(401);
    }
  });
});
