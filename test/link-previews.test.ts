import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { Message } from '../src/client/index.js';
import type { Resolver } from '../src/platform/outbound/index.js';
import { type LinkSite, ogPage, previewOutcomes, startLinkSite } from './support/link-site.js';
import { history, openPrivate, people, sendText } from './support/messaging.js';
import { barrier, collect, nextEvent } from './support/realtime.js';
import { storageLabel, TEST_DATABASE_URL, TEST_REDIS_URL, type TestServer } from './support/server.js';
import { useTestServer } from './support/suite.js';

/**
 * A stand-in internet on this machine: 127.0.0.1 plays a public address, everything else
 * (127.0.0.2, 10/8, ...) a private one. The injected resolver gives names their addresses, so
 * DNS and redirect cases run against real local HTTP servers through the real fetcher.
 */
const PUBLIC = '127.0.0.1';
const NAMES: Record<string, string[]> = {
  'news.example': [PUBLIC],
  'intranet.example': ['127.0.0.2'],
  // One good and one private address: the name is refused as a whole.
  'split.example': [PUBLIC, '10.0.0.7'],
};
const standInResolver: Resolver = async (hostname) => {
  const addresses = NAMES[hostname];
  if (!addresses) throw new Error(`no such name ${hostname}`);
  return addresses.map((address) => ({ address, family: 4 }));
};

const withSite = (site: () => LinkSite, path: string, host = 'news.example') => `http://${host}:${site().port}${path}`;

