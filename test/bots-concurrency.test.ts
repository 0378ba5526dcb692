import { randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { outcomes } from './support/http.js';
import { registerClient } from './support/realtime.js';
import { storageLabel } from './support/server.js';
import { useTestServer } from './support/suite.js';

const PER_USER = 3;

/**
 * Bot creations that arrive together: a double tap on "create" with one name, and a burst of
 * creations by an owner one bot short of the limit. Each was decided by a read before the write
 * (is the name taken, how many bots does the owner have), so every request of the burst passed it.
 */
describe(`bots created at once (${storageLabel})`, () => {
  const suite = useTestServer({ BOTS_PER_USER: String(PER_USER) });
  const ROUNDS = 5;
  type Person = Awaited<ReturnType<typeof registerClient>>;

  const person = () => registerClient(suite.server.url);
  const createBot = (owner: Person, username: string) => suite.api('POST', '/bots', { token: owner.client.accessToken, body: { username } });
  const botName = () => `bot_${randomUUID().slice(0, 8)}`;

  async function botsOf(owner: Person): Promise<string[]> {
    const res = await suite.api('GET', '/bots?limit=100', { token: owner.client.accessToken });
    expect(res.status).toBe(200);
    return res.body.items.map((bot: { user: { username: string } }) => bot.user.username);
  }

  it('creates one bot when the same name is asked for twice at once, and answers the other that the name is taken', async () => {
    for (let round = 0; round < ROUNDS; round++) {
      const owner = await person();
      const name = botName();
      const answers = await Promise.all([0, 1].map(() => createBot(owner, name)));
      expect(outcomes(answers)).toEqual(['201', '409 CONFLICT']);
      expect(await botsOf(owner)).toEqual([name]);
    }
  });

  it('creates no more bots than the limit when an owner one short of it creates four at once', async () => {
    for (let round = 0; round < ROUNDS; round++) {
      const owner = await person();
      for (let i = 0; i < PER_USER - 1; i++) expect((await createBot(owner, botName())).status).toBe(201);
      const answers = await Promise.all(Array.from({ length: 4 }, () => createBot(owner, botName())));
      expect(outcomes(answers)).toEqual(['201', '409 CONFLICT', '409 CONFLICT', '409 CONFLICT']);
      expect(await botsOf(owner)).toHaveLength(PER_USER);
    }
  });
});
