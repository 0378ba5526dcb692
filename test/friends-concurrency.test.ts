import { describe, expect, it } from 'vitest';
import { newUser, outcomes, type TestUser } from './support/http.js';
import { storageLabel } from './support/server.js';
import { useTestServer } from './support/suite.js';

/**
 * Requests between two people that arrive together: a double tap on two devices, a request that
 * crosses the other's, a block sent while a request is on its way. Each used to be decided by reads
 * made before the write, so both sides of a race could pass them: two pending requests from one
 * person, two crossing requests both left pending, a pending request from someone the addressee
 * had just blocked.
 */
describe(`friend requests and blocks at once (${storageLabel})`, () => {
  const suite = useTestServer();
  const { api } = suite;
  const ROUNDS = 6;

  const pair = () => Promise.all([newUser(api), newUser(api)]);
  const sendRequest = (from: TestUser, to: TestUser) => api('POST', '/friend-requests', { token: from.accessToken, body: { toUserId: to.id } });
  const block = (who: TestUser, whom: TestUser) => api('POST', '/blocks', { token: who.accessToken, body: { userId: whom.id } });

  async function list(who: TestUser, path: string): Promise<any[]> {
    const res = await api('GET', path, { token: who.accessToken });
    expect(res.status).toBe(200);
    return res.body.items;
  }

  it('files one request when the same request arrives six times at once, and answers the others as already pending', async () => {
    for (let round = 0; round < ROUNDS; round++) {
      const [a, b] = await pair();
      const answers = await Promise.all(Array.from({ length: 6 }, () => sendRequest(a, b)));
      expect(outcomes(answers)).toEqual(['201', '409 CONFLICT', '409 CONFLICT', '409 CONFLICT', '409 CONFLICT', '409 CONFLICT']);
      expect(await list(b, '/friend-requests?direction=incoming')).toHaveLength(1);
    }
  });

  it('makes two people friends when their requests cross, leaving neither pending', async () => {
    for (let round = 0; round < ROUNDS; round++) {
      const [a, b] = await pair();
      const answers = await Promise.all([sendRequest(a, b), sendRequest(b, a)]);
      expect(outcomes(answers)).toEqual(['201', '201']);
      expect(answers.map((res) => res.body.status).sort()).toEqual(['accepted', 'pending']);
      // The later one found the earlier one pending and accepted it: both answers name that request.
      expect(answers[0]?.body.id).toBe(answers[1]?.body.id);
      expect((await list(a, '/friends')).map((item) => item.user.id)).toEqual([b.id]);
      expect((await list(b, '/friends')).map((item) => item.user.id)).toEqual([a.id]);
      for (const who of [a, b]) {
        expect(await list(who, '/friend-requests?direction=incoming')).toEqual([]);
        expect(await list(who, '/friend-requests?direction=outgoing')).toEqual([]);
      }
    }
  });

  it('leaves no pending request from someone the addressee blocked while the request was on its way', async () => {
    for (let round = 0; round < ROUNDS; round++) {
      const [a, b] = await pair();
      const [request, blocked] = await Promise.all([sendRequest(a, b), block(b, a)]);
      expect(blocked.status).toBe(204);
      // Whichever came first: refused, or filed and then cancelled by the block.
      expect([201, 403]).toContain(request.status);
      expect(await list(b, '/friend-requests?direction=incoming')).toEqual([]);
      expect(await list(a, '/friend-requests?direction=outgoing')).toEqual([]);
      expect(await list(b, '/friends')).toEqual([]);
    }
  });

  it('blocks once when the same block arrives twice at once, and answers the other as already blocked', async () => {
    for (let round = 0; round < ROUNDS; round++) {
      const [a, b] = await pair();
      const answers = await Promise.all([block(a, b), block(a, b)]);
      expect(outcomes(answers)).toEqual(['204', '409 CONFLICT']);
      expect((await list(a, '/blocks')).map((item) => item.user.id)).toEqual([b.id]);
    }
  });
});