describe(`link previews on a stand-in internet (${storageLabel})`, () => {
  let site: LinkSite;
  let internal: LinkSite;
  let watch: ReturnType<typeof previewOutcomes>;
  // The sites start just before the server and close after the block's tests.
  const suite = useTestServer(
    async () => {
      site = await startLinkSite(PUBLIC);
      internal = await startLinkSite('127.0.0.2');
      internal.page('/secret', ogPage({ title: 'internal admin' }));
      return { LINK_PREVIEW_TIMEOUT_MS: '1500', LINK_PREVIEW_MAX_BYTES: '65536', LINK_PREVIEWS_PER_MINUTE: '3' };
    },
    { build: { outbound: { resolve: standInResolver, addressAllowed: (address) => address === PUBLIC } } },
  );
  beforeAll(() => {
    watch = previewOutcomes(suite.server.app);
  });
  afterAll(async () => {
    await site.close();
    await internal.close();
  });
  const crowd = people(() => suite.server.url);
  afterEach(() => crowd.closeAll());

  async function pair() {
    const alice = await crowd.user();
    const bob = await crowd.user();
    const conversationId = await openPrivate(alice.client, bob.id);
    return { alice, bob, conversationId };
  }

  /** Sends a message whose link gets no preview, and proves no preview reached the peer. */
  async function expectNoPreview(url: string, reason: string) {
    const { alice, bob, conversationId } = await pair();
    const updates = collect(bob.socket, 'message_updated');
    const sent = await sendText(alice.client, conversationId, `look ${url}`);
    expect(await watch.of(sent.id)).toMatchObject({ result: 'none', reason });
    await barrier(bob.socket);
    expect(updates).toEqual([]);
    expect((await history(bob.client, conversationId)).items[0]?.preview).toBeUndefined();
  }

  it('adds the Open Graph preview of the first link to the message on every device, and history returns it', async () => {
    site.page('/og', ogPage({ title: 'Tides &amp; moons', description: 'Why the sea rises twice a day', image: '/cover.png', siteName: 'Sea News' }));
    const { alice, bob, conversationId } = await pair();
    const aliceTablet = await crowd.device(alice);
    const url = withSite(() => site, '/og');
    const onBob = nextEvent(bob.socket, 'message_updated');
    const onTablet = nextEvent(aliceTablet.socket, 'message_updated');
    const sent = await sendText(alice.client, conversationId, `read this: ${url}, then https://second.example/ too`);
    expect(sent.preview).toBeUndefined();
    const expected = { url, title: 'Tides & moons', description: 'Why the sea rises twice a day', image: `http://news.example:${site.port}/cover.png`, siteName: 'Sea News' };
    expect((await onBob).message).toMatchObject({ id: sent.id, content: sent.content, preview: expected });
    expect((await onTablet).message.preview).toEqual(expected);
    expect((await history(bob.client, conversationId)).items[0]).toMatchObject({ id: sent.id, preview: expected });
    expect(site.hits('/og')).toBe(1);
  });

  it('falls back to <title> and meta description when the page has no Open Graph tags', async () => {
    site.page('/plain', (_request, response) => {
      response.writeHead(200, { 'content-type': 'text/html' });
      response.end('<html><head><title> Plain   page </title><meta name="description" content="Just a page"></head><body></body></html>');
    });
    const { alice, bob, conversationId } = await pair();
    const onBob = nextEvent(bob.socket, 'message_updated');
    await sendText(
      alice.client,
      conversationId,
      withSite(() => site, '/plain'),
    );
    expect((await onBob).message.preview).toMatchObject({ title: 'Plain page', description: 'Just a page', image: null, siteName: null });
  });

  it('acknowledges and delivers the message before the linked page has even answered', async () => {
    let release: () => void = () => {};
    const requested = new Promise<void>((resolveRequested) => {
      site.page('/held', (request, response) => {
        resolveRequested();
        release = () => ogPage({ title: 'held page' })(request, response);
      });
    });
    const { alice, bob, conversationId } = await pair();
    const updates = collect(bob.socket, 'message_updated');
    const delivered = nextEvent(bob.socket, 'chat');
    const sent = await sendText(
      alice.client,
      conversationId,
      withSite(() => site, '/held'),
    );
    expect((await delivered).id).toBe(sent.id);
    await requested;
    expect(updates).toEqual([]);
    const updated = nextEvent(bob.socket, 'message_updated');
    release();
    expect((await updated).message).toMatchObject({ id: sent.id, preview: { title: 'held page' } });
  });

  it('fetches a URL once for many messages while its preview is fresh', async () => {
    site.page('/popular', ogPage({ title: 'popular' }));
    const url = withSite(() => site, '/popular');
    const first = await pair();
    const second = await pair();
    const firstUpdate = nextEvent(first.bob.socket, 'message_updated');
    const a = await sendText(first.alice.client, first.conversationId, url);
    expect(await watch.of(a.id)).toMatchObject({ result: 'preview', fetched: true });
    await firstUpdate;
    const secondUpdate = nextEvent(second.bob.socket, 'message_updated');
    const b = await sendText(second.alice.client, second.conversationId, `again ${url}`);
    expect(await watch.of(b.id)).toMatchObject({ result: 'preview', fetched: false });
    expect((await secondUpdate).message.preview?.title).toBe('popular');
    expect(site.hits('/popular')).toBe(1);
  });

  it("limits the pages fetched for one user's messages; past the limit a link gets no preview and no request", async () => {
    const { alice, conversationId } = await pair();
    for (const n of [1, 2, 3]) {
      site.page(`/many-${n}`, ogPage({ title: `page ${n}` }));
      const sent = await sendText(
        alice.client,
        conversationId,
        withSite(() => site, `/many-${n}`),
      );
      expect(await watch.of(sent.id)).toMatchObject({ result: 'preview' });
    }
    site.page('/many-4', ogPage({ title: 'page 4' }));
    const fourth = await sendText(
      alice.client,
      conversationId,
      withSite(() => site, '/many-4'),
    );
    expect(await watch.of(fourth.id)).toMatchObject({ result: 'rate_limited' });
    expect(site.hits('/many-4')).toBe(0);
    // Another user's links are not held back by alice's limit.
    const other = await pair();
    const sent = await sendText(
      other.alice.client,
      other.conversationId,
      withSite(() => site, '/many-4'),
    );
    expect(await watch.of(sent.id)).toMatchObject({ result: 'preview' });
  });

  it('gives no preview when a redirect leads to a private address, and never requests it', async () => {
    site.page('/hop', (_request, response) => response.writeHead(302, { location: `http://127.0.0.2:${internal.port}/secret` }).end());
    site.page('/hop-by-name', (_request, response) => response.writeHead(301, { location: `http://intranet.example:${internal.port}/secret` }).end());
    await expectNoPreview(
      withSite(() => site, '/hop'),
      'address',
    );
    await expectNoPreview(
      withSite(() => site, '/hop-by-name'),
      'address',
    );
    expect(site.hits('/hop')).toBe(1);
    expect(internal.hits('/secret')).toBe(0);
  });

  it('gives no preview for a name resolving to a private address, even when it also has a public one', async () => {
    site.page('/split', ogPage({ title: 'split' }));
    await expectNoPreview(`http://intranet.example:${internal.port}/secret`, 'address');
    await expectNoPreview(
      withSite(() => site, '/split', 'split.example'),
      'address',
    );
    expect(internal.hits('/secret')).toBe(0);
    expect(site.hits('/split')).toBe(0);
  });

  it('follows at most five redirects', async () => {
    for (let n = 0; n < 6; n++) site.page(`/loop-${n}`, (_request, response) => response.writeHead(302, { location: `/loop-${n + 1}` }).end());
    site.page('/loop-6', ogPage({ title: 'too far' }));
    await expectNoPreview(
      withSite(() => site, '/loop-0'),
      'redirects',
    );
    expect(site.hits('/loop-6')).toBe(0);
  });

  it('gives no preview when the page takes longer than the time budget', async () => {
    let stalled: (() => void) | undefined;
    site.page('/slow', (_request, response) => {
      response.writeHead(200, { 'content-type': 'text/html' });
      response.write('<html><head>');
      // Never finished: the budget, not the server, ends it.
      stalled = () => response.end();
    });
    await expectNoPreview(
      withSite(() => site, '/slow'),
      'timeout',
    );
    stalled?.();
  });

  it('gives no preview for a page larger than the byte budget', async () => {
    site.page('/huge', (_request, response) => {
      response.writeHead(200, { 'content-type': 'text/html' });
      response.write('<html><head><meta property="og:title" content="huge"></head><body>');
      const filler = `<p>${'x'.repeat(16_000)}</p>`;
      // 200 KB without a Content-Length, past the 64 KB budget.
      for (let i = 0; i < 12; i++) response.write(filler);
      response.end('</body></html>');
    });
    site.page('/declared-huge', (_request, response) => {
      response.writeHead(200, { 'content-type': 'text/html', 'content-length': String(10_000_000) });
      response.write('<html><head><meta property="og:title" content="declared"></head>');
    });
    await expectNoPreview(
      withSite(() => site, '/huge'),
      'too_large',
    );
    await expectNoPreview(
      withSite(() => site, '/declared-huge'),
      'too_large',
    );
  });

  it('gives no preview for content that is not HTML', async () => {
    site.page('/data.json', (_request, response) => {
      response.writeHead(200, { 'content-type': 'application/json' });
      response.end(JSON.stringify({ title: '<meta property="og:title" content="json">' }));
    });
    site.page('/image.png', (_request, response) => {
      response.writeHead(200, { 'content-type': 'image/png' });
      response.end(Buffer.alloc(64));
    });
    await expectNoPreview(
      withSite(() => site, '/data.json'),
      'refused_response',
    );
    await expectNoPreview(
      withSite(() => site, '/image.png'),
      'refused_response',
    );
  });

  it('keeps the preview through an edit that keeps the link, replaces it for a new link and drops it without one', async () => {
    site.page('/first', ogPage({ title: 'first page' }));
    site.page('/second', ogPage({ title: 'second page' }));
    const { alice, bob, conversationId } = await pair();
    const sent = await sendText(alice.client, conversationId, `see ${withSite(() => site, '/first')}`);
    expect(await watch.of(sent.id)).toMatchObject({ result: 'preview' });
    await barrier(bob.socket);

    const kept = nextEvent(bob.socket, 'message_updated');
    await alice.client.request<Message>('PATCH', `/messages/${sent.id}`, { content: `still ${withSite(() => site, '/first')}` });
    expect((await kept).message.preview?.title).toBe('first page');

    const updates = collect(bob.socket, 'message_updated');
    const edited = await alice.client.request<Message>('PATCH', `/messages/${sent.id}`, { content: `now ${withSite(() => site, '/second')}` });
    expect(edited.preview).toBeUndefined();
    expect(await watch.of(sent.id)).toMatchObject({ result: 'preview' });
    await barrier(bob.socket);
    expect(updates.map((u) => u.message.preview?.title ?? null)).toEqual([null, 'second page']);

    const dropped = await alice.client.request<Message>('PATCH', `/messages/${sent.id}`, { content: 'no link any more' });
    expect(dropped.preview).toBeUndefined();
    expect((await history(bob.client, conversationId)).items[0]?.preview).toBeUndefined();
    expect(site.hits('/first')).toBe(1);
  });

  it('takes the preview away with a recalled message, also when the recall comes before the page answered', async () => {
    site.page('/recalled', ogPage({ title: 'recalled page' }));
    const { alice, bob, conversationId } = await pair();
    const sent = await sendText(
      alice.client,
      conversationId,
      withSite(() => site, '/recalled'),
    );
    expect(await watch.of(sent.id)).toMatchObject({ result: 'preview' });
    const recalledEvent = nextEvent(bob.socket, 'message_updated', (u) => u.message.recalledAt !== null);
    await alice.client.request('DELETE', `/messages/${sent.id}`);
    expect((await recalledEvent).message.preview).toBeUndefined();
    expect((await history(bob.client, conversationId)).items[0]).toMatchObject({ id: sent.id, content: '' });
    expect((await history(bob.client, conversationId)).items[0]?.preview).toBeUndefined();

    let release: () => void = () => {};
    const requested = new Promise<void>((resolveRequested) => {
      site.page('/recalled-early', (request, response) => {
        resolveRequested();
        release = () => ogPage({ title: 'too late' })(request, response);
      });
    });
    const early = await sendText(
      alice.client,
      conversationId,
      withSite(() => site, '/recalled-early'),
    );
    await requested;
    await alice.client.request('DELETE', `/messages/${early.id}`);
    const updates = collect(bob.socket, 'message_updated');
    release();
    expect(await watch.of(early.id)).toMatchObject({ result: 'stale' });
    await barrier(bob.socket);
    expect(updates).toEqual([]);
  });
});

