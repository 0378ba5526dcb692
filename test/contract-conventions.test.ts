import { Ajv } from 'ajv';
import * as ajvFormats from 'ajv-formats';
import { describe, expect, it } from 'vitest';
import { type Ack, ParleyClient, type ParleySocket } from '../src/client/index.js';
import { CLIENT_EVENTS } from '../src/contract/events.js';
import { registeredEventSchemas } from '../src/platform/realtime/handlers.js';
import { type ApiResponse, expectError, newUser, type TestUser, uniqueName } from './support/http.js';
import { documentedOperations, type Operation } from './support/openapi.js';
import { connectedUser } from './support/realtime.js';
import { storageLabel } from './support/server.js';
import { useTestServer } from './support/suite.js';

/**
 * The conventions every route of the contract keeps, proven over the routes the running server
 * documents in /openapi.json (so a route added later is covered without touching this file):
 * an unknown query parameter or body field is refused with 400 VALIDATION_FAILED naming it; and
 * every list, walked with the opaque `cursor` its `nextCursor` gives, reaches its end without
 * repeating or skipping an item.
 */

type JsonSchema = Record<string, unknown>;

// ajv-formats is CommonJS with a default export; under NodeNext the callable sits on `.default`.
type AddFormats = (ajv: Ajv) => Ajv;
const formatsModule = ajvFormats as unknown as { default: AddFormats | { default: AddFormats } };
const addFormats: AddFormats = typeof formatsModule.default === 'function' ? formatsModule.default : formatsModule.default.default;
const ajv = addFormats(new Ajv({ strict: false, coerceTypes: false }));

const CANDIDATE_TEXT = ['x1', '1', 'abc', 'a@example.com', '2020-01-02', '2020-01-02T03:04:05Z', 'https://example.com/', 'text'];

/** A value `schema` accepts (the first candidate that passes), so only the field under test is wrong. */
function validValue(schema: JsonSchema | undefined): unknown {
  if (!schema) return 'x1';
  if ('const' in schema) return schema.const;
  if (Array.isArray(schema.enum)) return schema.enum[0];
  if ('default' in schema) return schema.default;
  const branches = (schema.anyOf ?? schema.oneOf) as JsonSchema[] | undefined;
  if (branches) return validValue(branches.find((branch) => branch.type !== 'null') ?? branches[0]);
  const check = ajv.compile(schema);
  switch (schema.type) {
    case 'object':
      return validBody(schema);
    case 'array':
      return Array.from({ length: Number(schema.minItems ?? 0) }, (_, i) =>
        i === 0 ? validValue(schema.items as JsonSchema) : `${String(validValue(schema.items as JsonSchema))}${i}`,
      );
    case 'integer':
    case 'number':
      return typeof schema.minimum === 'number' ? schema.minimum : 1;
    case 'boolean':
      return false;
    default: {
      const minLength = typeof schema.minLength === 'number' ? schema.minLength : 0;
      const found = [...CANDIDATE_TEXT, 'x'.repeat(Math.max(1, minLength))].find((text) => check(text));
      if (found === undefined) throw new Error(`no candidate value fits ${JSON.stringify(schema)}`);
      return found;
    }
  }
}

/** An object with a valid value for each required property of `schema` (and enough others for minProperties). */
function validBody(schema: JsonSchema): Record<string, unknown> {
  const properties = (schema.properties ?? {}) as Record<string, JsonSchema>;
  const names = [...((schema.required ?? []) as string[])];
  for (const name of Object.keys(properties)) if (names.length < Number(schema.minProperties ?? 0) && !names.includes(name)) names.push(name);
  return Object.fromEntries(names.map((name) => [name, validValue(properties[name])]));
}

/** Fills `{name}` placeholders with values the path parameter's schema accepts. */
function concretePath(operation: Operation): string {
  return operation.path.replace(/\{([^}]+)\}/g, (_, name: string) => {
    const parameter = operation.parameters.find((p) => p.in === 'path' && p.name === name);
    return encodeURIComponent(String(validValue(parameter?.schema)));
  });
}

