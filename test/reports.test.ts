import { afterEach, describe, expect, it } from 'vitest';
import { type AdminReport, type ParleyClient, rest } from '../src/client/index.js';
import { REPORT_LIMITS } from '../src/modules/reports/index.js';
import { isUniqueViolation } from '../src/platform/db/errors.js';
import { apiClient, expectError, uniqueName } from './support/http.js';
import { createGroup, expectFailure, history, people, sendText } from './support/messaging.js';
import { barrier, nextEvent, registerClient } from './support/realtime.js';
import { storageLabel } from './support/server.js';
import { useTestServer } from './support/suite.js';
import { openUpgradeDatabase } from './support/upgrade.js';

const ROOT = uniqueName('mod');

describe(`reports and the moderation queue (${storageLabel})`, () => {
  const suite = useTestServer({ ADMIN_USERNAMES: ROOT });
  const crowd = people(() => suite.server.url);
  afterEach(() => crowd.closeAll());

  let rootUser: { id: string; client: ParleyClient } | undefined;
  async function admin(): Promise<ParleyClient> {
    rootUser ??= await registerClient(suite.server.url, ROOT);
    return rootUser.client;
  }
  const rootId = (_client: ParleyClient): string => rootUser?.id as string;
  const token = (client: ParleyClient) => client.accessToken as string;

  it('files a report of a message the caller sees or of a user, and answers a repeat with the open report', async () => {
    const api = apiClient(suite.server.url);
    const [reporter, sender, outsider] = [await crowd.user(), await crowd.user(), await crowd.user()];
    const group = await createGroup(reporter.client, [sender]);
    const message = await sendText(sender.client, group.conversationId, 'buy cheap pills');

    const first = await api('POST', '/reports', { token: token(reporter.client), body: { target: { messageId: message.id }, reason: 'spam', note: '  ads again  ' } });
    expect(first.status).toBe(201);
    expect(first.body).toMatchObject({ targetType: 'message', messageId: message.id, targetUserId: sender.id, reason: 'spam', note: 'ads again', status: 'open' });
    expect(first.body.reporterId).toBeUndefined();
    const again = await api('POST', '/reports', { token: token(reporter.client), body: { target: { messageId: message.id }, reason: 'abuse' } });
    expect(again.status).toBe(200);
    expect(again.body).toEqual(first.body);

    const user = await rest(reporter.client).report({ target: { userId: sender.id }, reason: 'other' });
    expect(user).toMatchObject({ targetType: 'user', messageId: null, targetUserId: sender.id, note: '' });
    expect(user.id).not.toBe(first.body.id);

    // A message the caller cannot see is one that does not exist.
    expectError(await api('POST', '/reports', { token: token(outsider.client), body: { target: { messageId: message.id }, reason: 'spam' } }), 404, 'NOT_FOUND');
    expectError(await api('POST', '/reports', { token: token(outsider.client), body: { target: { messageId: '999999999' }, reason: 'spam' } }), 404, 'NOT_FOUND');
    expectError(await api('POST', '/reports', { token: token(outsider.client), body: { target: { userId: 'nobody-here' }, reason: 'spam' } }), 404, 'NOT_FOUND');
    expectError(await api('POST', '/reports', { token: token(sender.client), body: { target: { messageId: message.id }, reason: 'spam' } }), 403, 'FORBIDDEN');
    expectError(await api('POST', '/reports', { token: token(sender.client), body: { target: { userId: sender.id }, reason: 'spam' } }), 403, 'FORBIDDEN');
    await rest(sender.client).messages.recall(message.id);
    const late = await crowd.user();
    await reporter.client.request('POST', `/groups/${group.id}/members`, { userIds: [late.id] });
    const invitation = (await late.client.request<{ items: Array<{ id: string }> }>('GET', '/group-invitations')).items[0];
    await late.client.request('POST', `/group-invitations/${invitation?.id}/accept`);
    expectError(await api('POST', '/reports', { token: token(late.client), body: { target: { messageId: message.id }, reason: 'spam' } }), 409, 'CONFLICT');

    for (const body of [
      { target: { messageId: message.id }, reason: 'boring' },
      { target: { messageId: message.id, userId: sender.id }, reason: 'spam' },
      { target: {}, reason: 'spam' },
      { target: { userId: sender.id }, reason: 'spam', note: 'x'.repeat(1001) },
      { target: { userId: sender.id }, reason: 'spam', extra: true },
      { reason: 'spam' },
    ]) {
      expectError(await api('POST', '/reports', { token: token(outsider.client), body }), 400, 'VALIDATION_FAILED');
    }
    expect((await api('POST', '/reports', { body: { target: { userId: sender.id }, reason: 'spam' } })).status).toBe(401);
  });

  it('files one report when the same report arrives many times at once, and a new one once it is closed', async () => {
    const root = await admin();
    const api = apiClient(suite.server.url);
    const [reporter, sender] = [await crowd.user(), await crowd.user()];
    const group = await createGroup(reporter.client, [sender]);
    const message = await sendText(sender.client, group.conversationId, 'flood');
    // Three rounds of N: more than the hourly limit, had the repeats been counted against it.
    const N = 10;
    const fire = (target: { messageId: string } | { userId: string }) =>
      Promise.all(Array.from({ length: N }, () => api('POST', '/reports', { token: token(reporter.client), body: { target, reason: 'spam' } })));
    const mine = async (status: 'open' | 'resolved') => (await rest(root).admin.reports({ status, limit: 200 })).items.filter((r) => r.reporterId === reporter.id);

    for (const target of [{ messageId: message.id }, { userId: sender.id }]) {
      const answers = await fire(target);
      expect(answers.map((a) => a.status).every((status) => status === 200 || status === 201)).toBe(true);
      expect(answers.filter((a) => a.status === 201)).toHaveLength(1);
      expect(new Set(answers.map((a) => a.body.id)).size).toBe(1);
    }
    const open = await mine('open');
    expect(open.map((r) => r.targetType).sort()).toEqual(['message', 'user']);

    // Closed, the same target may be reported again: once more, exactly one new report. Five
    // times: each closed report leaves an index entry that identical inserts lock in turn (on
    // MariaDB two of them deadlocked over it, and one answered 500, in about one run in three).
    let closed = open.find((r) => r.targetType === 'message') as AdminReport;
    const resolved: string[] = [];
    for (let round = 0; round < 5; round++) {
      await rest(root).admin.resolveReport(closed.id, 'none');
      resolved.unshift(closed.id);
      const again = await fire({ messageId: message.id });
      expect(again.map((a) => a.status).filter((status) => status !== 200 && status !== 201)).toEqual([]);
      expect(again.filter((a) => a.status === 201)).toHaveLength(1);
      expect(new Set(again.map((a) => a.body.id)).size).toBe(1);
      expect(resolved).not.toContain(again[0]?.body.id);
      const reopened = (await mine('open')).filter((r) => r.targetType === 'message');
      expect(reopened.map((r) => r.id)).toEqual([again[0]?.body.id]);
      closed = reopened[0] as AdminReport;
    }
    expect((await mine('resolved')).map((r) => r.id)).toEqual(resolved);
  });

  it(`refuses more than ${REPORT_LIMITS.perUserPerHour} new reports an hour from one user, with nothing stored`, async () => {
    const api = apiClient(suite.server.url);
    const [reporter, sender] = [await crowd.user(), await crowd.user()];
    const group = await createGroup(reporter.client, [sender]);
    const ids: string[] = [];
    for (let i = 0; i <= REPORT_LIMITS.perUserPerHour; i++) ids.push((await sendText(sender.client, group.conversationId, `spam ${i}`)).id);
    for (const id of ids.slice(0, REPORT_LIMITS.perUserPerHour)) await rest(reporter.client).report({ target: { messageId: id }, reason: 'spam' });
    // A repeat of an open report is an answer, not a new report: it still works.
    expect((await api('POST', '/reports', { token: token(reporter.client), body: { target: { messageId: ids[0] }, reason: 'spam' } })).status).toBe(200);
    const refused = await api('POST', '/reports', { token: token(reporter.client), body: { target: { messageId: ids.at(-1) }, reason: 'spam' } });
    expectError(refused, 429, 'RATE_LIMITED');
    const queue = await rest(await admin()).admin.reports({ limit: 200 });
    expect(queue.items.filter((r) => r.targetUserId === sender.id)).toHaveLength(REPORT_LIMITS.perUserPerHour);
  });

  it('lets admins page the queue by status, resolve with an action or dismiss, each written to the audit log', async () => {
    const root = await admin();
    const api = apiClient(suite.server.url);
    const [reporter, sender, troll, innocent] = [await crowd.user(), await crowd.user(), await crowd.user(), await crowd.user()];
    const group = await createGroup(reporter.client, [sender, troll, innocent]);
    const bad = await sendText(sender.client, group.conversationId, 'something illegal');
    const byMessage = await rest(reporter.client).report({ target: { messageId: bad.id }, reason: 'illegal', note: 'see above' });
    const byUser = await rest(reporter.client).report({ target: { userId: troll.id }, reason: 'abuse' });
    const harmless = await rest(reporter.client).report({ target: { userId: innocent.id }, reason: 'other' });

    // Newest first, a page at a time, with who reported and the message as it read.
    const first = await rest(root).admin.reports({ limit: 2 });
    expect(first.items.map((r) => r.id)).toEqual([harmless.id, byUser.id]);
    const second = await rest(root).admin.reports({ limit: 2, cursor: first.nextCursor as string });
    expect(second.items[0]).toMatchObject({
      id: byMessage.id,
      reporterId: reporter.id,
      targetUserId: sender.id,
      conversationId: group.conversationId,
      messageContent: 'something illegal',
      status: 'open',
      action: null,
      closedBy: null,
    });
    expectError(await api('GET', '/admin/reports?status=closed', { token: token(root) }), 400, 'VALIDATION_FAILED');
    expectError(await api('GET', '/admin/reports?cursor=nonsense', { token: token(root) }), 400, 'VALIDATION_FAILED');

    // delete_message: every member device sees the recall; the report keeps what it said.
    const recalled = nextEvent(innocent.socket, 'message_updated', (e) => e.message.id === bad.id && e.message.recalledAt !== null);
    const resolved = await rest(root).admin.resolveReport(byMessage.id, 'delete_message', 'removed');
    expect(resolved).toMatchObject({ status: 'resolved', action: 'delete_message', resolutionNote: 'removed', closedBy: rootId(root), messageContent: 'something illegal' });
    expect((await recalled).message.content).toBe('');
    expect((await history(innocent.client, group.conversationId)).items.find((m) => m.id === bad.id)?.recalledAt).not.toBeNull();
    await expectFailure(rest(root).admin.resolveReport(byMessage.id, 'none'), 'CONFLICT', 409);
    await expectFailure(rest(root).admin.dismissReport(byMessage.id), 'CONFLICT', 409);

    // delete_message needs a message; suspend_user ends the troll's sessions and refuses their login.
    await expectFailure(rest(root).admin.resolveReport(byUser.id, 'delete_message'), 'VALIDATION_FAILED', 400);
    const kicked = nextEvent(troll.socket, 'session_revoked');
    expect(await rest(root).admin.resolveReport(byUser.id, 'suspend_user')).toMatchObject({ status: 'resolved', action: 'suspend_user', resolutionNote: null });
    expect((await kicked).reason).toBe('account_suspended');
    expectError(await api('POST', '/auth/login', { body: { username: troll.username, password: troll.password } }), 403, 'ACCOUNT_SUSPENDED');

    expect(await rest(root).admin.dismissReport(harmless.id, 'fine')).toMatchObject({ status: 'dismissed', action: null, resolutionNote: 'fine' });
    expect((await rest(root).admin.reports({ status: 'dismissed' })).items.map((r) => r.id)).toContain(harmless.id);
    const closed = (await rest(root).admin.reports({ status: 'resolved' })).items.map((r) => r.id);
    expect(closed).toEqual(expect.arrayContaining([byMessage.id, byUser.id]));
    expect((await rest(root).admin.reports()).items.map((r: AdminReport) => r.id)).not.toContain(harmless.id);
    await expectFailure(rest(root).admin.dismissReport('424242424'), 'NOT_FOUND', 404);
    await expectFailure(rest(root).admin.dismissReport('not-a-report'), 'NOT_FOUND', 404);

    const audit = (await rest(root).admin.audit(undefined, 10)).items;
    const entry = (action: string, targetId: string) => audit.find((a) => a.action === action && a.targetId === targetId);
    expect(entry('message_deleted', bad.id)).toMatchObject({ actorId: rootId(root), targetType: 'message' });
    expect(entry('report_resolved', byMessage.id)).toMatchObject({ targetType: 'report', details: { action: 'delete_message', note: 'removed', targetUserId: sender.id } });
    expect(entry('user_suspended', troll.id)).toMatchObject({ targetType: 'user' });
    expect(entry('report_resolved', byUser.id)).toMatchObject({ details: { action: 'suspend_user' } });
    expect(entry('report_dismissed', harmless.id)).toMatchObject({ details: { note: 'fine' } });
  });

  it('refuses an action the admin service refuses (suspending an admin) and leaves the report open', async () => {
    const root = await admin();
    const reporter = await crowd.user();
    const report = await rest(reporter.client).report({ target: { userId: rootId(root) }, reason: 'abuse' });
    await expectFailure(rest(root).admin.resolveReport(report.id, 'suspend_user'), 'FORBIDDEN', 403);
    expect((await rest(root).admin.reports({ limit: 200 })).items.find((r) => r.id === report.id)?.status).toBe('open');
    await rest(root).admin.dismissReport(report.id);
  });

  it('never tells the reported user who reported them, in any event or answer', async () => {
    const root = await admin();
    const api = apiClient(suite.server.url);
    // The reporter has no socket: no presence of theirs reaches anyone while the report is handled.
    const reporter = await registerClient(suite.server.url);
    const target = await crowd.user();
    const group = await createGroup(reporter.client, [target]);
    const message = await sendText(target.client, group.conversationId, 'rude words');
    await barrier(target.socket);
    const heard: string[] = [];
    target.socket.onAny((event: string, ...args: unknown[]) => heard.push(JSON.stringify([event, args])));

    const report = await rest(reporter.client).report({ target: { messageId: message.id }, reason: 'abuse' });
    await rest(reporter.client).report({ target: { userId: target.id }, reason: 'abuse' });
    const recalled = nextEvent(target.socket, 'message_updated', (e) => e.message.id === message.id);
    await rest(root).admin.resolveReport(report.id, 'delete_message');
    await recalled;
    await barrier(target.socket);
    expect(heard.length).toBeGreaterThan(0);
    for (const line of heard) expect(line).not.toContain(reporter.id);

    // Nothing the reported user can read names the reporter as such: the report routes are the admins'.
    const mine = await api('GET', '/users/me', { token: token(target.client) });
    expect(JSON.stringify(mine.body)).not.toContain(reporter.id);
    for (const path of ['/admin/reports', '/admin/reports?status=resolved', '/admin/audit']) {
      expectError(await api('GET', path, { token: token(target.client) }), 404, 'NOT_FOUND');
    }
    expectError(await api('POST', `/admin/reports/${report.id}/dismiss`, { token: token(target.client), body: {} }), 404, 'NOT_FOUND');
    expectError(await api('POST', `/admin/reports/${report.id}/resolve`, { token: token(reporter.client), body: { action: 'none' } }), 404, 'NOT_FOUND');
    expect((await history(target.client, group.conversationId)).items.map((m) => JSON.stringify(m)).join('')).not.toContain(`"${report.id}"`);
  });

  it('answers a non-admin NOT_FOUND on every report admin route, exactly like an unknown route', async () => {
    const api = apiClient(suite.server.url);
    const plain = await crowd.user();
    for (const [method, path, body] of [
      ['GET', '/admin/reports', undefined],
      ['GET', '/admin/reports?status=bogus&limit=100000', undefined],
      ['POST', '/admin/reports/1/resolve', { action: 'suspend_user' }],
      ['POST', '/admin/reports/1/dismiss', { unknown: 1 }],
    ] as const) {
      const res = await api(method, path, { token: token(plain.client), ...(body === undefined ? {} : { body }) });
      expectError(res, 404, 'NOT_FOUND');
      expect(res.body.error.message).toBe(`no route for ${method} /api/v1${path.split('?')[0]}`);
    }
  });

  it('tells the client whether its user is an admin', async () => {
    const plain = await crowd.user();
    expect((await rest(await admin()).users.me()).isAdmin).toBe(true);
    expect((await rest(plain.client).users.me()).isAdmin).toBe(false);
  });
});