describe(`link previews with the default address rules (${storageLabel})`, () => {
  let site: LinkSite;
  beforeAll(async () => {
    site = await startLinkSite(PUBLIC);
    site.page('/og', ogPage({ title: 'on loopback' }));
  });
  afterAll(async () => {
    await site.close();
  });
  const suite = useTestServer();
  const crowd = people(() => suite.server.url);
  afterEach(() => crowd.closeAll());

  it('never fetches a loopback link, by address, by localhost or as an IPv4-mapped IPv6 address', async () => {
    const watch = previewOutcomes(suite.server.app);
    const alice = await crowd.user();
    const bob = await crowd.user();
    const conversationId = await openPrivate(alice.client, bob.id);
    const updates = collect(bob.socket, 'message_updated');
    for (const url of [
      `http://127.0.0.1:${site.port}/og`,
      `http://localhost:${site.port}/og`,
      `http://[::ffff:127.0.0.1]:${site.port}/og`,
      'http://169.254.169.254/latest/meta-data/',
    ]) {
      const sent = await sendText(alice.client, conversationId, url);
      expect(await watch.of(sent.id), url).toMatchObject({ result: 'none', reason: 'address' });
    }
    await barrier(bob.socket);
    expect(updates).toEqual([]);
    expect(site.hits('/og')).toBe(0);
  });
});

