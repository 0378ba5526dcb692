import { createHmac } from 'node:crypto';
import path from 'node:path';
import type { Config } from './config.js';
import { API_PREFIX } from './contract/api.js';
import { adminRoutes, createAdminRepository, createAdminService } from './modules/admin/index.js';
import { ASSISTANT_USER_ID, aiRoutes, aiSocket, createAiRepository, createAiService, createAssistant, createLlmProvider } from './modules/ai/index.js';
import { authRoutes, createAuthRepository, createAuthService, createPasswordHasher, createTokenIssuer } from './modules/auth/index.js';
import { AVATARS_PATH, avatarsRoutes, createAvatarsService, createFileAvatarStore } from './modules/avatars/index.js';
import { BOT_TOKEN_PREFIX, botsRoutes, createBotsRepository, createBotsService, createIncomingService, createWebhooksService } from './modules/bots/index.js';
import { callsRoutes, callsSocket, createCallsRepository, createCallsService } from './modules/calls/index.js';
import { createFileStorage, createFilesRepository, createFilesService, createTusServer, filesRoutes, tusRoutes, UPLOADS_PATH } from './modules/files/index.js';
import { createFriendsRepository, createFriendsService, friendsRoutes } from './modules/friends/index.js';
import {
  createGroupsRepository,
  createGroupsService,
  createInvitationsRepository,
  createInviteLinksRepository,
  groupConversationId,
  groupsRoutes,
  inviteLinksRoutes,
} from './modules/groups/index.js';
import {
  createMentionsRepository,
  createMessagingRepository,
  createMessagingService,
  createPinsRepository,
  encodeSystemContent,
  messagingRoutes,
  messagingSocket,
  pinsRoutes,
  privateConversationId,
} from './modules/messaging/index.js';
import { createNotificationsRepository, createNotificationsService, notificationsRoutes } from './modules/notifications/index.js';
import { botRooms, createAdminPolicy, createPolicy, requireBotEvent, requireBotRoute } from './modules/policy/index.js';
import { createPresenceService, presenceSocket } from './modules/presence/index.js';
import { createPreviewsRepository, createPreviewsService } from './modules/previews/index.js';
import { createEndpointCheck, createPushRepository, createPushSender, createPushService, pushRoutes, resolveVapidKeys, type VapidKeys } from './modules/push/index.js';
import { createReportsRepository, createReportsService, reportsRoutes } from './modules/reports/index.js';
import { createProfileAnnouncer, createUsersRepository, createUsersService, usersRoutes } from './modules/users/index.js';
import { type Cache, createCache, ResilientCache } from './platform/cache/index.js';
import { type DatabaseHandle, openDatabase } from './platform/db/database.js';
import { createHttpApp, type HttpApp, refuseUndeclaredQuery, registerPlatformPlugins } from './platform/http/server.js';
import { registerWebClient } from './platform/http/web.js';
import { createLogger, type Logger } from './platform/logger.js';
import { type Metrics, noMetrics } from './platform/metrics/metrics.js';
import { createPrometheusMetrics, type PrometheusMetrics } from './platform/metrics/prometheus.js';
import { type MetricsServer, observeHttp, registerMetricsRoute, startMetricsServer } from './platform/metrics/serve.js';
import { createGuardedFetch, createOutboundUrlCheck, type GuardedFetchOptions } from './platform/outbound/index.js';
import type { ClusterBus } from './platform/realtime/cluster-bus.js';
import { assertShardedPubSub, createGateway, type Gateway } from './platform/realtime/gateway.js';
import type { Publisher } from './platform/realtime/publisher.js';
import { resolveJwtSecret } from './platform/secrets.js';
import { type Clock, systemClock } from './shared/clock.js';
import { AppError } from './shared/errors.js';
import { newId } from './shared/ids.js';

export interface BuildOptions {
  clock?: Clock;
  /** Start periodic jobs (guest clean-up); tests turn them off and run them by hand. */
  jobs?: boolean;
  /** The guarded fetcher's DNS resolver and address policy, replaced by tests that stand in for the internet. */
  outbound?: Pick<GuardedFetchOptions, 'resolve' | 'addressAllowed'>;
}