describe(`migration 0022 on an upgraded database (${storageLabel})`, () => {
  it('dismisses the duplicate open reports the old check let through, then refuses new ones', async () => {
    const upgrade = await openUpgradeDatabase();
    const { db, migrator } = upgrade;
    try {
      expect((await migrator.migrateTo('0020_search_index')).error).toBeUndefined();
      const now = Date.now();
      for (const id of ['u-reporter', 'u-target']) {
        await db
          .insertInto('users')
          .values({
            id,
            username: id,
            username_lower: id,
            nickname: id,
            nickname_lower: id,
            email: null,
            email_lower: null,
            password_hash: null,
            is_guest: 0,
            avatar_url: null,
            bio: '',
            created_at: now,
            updated_at: now,
            last_login_at: now,
            last_seen_at: null,
          })
          .execute();
      }
      const report = (messageId: number | null, status = 'open') => ({
        reporter_id: 'u-reporter',
        target_type: messageId === null ? 'user' : 'message',
        target_user_id: 'u-target',
        message_id: messageId,
        conversation_id: null,
        message_content: null,
        reason: 'spam',
        note: '',
        status,
        created_at: now,
      });
      // Three open reports of one message, two of the user, one of another message, one closed duplicate.
      for (const row of [report(7), report(7), report(null), report(7), report(null), report(8), report(7, 'dismissed')]) await db.insertInto('reports').values(row).execute();

      const after = await migrator.migrateToLatest();
      expect(after.error).toBeUndefined();
      expect(after.results?.map((r) => r.migrationName)).toContain('0022_reports_open_unique');
      const rows = await db.selectFrom('reports').select(['id', 'message_id', 'status', 'resolution_note']).orderBy('id').execute();
      expect(rows.map((r) => r.status)).toEqual(['open', 'dismissed', 'open', 'dismissed', 'dismissed', 'open', 'dismissed']);
      expect(rows[1]?.resolution_note).toContain('duplicate');

      // By construction now: a second open report of the same target is refused by the database itself.
      const refused = await db
        .insertInto('reports')
        .values(report(7))
        .execute()
        .then(
          () => null,
          (error: unknown) => error,
        );
      expect(isUniqueViolation(refused)).toBe(true);
      await db.insertInto('reports').values(report(7, 'resolved')).execute();
    } finally {
      await upgrade.close();
    }
  });
});