describe(`link previews with OUTBOUND_ALLOW_PRIVATE=true (${storageLabel})`, () => {
  let site: LinkSite;
  beforeAll(async () => {
    site = await startLinkSite(PUBLIC);
    site.page('/og', ogPage({ title: 'on a private network', description: 'reachable when allowed' }));
  });
  afterAll(async () => {
    await site.close();
  });
  const suite = useTestServer({ OUTBOUND_ALLOW_PRIVATE: 'true' });
  const crowd = people(() => suite.server.url);
  afterEach(() => crowd.closeAll());

  it('previews a loopback page, but still refuses the link-local metadata address', async () => {
    const watch = previewOutcomes(suite.server.app);
    const alice = await crowd.user();
    const bob = await crowd.user();
    const conversationId = await openPrivate(alice.client, bob.id);
    const onBob = nextEvent(bob.socket, 'message_updated');
    const sent = await sendText(alice.client, conversationId, `http://127.0.0.1:${site.port}/og`);
    expect((await onBob).message).toMatchObject({ id: sent.id, preview: { title: 'on a private network', description: 'reachable when allowed' } });
    const metadata = await sendText(alice.client, conversationId, 'http://169.254.169.254/latest/meta-data/');
    expect(await watch.of(metadata.id)).toMatchObject({ result: 'none', reason: 'address' });
  });
});