export interface App {
  config: Config;
  http: HttpApp;
  gateway: Gateway;
  logger: Logger;
  database: DatabaseHandle;
  cache: Cache;
  services: Services;
  /** Starts listening; resolves with the bound address (port 0 picks a free one). */
  listen(): Promise<{ port: number; url: string }>;
  /** With METRICS_PORT, the metrics listener's base URL once `listen()` has resolved. */
  readonly metricsUrl: string | undefined;
  /** Graceful stop: refuse new requests, finish in-flight ones, then close the database and cache. */
  close(): Promise<void>;
}

export type Services = ReturnType<typeof createServices>;

interface ServiceDeps {
  /** Open sockets on every process (admin statistics). */
  onlineSockets: () => Promise<number>;
  bus: ClusterBus;
  database: DatabaseHandle;
  cache: Cache;
  config: Config;
  clock: Clock;
  jwtSecret: string;
  vapidKeys: VapidKeys;
  publisher: Publisher;
  logger: Logger;
  metrics: Metrics;
  outbound?: BuildOptions['outbound'];
}

/** Every service, wired by plain factories: repositories in, use cases out. */
function createServices({ database, cache, config, clock, jwtSecret, vapidKeys, publisher, bus, logger, metrics, outbound, onlineSockets }: ServiceDeps) {
  const { db } = database;
  const usersRepository = createUsersRepository(db);
  const friendsRepository = createFriendsRepository(db);
  const groupsRepository = createGroupsRepository(db);
  const policy = createPolicy({
    friends: friendsRepository,
    users: usersRepository,
    coMemberIds: (userId, groupsUpTo) => groupsRepository.coMemberIds(userId, groupsUpTo),
    // Late-bound: the groups service (with its member cache) is created below and uses the policy.
    groupMembership: (groupId, userId) => groups.membership(groupId, userId),
    ownedBotIds: (ownerId) => botsRepository.ownedBotIds(ownerId),
    bus,
  });
  const botsRepository = createBotsRepository(db);
  const adminRepository = createAdminRepository(db);
  const adminPolicy = createAdminPolicy({
    configured: config.adminUsernames,
    usernameLowerOf: async (userId) => (await usersRepository.findById(userId))?.username_lower,
    isGranted: (userId) => adminRepository.isGranted(userId),
  });
  const tokens = createTokenIssuer(jwtSecret, config.accessTokenTtlSec);
  const presence = createPresenceService({
    cache,
    publisher,
    clock,
    audienceOf: (userId) => policy.presenceAudience(userId),
    recordLastSeen: (userId, at) => usersRepository.update(userId, { last_seen_at: at }),
  });
  const announcer = createProfileAnnouncer({ users: usersRepository, publisher, cache, audienceOf: (userId) => policy.presenceAudience(userId) });
  const users = createUsersService({
    users: usersRepository,
    clock,
    announcer,
    maySeePresence: (viewerId, userId) => policy.maySeePresence(viewerId, userId),
    presenceOf: (userIds) => presence.presenceOf(userIds),
    isAdmin: (userId) => adminPolicy.isAdmin(userId),
  });
  const avatars = createAvatarsService({
    users: usersRepository,
    store: createFileAvatarStore(path.join(config.dataDir, 'avatars')),
    clock,
    publicPath: `${API_PREFIX}${AVATARS_PATH}`,
    log: logger,
    announcer,
  });
  const auth = createAuthService({
    auth: createAuthRepository(db),
    users: usersRepository,
    tokens,
    cache,
    clock,
    // Clients are told a suspension as such; every other revocation keeps the one documented reason.
    events: {
      sessionsRevoked: (userId, ids, reason) => {
        publisher.disconnectSessions(ids, reason === 'account_suspended' ? reason : 'session_ended');
        // Web Push subscriptions belong to the session that made them: an ended session's devices stop hearing.
        push.sessionsEnded(userId, ids);
      },
    },
    refreshTtlSec: config.refreshTokenTtlSec,
    loginThrottle: config.loginThrottle,
    guestCreatePerIpPerHour: config.guestCreatePerIpPerHour,
    passwords: createPasswordHasher(config.passwordHashProfile),
    isSuspended: async (userId) => (await adminRepository.findSuspension(userId)) !== undefined,
  });
  const friends = createFriendsService({
    friends: friendsRepository,
    users: usersRepository,
    clock,
    presence,
    publisher,
    isBot: (userId) => userId === ASSISTANT_USER_ID,
    onBlocksChanged: (a, b) => policy.blocksChanged(a, b),
  });
  const groups = createGroupsService({
    groups: groupsRepository,
    invitations: createInvitationsRepository(db),
    users: usersRepository,
    policy,
    cache,
    invitationLimits: config.groupInvitations,
    inviteLinks: createInviteLinksRepository(db),
    inviteLinkLimits: config.inviteLinks,
    publisher,
    clock,
    presence,
    bus,
    // Group events as `system` messages; a failed notice is logged, never undoes the stored change.
    announce: (groupId, event) =>
      messaging.postAs(event.actorId, groupConversationId(groupId), { type: 'system', content: encodeSystemContent(event), clientMsgId: `system:${newId()}` }).then(
        () => {},
        (error: unknown) => logger.warn({ err: error, groupId, kind: event.kind }, 'group event not recorded'),
      ),
  });
  const fileStorage = createFileStorage(config.files.dir);
  const files = createFilesService({
    files: createFilesRepository(db),
    storage: fileStorage,
    publisher,
    clock,
    limits: config.files,
    // Its own key, derived from the JWT secret: a signed URL can never pass for a token or the reverse.
    urlSecret: createHmac('sha256', jwtSecret).update('parley:signed-file-urls').digest('hex'),
    policy,
    apiPath: API_PREFIX,
    log: logger,
  });
  const previewsRepository = createPreviewsRepository(db);
  const notifications = createNotificationsService({
    repository: createNotificationsRepository(db),
    bus,
    clock,
    // Asked for every message sent: this process's copy, dropped everywhere on every block change.
    policy: { conversation: (userId, conversationId) => policy.conversation(userId, conversationId), blockedEitherWay: (userId) => policy.cachedBlockedEitherWay(userId) },
  });
  const messaging = createMessagingService({
    mentions: createMentionsRepository(db),
    mentionAll: config.mentionAll,
    notifications,
    messages: createMessagingRepository(db, {
      sqlite: database.sqlite,
      readers: database.readers,
      multiStatement: database.multiStatement,
      searchTimeoutMs: config.longReads.timeoutMs,
    }),
    previews: previewsRepository,
    attachments: files,
    pins: createPinsRepository(db),
    users: usersRepository,
    groups,
    policy,
    publisher,
    cache,
    clock,
    sendLimit: { max: config.sendRateLimit.max, windowMs: config.sendRateLimit.windowSec * 1000 },
    metrics: metrics.enabled ? metrics : undefined,
  });
  const previews = createPreviewsService({
    repository: previewsRepository,
    fetch: createGuardedFetch({ allowPrivate: config.outbound.allowPrivate, ...outbound }),
    target: messaging,
    cache,
    clock,
    settings: config.linkPreviews,
    log: logger,
  });
  messaging.onMessageSent((message) => previews.messageSent(message));
  messaging.onMessageChanged((message, change) => (change === 'edited' ? previews.messageEdited(message) : previews.messageRecalled(message.id)));
  const push = createPushService({
    repository: createPushRepository(db),
    send: createPushSender({
      fetch: createGuardedFetch({ allowPrivate: config.outbound.allowPrivate, ...outbound, userAgent: 'Parley/1.0 (Web Push)' }),
      vapid: vapidKeys,
      subject: config.push.subject,
      ttlSec: config.push.ttlSec,
      timeoutMs: config.push.timeoutMs,
    }),
    retry: config.push.retry,
    checkEndpoint: createEndpointCheck({ allowPrivate: config.outbound.allowPrivate, ...outbound }),
    publicKey: vapidKeys.publicKey,
    maxPerUser: config.push.maxPerUser,
    hasOpenSocket: (userId) => presence.hasOpenSocket(userId),
    memberIdsOf: (groupId) => groups.cachedMemberIds(groupId),
    hasBlocked: (blockerId, blockedId) => friendsRepository.isBlocked(blockerId, blockedId),
    isNotifying: (message, recipientId) => notifications.isNotifying(message, recipientId),
    bus,
    displayNameOf: async (userId) => {
      const user = await usersRepository.findById(userId);
      return user ? user.nickname || user.username : '';
    },
    clock,
    log: logger,
    metrics: metrics.enabled ? metrics : undefined,
  });
  messaging.onMessageSent((message) => push.messageSent(message));
  const calls = createCallsService({
    calls: createCallsRepository(db),
    users: usersRepository,
    policy,
    messaging,
    presence,
    publisher,
    cache,
    clock,
    config: config.calls,
    logger,
    onUnreachable: (call) => push.callUnanswerable({ ...call, conversationId: privateConversationId(call.callerId, call.calleeId) }),
  });
  const ai = createAiService({
    repository: createAiRepository(db),
    llm: createLlmProvider(config.ai.providers),
    settings: config.ai,
    cache,
    clock,
    publisher,
    bus,
    chats: messaging,
    smartRepliesOn: async (userId) => Number((await usersRepository.findProfile(userId))?.smart_replies ?? 0) === 1,
    policy,
    log: logger,
    metrics: metrics.enabled ? metrics : undefined,
  });
  // The assistant bot exists only where a model can answer for it.
  const assistant = ai.available
    ? createAssistant({ users: usersRepository, messaging, ai: ai.forAssistant(), systemPrompt: config.ai.systemPrompt, clock, log: logger })
    : undefined;
  // The tus server is kept here (not only in its routes) so its store's state can be observed.
  const tus = createTusServer({
    files,
    storage: fileStorage,
    endpointPath: `${API_PREFIX}${UPLOADS_PATH}`,
    maxBytes: config.files.maxBytes,
    expiryHours: config.files.expiryHours,
    corsOrigins: config.corsOrigins,
    metrics: metrics.enabled ? metrics : undefined,
  });
  /**
   * Run before user rows are deleted (guest expiry, account deletion): the rows cascade in the
   * database, but bytes on disk (files, thumbnails, uploads, avatars) must be removed by name.
   */
  const removeUserData = async (userIds: readonly string[]): Promise<void> => {
    await files.removeOwnedBy(userIds);
    await avatars.removeAllOf(userIds);
  };
  const admin = createAdminService({
    admin: adminRepository,
    users: usersRepository,
    policy: adminPolicy,
    sessions: auth,
    messaging,
    groups,
    removeUserData,
    onlineSockets,
    clock,
  });
  const reports = createReportsService({
    reports: createReportsRepository(db),
    admin,
    messages: messaging,
    userExists: async (userId) => (await usersRepository.findById(userId)) !== undefined,
    cache,
    clock,
  });
  const bots = createBotsService({
    repository: botsRepository,
    users: usersRepository,
    clock,
    publisher,
    requireMember: (userId, conversationId) => policy.conversation(userId, conversationId),
    perUser: config.bots.perUser,
  });
  const outboundOptions = { allowPrivate: config.outbound.allowPrivate, ...outbound };
  const webhooks = createWebhooksService({
    repository: botsRepository,
    clock,
    fetch: createGuardedFetch({ ...outboundOptions, userAgent: 'ParleyWebhooks/1.0' }),
    checkUrl: createOutboundUrlCheck(outboundOptions),
    roleIn: async (userId, conversationId) => {
      const access = await policy.conversation(userId, conversationId);
      return access.kind === 'group' ? access.role : 'participant';
    },
    ownerOfBot: (botId) => bots.ownerOf(botId),
    settings: config.bots,
    log: logger,
    metrics: metrics.enabled ? metrics : undefined,
  });
  messaging.onMessageStored((message) => {
    webhooks.messageStored(message).catch((error: unknown) => logger.error({ err: error, conversationId: message.conversationId }, 'webhook outbox write failed'));
  });
  const incoming = createIncomingService({
    repository: botsRepository,
    users: usersRepository,
    cache,
    clock,
    groupRole: async (userId, conversationId) => {
      const access = await policy.conversation(userId, conversationId);
      if (access.kind !== 'group') throw new AppError('NOT_FOUND', 'incoming webhooks post into groups only');
      return access.role;
    },
    createBot: (ownerId, nickname) => bots.createForHook(ownerId, nickname),
    addToGroup: async (actor, conversationId, botId) => {
      await groups.addMembers(actor, conversationId.slice(2), [botId]);
    },
    post: (senderId, conversationId, input) => messaging.postAs(senderId, conversationId, input),
    postsPerMinute: config.bots.incomingPerMinute,
    basePath: `${API_PREFIX}/hooks`,
  });
  return {
    bots,
    webhooks,
    incoming,
    admin,
    reports,
    users,
    avatars,
    auth,
    friends,
    groups,
    messaging,
    notifications,
    previews,
    push,
    presence,
    calls,
    files,
    fileStorage,
    tus,
    removeUserData,
    tokens,
    ai,
    assistant,
  };
}

