import { describe, expect, it } from 'vitest';
import { type ApiResponse, outcomes } from './support/http.js';
import { registerClient } from './support/realtime.js';
import { storageLabel } from './support/server.js';
import { useTestServer } from './support/suite.js';

/**
 * One person setting a conversation's notifications on two devices at once (or a double tap). The
 * setting is stored as "delete the row, insert the new one": both requests deleted nothing and
 * both inserted under the same key.
 */
describe(`notification settings set twice at once (${storageLabel})`, () => {
  const suite = useTestServer();
  const ROUNDS = 6;
  type Person = Awaited<ReturnType<typeof registerClient>>;
  const call = (who: Person, method: string, path: string, body?: unknown): Promise<ApiResponse> => suite.api(method, path, { token: who.client.accessToken, body });

  async function groupConversation(owner: Person): Promise<string> {
    const res = await call(owner, 'POST', '/groups', { name: 'Quiet please', memberIds: [] });
    expect(res.status).toBe(201);
    return res.body.conversationId;
  }

  async function settingOf(who: Person, conversationId: string): Promise<unknown> {
    const res = await call(who, 'GET', `/conversations/${encodeURIComponent(conversationId)}`);
    expect(res.status).toBe(200);
    return res.body.notifications;
  }

  it('stores the setting once when the same setting arrives twice at once', async () => {
    const owner = await registerClient(suite.server.url);
    for (let round = 0; round < ROUNDS; round++) {
      const conversationId = await groupConversation(owner);
      const path = `/conversations/${encodeURIComponent(conversationId)}/notifications`;
      const answers = await Promise.all([0, 1].map(() => call(owner, 'PUT', path, { level: 'mentions' })));
      expect(outcomes(answers)).toEqual(['200', '200']);
      expect(await settingOf(owner, conversationId)).toEqual({ level: 'mentions', until: null });
    }
  });

  it('stores one of two different settings that arrive at once, replacing the one before', async () => {
    const owner = await registerClient(suite.server.url);
    for (let round = 0; round < ROUNDS; round++) {
      const conversationId = await groupConversation(owner);
      const path = `/conversations/${encodeURIComponent(conversationId)}/notifications`;
      expect((await call(owner, 'PUT', path, { level: 'none' })).status).toBe(200);
      const answers = await Promise.all([call(owner, 'PUT', path, { level: 'mentions' }), call(owner, 'PUT', path, { level: 'none' })]);
      expect(outcomes(answers)).toEqual(['200', '200']);
      expect([
        { level: 'mentions', until: null },
        { level: 'none', until: null },
      ]).toContainEqual(await settingOf(owner, conversationId));
    }
  });
});