/** Two servers sharing MariaDB and Redis (the machine's real services, like cluster.test.ts). */
describe('link previews across two servers sharing MariaDB and Redis', () => {
  let site: LinkSite;
  beforeAll(async () => {
    site = await startLinkSite(PUBLIC);
    site.page('/og', ogPage({ title: 'seen everywhere' }));
  });
  afterAll(async () => {
    await site.close();
  });
  const suite = useTestServer(
    { OUTBOUND_ALLOW_PRIVATE: 'true' },
    {
      environment: { databaseUrl: TEST_DATABASE_URL ?? 'mysql://root@127.0.0.1:3306/parley_test', redisUrl: TEST_REDIS_URL ?? 'redis://127.0.0.1:6379' },
      servers: 2,
    },
  );

  it('sends the preview to a member connected to the other server', async () => {
    const [a, b] = suite.servers as [TestServer, TestServer];
    const alice = await people(() => a.url).user();
    const bob = await people(() => b.url).user();
    try {
      const conversationId = await openPrivate(alice.client, bob.id);
      const onBob = nextEvent(bob.socket, 'message_updated');
      const sent = await sendText(alice.client, conversationId, `http://127.0.0.1:${site.port}/og`);
      expect((await onBob).message).toMatchObject({ id: sent.id, preview: { title: 'seen everywhere' } });
    } finally {
      alice.client.disconnect();
      bob.client.disconnect();
    }
  });
});

describe(`link previews switched off with LINK_PREVIEWS=off (${storageLabel})`, () => {
  let site: LinkSite;
  beforeAll(async () => {
    site = await startLinkSite(PUBLIC);
    site.page('/og', ogPage({ title: 'would preview' }));
  });
  afterAll(async () => {
    await site.close();
  });
  // Private addresses allowed, so only the switch stands between the link and a fetch.
  const suite = useTestServer({ LINK_PREVIEWS: 'off', OUTBOUND_ALLOW_PRIVATE: 'true' });
  const crowd = people(() => suite.server.url);
  afterEach(() => crowd.closeAll());

  it('fetches nothing and adds no preview, while the message itself goes through as usual', async () => {
    const alice = await crowd.user();
    const bob = await crowd.user();
    const conversationId = await openPrivate(alice.client, bob.id);
    const updates = collect(bob.socket, 'message_updated');
    const delivered = nextEvent(bob.socket, 'chat');
    const sent = await sendText(alice.client, conversationId, `see http://127.0.0.1:${site.port}/og`);
    expect((await delivered).id).toBe(sent.id);
    await new Promise((resolve) => setTimeout(resolve, 500));
    await barrier(bob.socket);
    expect(updates).toEqual([]);
    expect(site.hits('/og')).toBe(0);
    expect((await history(bob.client, conversationId)).items[0]?.preview).toBeUndefined();
  });
});