/** Composes Parley: config → logger, database, cache → services → HTTP + Socket.IO. Used by main and tests alike. */
export async function buildApp(config: Config, options: BuildOptions = {}): Promise<App> {
  const clock = options.clock ?? systemClock;
  const { logger, close: closeLogger } = await createLogger(config.log);
  if (config.redisUrl && config.socketAdapter === 'sharded') {
    try {
      await assertShardedPubSub(config.redisUrl);
    } catch (error) {
      logger.error({ err: error }, 'SOCKET_ADAPTER=sharded cannot start');
      await closeLogger();
      throw error;
    }
  }
  // Off (nothing collected, no hooks) unless METRICS_TOKEN or METRICS_PORT is set.
  const prometheus: PrometheusMetrics | undefined = config.metrics
    ? createPrometheusMetrics({
        dialect: config.database.kind,
        cacheBackend: config.redisUrl ? 'redis' : 'memory',
        aiProviders: config.ai.providers.map((provider) => provider.name),
      })
    : undefined;
  const metrics: Metrics = prometheus ?? noMetrics;
  const database = openDatabase(config.database, {
    onQuery: prometheus ? (sqlText, milliseconds, failed) => prometheus.dbQuery(sqlText, milliseconds, failed) : undefined,
    onBackgroundError: (message) => logger.warn({ err: message }, 'SQLite background checkpoint failed; the main connection checkpoints again'),
    onConnectionLost: (message) => logger.warn({ err: message }, 'an idle PostgreSQL connection dropped; the pool opens a new one when needed'),
    readers: {
      threads: config.longReads.sqliteReaderThreads,
      timeoutMs: config.longReads.timeoutMs,
      onError: (message) => logger.warn({ err: message }, 'SQLite reader thread failed; another one takes its place'),
    },
  });
  const cache = createCache(config.redisUrl, config.redisKeyPrefix);
  try {
    const applied = await database.migrate();
    if (applied.length > 0) logger.info({ migrations: applied }, 'database migrated');
  } catch (error) {
    await database.close().catch(() => {});
    await cache.close().catch(() => {});
    await closeLogger();
    throw error;
  }

  const jwtSecret = resolveJwtSecret(config.jwtSecret, config.dataDir, logger);
  const vapidKeys = resolveVapidKeys(config.push.vapidKeys, config.dataDir, logger);
  // Services are created after the HTTP and socket servers (the publisher needs the socket server);
  // the closures below only run once requests arrive.
  let services: Services | undefined;
  const ready = (): Services => {
    if (!services) throw new Error('services used before start-up finished');
    return services;
  };
  const httpDeps = {
    config,
    logger,
    cache,
    verifyAccessToken: (token: string) => (token.startsWith(BOT_TOKEN_PREFIX) ? ready().bots.authenticate(token) : ready().auth.authenticate(token)),
    readiness: { database: () => database.ping(), cache: () => cache.ping() },
  };
  const http = createHttpApp(httpDeps);
  const gateway = createGateway({
    httpServer: http.server,
    logger,
    corsOrigins: config.corsOrigins,
    redisUrl: config.redisUrl,
    socketAdapter: config.socketAdapter,
    redisKeyPrefix: config.redisKeyPrefix,
    cache,
    limits: config.socketLimits,
    trustProxy: config.trustProxy,
    // A bot token does not expire (it is revoked): a far expiry keeps the socket's checks as they are.
    authenticate: async (token) =>
      token.startsWith(BOT_TOKEN_PREFIX) ? { actor: await ready().bots.authenticate(token), expiresAt: 8_640_000_000_000_000 } : ready().auth.authenticateWithExpiry(token),
    roomsOf: async (userId, actor) => (actor.bot ? botRooms(actor.bot, await ready().messaging.roomsOf(userId)) : ready().messaging.roomsOf(userId)),
    botEventGuard: requireBotEvent,
    metrics: prometheus,
    onConnection: (socket) => {
      presenceSocket(ready().presence, logger)(socket);
      messagingSocket(ready().messaging, logger)(socket);
      callsSocket(ready().calls, logger)(socket);
      aiSocket(ready().ai, logger)(socket);
    },
  });
  services = createServices({
    database,
    cache,
    config,
    clock,
    jwtSecret,
    vapidKeys,
    publisher: gateway.publisher,
    bus: gateway.bus,
    logger,
    metrics,
    outbound: options.outbound,
    // Asks every process (through the adapter); an admin's occasional read, not a hot path.
    onlineSockets: async () => (await gateway.io.fetchSockets()).length,
  });
  prometheus?.observe({
    connectedSockets: () => gateway.io.of('/').sockets.size,
    checks: { database: () => database.ping(), cache: () => cache.ping() },
  });
  const built = services;
  if (!config.redisUrl) await built.auth.restoreRevocations();
  if (cache instanceof ResilientCache) {
    cache.onHealthChange({
      degraded() {
        logger.warn('cache (Redis) unreachable: serving this process from a local fallback');
        built.presence.cacheLost();
        // Revocations stored in the database are re-marked locally, so logged-out sessions stay out.
        built.auth.restoreRevocations().catch((error: unknown) => logger.warn({ err: error }, 'restoring revocations into the fallback failed'));
      },
      recovered() {
        logger.info('cache (Redis) reachable: presence and revocations written back');
        built.presence.resync().catch((error: unknown) => logger.warn({ err: error }, 'presence resync failed'));
        // A Redis that restarted empty lost its revocation marks: the database still has them.
        built.auth.restoreRevocations().catch((error: unknown) => logger.warn({ err: error }, 'restoring revocations failed'));
      },
    });
    await cache.whenReady(5000);
  }
  built.presence.start();
  await built.assistant?.start();
  await built.ai
    .recoverInterrupted()
    .then((failed) => failed > 0 && logger.info({ failed }, 'AI replies interrupted by a stopped process marked failed'))
    .catch((error: unknown) => logger.warn({ err: error }, 'marking interrupted AI replies failed did not work'));
  built.calls.start();
  // Deliveries left pending by a stopped process go out now.
  built.webhooks.start();
  await built.calls
    .recover()
    .then((closed) => closed > 0 && logger.info({ closed }, 'call records left open by a stopped process closed'))
    .catch((error: unknown) => logger.warn({ err: error }, 'closing interrupted call records failed'));

  await registerPlatformPlugins(http, httpDeps);
  if (prometheus) {
    observeHttp(http, prometheus);
    // With METRICS_PORT the main port has no /metrics (404 like any unknown route).
    if (config.metrics?.port === undefined && config.metrics?.token !== undefined) registerMetricsRoute(http, prometheus, config.metrics.token);
  }
  await http.register(
    async (api) => {
      refuseUndeclaredQuery(api);
      // A bot token reaches only the routes, actions and conversations of its scope (policy.bots).
      api.addHook('preHandler', async (request) => {
        const bot = request.actor?.bot;
        if (bot) requireBotRoute(bot, request.method, request.routeOptions.url ?? '', request.params as Record<string, unknown>);
      });
      await api.register(authRoutes(built.auth, { refreshTtlSec: config.refreshTokenTtlSec }));
      await api.register(usersRoutes(built.users));
      await api.register(avatarsRoutes(built.avatars, built.files));
      await api.register(friendsRoutes(built.friends));
      await api.register(groupsRoutes(built.groups));
      await api.register(inviteLinksRoutes(built.groups));
      await api.register(messagingRoutes(built.messaging));
      await api.register(pinsRoutes(built.messaging));
      await api.register(pushRoutes(built.push));
      await api.register(notificationsRoutes(built.notifications));
      await api.register(filesRoutes(built.files, built.fileStorage));
      await api.register(tusRoutes(built.files, built.tus));
      await api.register(callsRoutes(built.calls));
      await api.register(aiRoutes(built.ai, built.assistant));
      await api.register(adminRoutes(built.admin));
      await api.register(reportsRoutes(built.reports, built.admin));
      await api.register(botsRoutes(built.bots, built.webhooks, built.incoming));
    },
    { prefix: API_PREFIX },
  );
  await registerWebClient(http, logger, { features: () => ({ ai: built.ai.available }) });
  await http.ready();

  const timers: NodeJS.Timeout[] = [];
  if (options.jobs !== false) {
    const purgeGuests = () =>
      built.users
        .purgeIdleGuests(config.guestIdleDays, async (ids) => {
          await built.auth.endAllSessions(ids, 'guest_expired');
          await built.removeUserData(ids);
        })
        .then((removed) => removed > 0 && logger.info({ removed }, 'idle guest accounts removed'))
        .catch((error: unknown) => logger.error({ err: error }, 'guest clean-up failed'));
    timers.push(setInterval(purgeGuests, 3_600_000).unref());
    setImmediate(purgeGuests);
    const cleanUpFiles = () => built.files.cleanUp().catch((error: unknown) => logger.error({ err: error }, 'file clean-up failed'));
    timers.push(setInterval(cleanUpFiles, 3_600_000).unref());
    setImmediate(cleanUpFiles);
  }

  let metricsServer: MetricsServer | undefined;
  let metricsUrl: string | undefined;
  let closing: Promise<void> | undefined;
  return {
    config,
    http,
    gateway,
    logger,
    database,
    cache,
    services: built,
    get metricsUrl() {
      return metricsUrl;
    },
    async listen() {
      await http.listen({ port: config.port, host: config.host });
      const address = http.server.address();
      const port = typeof address === 'object' && address ? address.port : config.port;
      const scheme = config.tls ? 'https' : 'http';
      const host = config.host === '0.0.0.0' || config.host === '::' ? '127.0.0.1' : config.host;
      const serving = config.metrics;
      if (prometheus && serving?.port !== undefined) {
        metricsServer = await startMetricsServer(prometheus, { ...serving, port: serving.port });
        const metricsHost = serving.host === '0.0.0.0' || serving.host === '::' ? '127.0.0.1' : serving.host;
        metricsUrl = `http://${metricsHost.includes(':') ? `[${metricsHost}]` : metricsHost}:${metricsServer.port}`;
        logger.info({ url: metricsUrl }, 'metrics listening');
      }
      return { port, url: `${scheme}://${host}:${port}` };
    },
    close() {
      closing ??= (async () => {
        for (const timer of timers) clearInterval(timer);
        built.presence.stop();
        // Before the sockets close: this process's call devices are marked away while the cache is up.
        await built.calls.stop();
        // Running AI replies end now (stored as failed, retryable) so open SSE responses let the server close.
        await built.ai.stop();
        await built.webhooks.stop();
        built.push.stop();
        await built.assistant?.stop();
        await gateway.close();
        // Fastify closes keep-alive sockets that are idle when close() starts; sockets whose request
        // finishes later would stay open for the keep-alive timeout (72 s), so keep sweeping them.
        const sweeper = setInterval(() => http.server.closeIdleConnections(), 50);
        try {
          await http.close();
        } finally {
          clearInterval(sweeper);
        }
        await metricsServer?.close();
        await database.close();
        await cache.close();
        logger.info('stopped');
        await closeLogger();
      })();
      return closing;
    },
  };
}
