import { describe, expect, it } from 'vitest';
import { type Api, newUser, outcomes, type TestUser, uniqueName } from './support/http.js';
import { storageLabel } from './support/server.js';
import { useTestServer } from './support/suite.js';

const ROOT = uniqueName('root');

/**
 * An admin's double tap (or two admins at once): granting the role, suspending an account, deleting
 * an account. Grant and suspend were "is it there yet? then insert", so both requests could read
 * "not yet" and the second insert hit the primary key; both deletes found the account and both
 * recorded it. Every answer is the one a request sent just after the other gets, and the audit log
 * records the change once.
 */
describe(`admin actions sent twice at once (${storageLabel})`, () => {
  const suite = useTestServer({ ADMIN_USERNAMES: ROOT });
  const { api } = suite;
  const ROUNDS = 6;

  const as = (user: TestUser): Api => ((method, path, options = {}) => api(method, path, { token: user.accessToken, ...options })) as Api;
  let rootUser: TestUser | undefined;
  const root = async (): Promise<TestUser> => {
    rootUser ??= await newUser(api, { username: ROOT });
    return rootUser;
  };

  /** The audit entries naming `targetId` among the newest hundred. */
  async function auditOf(admin: TestUser, targetId: string): Promise<string[]> {
    const res = await as(admin)('GET', '/admin/audit?limit=100');
    expect(res.status).toBe(200);
    return res.body.items.filter((entry: { targetId: string }) => entry.targetId === targetId).map((entry: { action: string }) => entry.action);
  }

  it('grants the admin role once when it is granted twice at once, answering both with the admin', async () => {
    const admin = await root();
    for (let round = 0; round < ROUNDS; round++) {
      const target = await newUser(api);
      const answers = await Promise.all([0, 1].map(() => as(admin)('PUT', `/admin/users/${target.id}/admin`)));
      expect(outcomes(answers)).toEqual(['200', '200']);
      for (const res of answers) expect(res.body).toMatchObject({ id: target.id, isAdmin: true, adminSource: 'granted' });
      expect(await auditOf(admin, target.id)).toEqual(['admin_granted']);
    }
  });

  it('suspends an account once when it is suspended twice at once, answering both with the suspension', async () => {
    const admin = await root();
    for (let round = 0; round < ROUNDS; round++) {
      const target = await newUser(api);
      const answers = await Promise.all([0, 1].map(() => as(admin)('PUT', `/admin/users/${target.id}/suspension`, { body: { reason: 'spam' } })));
      expect(outcomes(answers)).toEqual(['200', '200']);
      for (const res of answers) expect(res.body).toMatchObject({ id: target.id, suspendedReason: 'spam' });
      expect(await auditOf(admin, target.id)).toEqual(['user_suspended']);
      const login = await api('POST', '/auth/login', { body: { username: target.username, password: target.password } });
      expect(login.body?.error?.code).toBe('ACCOUNT_SUSPENDED');
    }
  });

  it('deletes an account once when it is deleted twice at once, and answers the other as not found', async () => {
    const admin = await root();
    for (let round = 0; round < ROUNDS; round++) {
      const target = await newUser(api);
      const answers = await Promise.all([0, 1].map(() => as(admin)('DELETE', `/admin/users/${target.id}`)));
      expect(outcomes(answers)).toEqual(['204', '404 NOT_FOUND']);
      expect(await auditOf(admin, target.id)).toEqual(['user_deleted']);
      expect((await as(admin)('GET', `/admin/users/${target.id}`)).status).toBe(404);
    }
  });
  it('dissolves a group once when an admin dissolves it twice at once, and answers the other as not found', async () => {
    const admin = await root();
    for (let round = 0; round < ROUNDS; round++) {
      const owner = await newUser(api);
      const created = await api('POST', '/groups', { token: owner.accessToken, body: { name: 'Climbers', memberIds: [] } });
      expect(created.status).toBe(201);
      const answers = await Promise.all([0, 1].map(() => as(admin)('DELETE', `/admin/groups/${created.body.id}`)));
      expect(outcomes(answers)).toEqual(['204', '404 NOT_FOUND']);
      expect(await auditOf(admin, created.body.id)).toEqual(['group_dissolved']);
    }
  });
});