/** The required query parameters with valid values, as a query string prefix (`?a=1&`). */
function requiredQuery(operation: Operation): string {
  const required = operation.parameters.filter((p) => p.in === 'query' && p.required);
  return `?${required.map((p) => `${encodeURIComponent(p.name)}=${encodeURIComponent(String(validValue(p.schema)))}&`).join('')}`;
}

/** Emits any event name with any payload (the typed SDK socket allows only the contract's). */
function send(socket: ParleySocket, event: string, payload: unknown): Promise<Ack<unknown>> {
  return (socket.timeout(10_000) as unknown as { emitWithAck(event: string, payload: unknown): Promise<Ack<unknown>> }).emitWithAck(event, payload);
}

function expectUnknownRefused(res: ApiResponse, field: string, shown: string): void {
  expect(res.status, shown).toBe(400);
  expect(res.body?.error?.code, shown).toBe('VALIDATION_FAILED');
  expect(res.body?.error?.details, shown).toEqual(expect.arrayContaining([expect.objectContaining({ field })]));
  expect(res.body?.error?.message, shown).toContain(field);
}

describe(`contract conventions (${storageLabel})`, () => {
  // An AI provider is configured so the AI routes validate their input (none is ever called).
  const ADMIN = uniqueName('admin');
  const t = useTestServer({ DEEPSEEK_API_KEY: 'unused', DEEPSEEK_BASE_URL: 'http://127.0.0.1:9/v1', ADMIN_USERNAMES: ADMIN });
  let admin: TestUser | undefined;
  /** The /admin routes answer anyone else 404 before validating: they are tried by an admin. */
  async function anAdmin(): Promise<TestUser> {
    admin ??= await newUser(t.api, { username: ADMIN });
    return admin;
  }
  const callerFor = async (operation: Operation, user: TestUser): Promise<TestUser> => (operation.path.startsWith('/api/v1/admin/') ? anAdmin() : user);

  describe('unknown fields', () => {
    it('refuses an unknown query parameter on every documented route, naming it', async () => {
      const user = await newUser(t.api);
      const operations = await documentedOperations(t.server.url);
      expect(operations.length).toBeGreaterThan(40);
      for (const operation of operations) {
        const url = `${concretePath(operation)}${requiredQuery(operation)}colour=blue`;
        const body = operation.jsonBody ? validBody(operation.jsonBody) : undefined;
        const res = await t.api(operation.method, url, { token: (await callerFor(operation, user)).accessToken, ...(body ? { body } : {}) });
        expectUnknownRefused(res, 'colour', `${operation.method} ${url} → ${res.status} ${JSON.stringify(res.body)}`);
      }
    });

    it('refuses an unknown body field on every documented route taking JSON, naming it', async () => {
      const user = await newUser(t.api);
      const operations = (await documentedOperations(t.server.url)).filter((operation) => operation.jsonBody);
      expect(operations.length).toBeGreaterThan(10);
      for (const operation of operations) {
        const url = `${concretePath(operation)}${requiredQuery(operation)}`;
        const body = { ...validBody(operation.jsonBody as JsonSchema), colour: 'blue' };
        const res = await t.api(operation.method, url, { token: (await callerFor(operation, user)).accessToken, body });
        expectUnknownRefused(res, 'colour', `${operation.method} ${url} ${JSON.stringify(body)} → ${res.status} ${JSON.stringify(res.body)}`);
      }
    });

    it('refuses an unknown query parameter on the HEAD twin of a GET route too', async () => {
      const user = await newUser(t.api);
      expect((await t.api('HEAD', '/users/me?colour=blue', { token: user.accessToken })).status).toBe(400);
      expect((await t.api('HEAD', '/users/me', { token: user.accessToken })).status).toBe(200);
    });

    it('refuses a misplaced profile object on PATCH /users/me instead of answering 200', async () => {
      const user = await newUser(t.api);
      const res = await t.api('PATCH', '/users/me', { token: user.accessToken, body: { profile: { location: 'Paris' } } });
      const error = expectError(res, 400, 'VALIDATION_FAILED');
      expect(error.details).toEqual([{ field: 'profile', message: 'is not a known field' }]);
    });

    it('refuses unknown fields nested in a body, naming their path', async () => {
      const user = await newUser(t.api);
      const conversation = (await t.api('POST', '/conversations', { token: user.accessToken, body: { peerId: user.id } })).body;
      const res = await t.api('POST', `/conversations/${conversation.id}/messages`, {
        token: user.accessToken,
        body: { type: 'file', content: 'a', clientMsgId: 'c1', attachments: [{ fileId: 'f1', colour: 'blue' }] },
      });
      const error = expectError(res, 400, 'VALIDATION_FAILED');
      expect(error.details).toEqual([{ field: 'attachments.0.colour', message: 'is not a known field' }]);
    });

    it('refuses an unknown field in every client event payload, naming it', async () => {
      const { socket, client } = await connectedUser(t.server.url);
      try {
        for (const event of CLIENT_EVENTS) {
          const schema = registeredEventSchemas().get(event) as unknown as JsonSchema;
          const payload = { ...validBody(schema), colour: 'blue' };
          const ack = await send(socket, event, payload);
          const shown = `${event} ${JSON.stringify(payload)} → ${JSON.stringify(ack)}`;
          expect(ack.ok, shown).toBe(false);
          if (!ack.ok) expect(ack.error, shown).toMatchObject({ code: 'VALIDATION_FAILED', details: [{ field: 'colour', message: 'is not a known field' }] });
        }
        const nested = await send(socket, 'chat', {
          conversationId: 'x1',
          type: 'file',
          content: 'a',
          clientMsgId: 'c1',
          attachments: [{ fileId: 'f1', colour: 'blue' }],
        });
        expect(nested).toMatchObject({ ok: false, error: { code: 'VALIDATION_FAILED', details: [{ field: 'attachments.0.colour' }] } });
      } finally {
        client.disconnect();
      }
    });

    it('refuses an unknown query parameter on the tus upload routes, leaving their headers alone', async () => {
      const user = await newUser(t.api);
      const created = await t.api('POST', '/uploads?colour=blue', {
        token: user.accessToken,
        headers: { 'tus-resumable': '1.0.0', 'upload-length': '3', 'upload-metadata': `filename ${Buffer.from('a.txt').toString('base64')}` },
      });
      expectUnknownRefused(created, 'colour', JSON.stringify(created.body));
      const upload = await t.api('POST', '/uploads', {
        token: user.accessToken,
        headers: { 'tus-resumable': '1.0.0', 'upload-length': '3', 'upload-metadata': `filename ${Buffer.from('a.txt').toString('base64')}` },
      });
      expect(upload.status).toBe(201);
      const location = upload.headers.get('location') ?? '';
      const path = new URL(location, 'http://x').pathname;
      const head = await t.api('HEAD', `${path}?colour=blue`, { token: user.accessToken, headers: { 'tus-resumable': '1.0.0' } });
      expect(head.status).toBe(400);
      const headOk = await t.api('HEAD', path, { token: user.accessToken, headers: { 'tus-resumable': '1.0.0' } });
      expect(headOk.status).toBe(200);
    });
  });
  describe('cursor paging', () => {
    const LIMIT = 2;
    const COUNT = 5;

    /**
     * Walks `path` page by page with `cursor=nextCursor` (and `limit=LIMIT`) until nextCursor is
     * null; every page but the last is full, and the keys of all items, in order, are returned.
     * `start` (like `after=0`) goes on the first request only: the cursor holds the position after.
     */
    async function walk(user: TestUser, path: string, key: (item: any) => string, start = ''): Promise<string[]> {
      const keys: string[] = [];
      let cursor: string | null = null;
      for (let pages = 0; pages < 20; pages++) {
        const separator = path.includes('?') ? '&' : '?';
        const url: string = `${path}${separator}limit=${LIMIT}${cursor === null ? start && `&${start}` : `&cursor=${encodeURIComponent(cursor)}`}`;
        const res = await t.api('GET', url, { token: user.accessToken });
        expect(res.status, `${url} → ${JSON.stringify(res.body)}`).toBe(200);
        const page = res.body as { items: unknown[]; nextCursor: string | null };
        keys.push(...page.items.map(key));
        if (page.nextCursor === null) {
          expect(page.items.length, url).toBeLessThanOrEqual(LIMIT);
          return keys;
        }
        expect(page.items.length, `${url}: a page before the end is full`).toBe(LIMIT);
        expect(typeof page.nextCursor).toBe('string');
        cursor = page.nextCursor;
      }
      throw new Error(`${path}: nextCursor never ran out (pages repeat?) after ${keys.length} items`);
    }

    /** Walks `path` and expects exactly `expected` (in order when `ordered`), none twice. */
    async function expectWalk(user: TestUser, path: string, key: (item: any) => string, expected: string[], { ordered = true, start = '' } = {}): Promise<void> {
      const keys = await walk(user, path, key, start);
      expect(new Set(keys).size, `${path}: an item came twice: ${keys.join(', ')}`).toBe(keys.length);
      expect(ordered ? keys : [...keys].sort(), path).toEqual(ordered ? expected : [...expected].sort());
    }

    const api = <T = any>(method: string, path: string, user: TestUser, body?: unknown): Promise<T> =>
      t.api(method, path, { token: user.accessToken, ...(body === undefined ? {} : { body }) }).then((res) => {
        if (res.status >= 300) throw new Error(`${method} ${path} → ${res.status} ${JSON.stringify(res.body)}`);
        return res.body as T;
      });

    async function befriend(me: TestUser, other: TestUser): Promise<void> {
      const request = await api<{ id: string }>('POST', '/friend-requests', other, { toUserId: me.id });
      await api('POST', `/friend-requests/${request.id}/accept`, me);
    }

    it('walks history newest first with cursor, and oldest first after after=', async () => {
      const [me, peer] = await Promise.all([newUser(t.api), newUser(t.api)]);
      const conversation = await api<{ id: string }>('POST', '/conversations', me, { peerId: peer.id });
      const sent: string[] = [];
      for (let i = 0; i < COUNT; i++)
        sent.push(
          (await api<{ id: string }>('POST', `/conversations/${conversation.id}/messages`, i % 2 ? peer : me, { type: 'text', content: `needle ${i}`, clientMsgId: `m${i}` })).id,
        );
      const byId = (m: { id: string }) => m.id;
      await expectWalk(me, `/conversations/${conversation.id}/messages`, byId, [...sent].reverse());
      await expectWalk(me, `/conversations/${conversation.id}/messages`, byId, sent, { start: 'after=0' });
      await expectWalk(me, `/conversations/${conversation.id}/messages`, byId, sent.slice(0, 4).reverse(), { start: `before=${sent[4]}` });
      await expectWalk(me, `/messages/search?q=needle`, byId, [...sent].reverse());
      await expectWalk(me, `/messages/search?q=needle&conversationId=${conversation.id}`, byId, sent.slice(0, 3).reverse(), { start: `before=${sent[3]}` });

      // A cursor holds its own position: adding before or after to it is refused, not guessed.
      const first = await api<{ nextCursor: string }>('GET', `/conversations/${conversation.id}/messages?limit=2`, me);
      for (const extra of [`before=${sent[1]}`, 'after=0']) {
        const refused = expectError(
          await t.api('GET', `/conversations/${conversation.id}/messages?cursor=${encodeURIComponent(first.nextCursor)}&${extra}`, { token: me.accessToken }),
          400,
          'VALIDATION_FAILED',
        );
        expect(refused.details).toEqual([expect.objectContaining({ field: 'cursor' })]);
      }
      expectError(await t.api('GET', `/conversations/${conversation.id}/messages?cursor=${sent[2]}`, { token: me.accessToken }), 400, 'VALIDATION_FAILED');
    });

    it('walks the conversation list to its end, most recent first', async () => {
      const me = await newUser(t.api);
      const ids: string[] = [];
      for (let i = 0; i < COUNT; i++) {
        const peer = await newUser(t.api);
        const conversation = await api<{ id: string }>('POST', '/conversations', me, { peerId: peer.id });
        await api('POST', `/conversations/${conversation.id}/messages`, me, { type: 'text', content: `hello ${i}`, clientMsgId: `c${i}` });
        ids.push(conversation.id);
      }
      // Activity may fall in the same millisecond: the order among those is the server's, the set is not.
      await expectWalk(me, '/conversations', (c: { id: string }) => c.id, [...ids].reverse(), { ordered: false });
    });

    it('walks every other list of the API to its end', async () => {
      const me = await newUser(t.api);
      const others = await Promise.all(Array.from({ length: COUNT }, () => newUser(t.api, { username: uniqueName('pagingpeer') })));
      const strangers = await Promise.all(Array.from({ length: COUNT }, () => newUser(t.api)));
      const ids = (users: TestUser[]) => users.map((u) => u.id);
      const byUser = (item: { user: { id: string } }) => item.user.id;
      const byId = (item: { id: string }) => item.id;

      // Friends, and the requests they answered; then pending requests both ways.
      for (const other of others) await befriend(me, other);
      await expectWalk(me, '/friends', byUser, ids(others), { ordered: false });
      for (const stranger of strangers) await api('POST', '/friend-requests', stranger, { toUserId: me.id });
      const incoming = await walk(me, '/friend-requests?direction=incoming', byId);
      expect(incoming).toHaveLength(COUNT);
      expect(new Set(incoming).size).toBe(COUNT);
      const target = await newUser(t.api);
      const sentRequests: string[] = [];
      for (const stranger of strangers.slice(0, 3)) sentRequests.push((await api<{ id: string }>('POST', '/friend-requests', target, { toUserId: stranger.id })).id);
      await expectWalk(target, '/friend-requests?direction=outgoing', byId, sentRequests, { ordered: false });

      // Groups and their members (friends join at once), and invitations from strangers.
      const groups: string[] = [];
      for (let i = 0; i < COUNT; i++) groups.push((await api<{ id: string }>('POST', '/groups', me, { name: `paging ${i}`, ...(i === 0 ? { memberIds: ids(others) } : {}) })).id);
      await expectWalk(me, '/groups', byId, groups, { ordered: false });
      await expectWalk(me, `/groups/${groups[0]}/members`, byUser, [me.id, ...ids(others)], { ordered: false });
      const inviter = strangers[0] as TestUser;
      const invitations: string[] = [];
      for (let i = 0; i < COUNT; i++) {
        const created = await api<{ invited: Array<{ id: string }> }>('POST', '/groups', inviter, { name: `invite ${i}`, memberIds: [me.id] });
        invitations.push(...created.invited.map((invitation) => invitation.id));
      }
      expect(invitations).toHaveLength(COUNT);
      await expectWalk(me, '/group-invitations', byId, invitations, { ordered: false });

      // Blocks.
      const blocker = await newUser(t.api);
      for (const stranger of strangers) await api('POST', '/blocks', blocker, { userId: stranger.id });
      await expectWalk(blocker, '/blocks', byUser, ids(strangers), { ordered: false });

      // User search.
      await expectWalk(me, '/users?q=pagingpeer', byId, ids(others), { ordered: false });
      await expectWalk(await anAdmin(), '/admin/users?q=pagingpeer', byId, ids(others), { ordered: false });

      // Login history: the registration and four logins.
      for (let i = 0; i < COUNT - 1; i++) await t.api('POST', '/auth/login', { body: { username: me.username, password: me.password } });
      expect(await walk(me, '/users/me/login-logs', byId)).toHaveLength(COUNT);

      // AI conversations.
      const aiConversations: string[] = [];
      for (let i = 0; i < COUNT; i++) aiConversations.push((await api<{ id: string }>('POST', '/ai/conversations', me, { title: `chat ${i}` })).id);
      await expectWalk(me, '/ai/conversations', byId, aiConversations, { ordered: false });

      // Calls (to friends, whom no callee budget limits; offline, so each ends unanswered).
      const caller = new ParleyClient(t.server.url);
      await caller.login({ username: me.username, password: me.password });
      await caller.connect();
      try {
        const calls: string[] = [];
        for (const other of others) {
          calls.push((await caller.emit('call_request', { toUserId: other.id, media: 'audio' })).callId);
        }
        await expectWalk(me, '/calls', byId, calls, { ordered: false });
      } finally {
        caller.disconnect();
      }
    });
  });
});
