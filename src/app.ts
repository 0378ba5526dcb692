import path from 'node:path';
import type { Config } from './config.js';
import { authRoutes, createAuthRepository, createAuthService, createTokenIssuer } from './modules/auth/index.js';
import { createFriendsRepository, createFriendsService, friendsRoutes } from './modules/friends/index.js';
import { createGroupsRepository, createGroupsService, groupsRoutes } from './modules/groups/index.js';
import { createMessagingRepository, createMessagingService, messagingRoutes, messagingSocket } from './modules/messaging/index.js';
import { createPresenceService, presenceSocket } from './modules/presence/index.js';
import { createUsersRepository, createUsersService, usersRoutes } from './modules/users/index.js';
import { AVATARS_PATH, avatarsRoutes, createAvatarsService, createFileAvatarStore } from './modules/avatars/index.js';
import { type Cache, createCache } from './platform/cache/index.js';
import { type DatabaseHandle, openDatabase } from './platform/db/database.js';
import { createHttpApp, type HttpApp, registerPlatformPlugins } from './platform/http/server.js';
import { createLogger, type Logger } from './platform/logger.js';
import { createGateway, type Gateway } from './platform/realtime/gateway.js';
import type { ClusterBus } from './platform/realtime/cluster-bus.js';
import type { Publisher } from './platform/realtime/publisher.js';
import { resolveJwtSecret } from './platform/secrets.js';
import { type Clock, systemClock } from './shared/clock.js';

export interface BuildOptions {
  clock?: Clock;
  /** Start periodic jobs (guest clean-up); tests turn them off and run them by hand. */
  jobs?: boolean;
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
  /** Graceful stop: refuse new requests, finish in-flight ones, then close the database and cache. */
  close(): Promise<void>;
}

export type Services = ReturnType<typeof createServices>;

interface ServiceDeps {
  bus: ClusterBus;
  database: DatabaseHandle;
  cache: Cache;
  config: Config;
  clock: Clock;
  jwtSecret: string;
  publisher: Publisher;
  logger: Logger;
}

/** Every service, wired by plain factories: repositories in, use cases out. */
function createServices({ database, cache, config, clock, jwtSecret, publisher, bus, logger }: ServiceDeps) {
  const { db } = database;
  const usersRepository = createUsersRepository(db);
  const friendsRepository = createFriendsRepository(db);
  const groupsRepository = createGroupsRepository(db);
  const tokens = createTokenIssuer(jwtSecret, config.accessTokenTtlSec);
  const presence = createPresenceService({
    cache,
    publisher,
    clock,
    audienceOf: async (userId) => [...new Set([...(await friendsRepository.friendIds(userId)), ...(await groupsRepository.coMemberIds(userId))])],
    recordLastSeen: (userId, at) => usersRepository.update(userId, { last_seen_at: at }),
  });
  const users = createUsersService({ users: usersRepository, clock });
  const avatars = createAvatarsService({
    users: usersRepository,
    store: createFileAvatarStore(path.join(config.dataDir, 'avatars')),
    clock,
    publicPath: `/api/v1${AVATARS_PATH}`,
    log: logger,
  });
  const auth = createAuthService({
    auth: createAuthRepository(db),
    users: usersRepository,
    tokens,
    cache,
    clock,
    events: { sessionsRevoked: (_userId, ids) => publisher.disconnectSessions(ids, 'session_ended') },
    refreshTtlSec: config.refreshTokenTtlSec,
    loginThrottle: config.loginThrottle,
  });
  const friends = createFriendsService({ friends: friendsRepository, users: usersRepository, clock, presence });
  const groups = createGroupsService({ groups: groupsRepository, users: usersRepository, publisher, clock, presence, bus });
  const messaging = createMessagingService({
    messages: createMessagingRepository(db),
    users: usersRepository,
    groups,
    friends,
    publisher,
    cache,
    clock,
    sendLimit: { max: config.sendRateLimit.max, windowMs: config.sendRateLimit.windowSec * 1000 },
  });
  return { users, avatars, auth, friends, groups, messaging, presence, tokens };
}

/** Composes Parley: config → logger, database, cache → services → HTTP + Socket.IO. Used by main and tests alike. */
export async function buildApp(config: Config, options: BuildOptions = {}): Promise<App> {
  const clock = options.clock ?? systemClock;
  const { logger, close: closeLogger } = await createLogger(config.log);
  const database = openDatabase(config.database);
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
    verifyAccessToken: (token: string) => ready().auth.authenticate(token),
    readiness: { database: () => database.ping(), cache: () => cache.ping() },
  };
  const http = createHttpApp(httpDeps);
  const gateway = createGateway({
    httpServer: http.server,
    logger,
    corsOrigins: config.corsOrigins,
    redisUrl: config.redisUrl,
    redisKeyPrefix: config.redisKeyPrefix,
    authenticate: (token) => ready().auth.authenticateWithExpiry(token),
    roomsOf: (userId) => ready().messaging.roomsOf(userId),
    onConnection: (socket) => {
      presenceSocket(ready().presence, logger)(socket);
      messagingSocket(ready().messaging, logger)(socket);
    },
  });
  services = createServices({ database, cache, config, clock, jwtSecret, publisher: gateway.publisher, bus: gateway.bus, logger });
  const built = services;
  if (!config.redisUrl) await built.auth.restoreRevocations();
  built.presence.start();

  await registerPlatformPlugins(http, httpDeps);
  await http.register(
    async (api) => {
      await api.register(authRoutes(built.auth));
      await api.register(usersRoutes(built.users));
      await api.register(avatarsRoutes(built.avatars));
      await api.register(friendsRoutes(built.friends));
      await api.register(groupsRoutes(built.groups));
      await api.register(messagingRoutes(built.messaging));
    },
    { prefix: '/api/v1' },
  );
  await http.ready();

  const timers: NodeJS.Timeout[] = [];
  if (options.jobs !== false) {
    const purgeGuests = () =>
      built.users
        .purgeIdleGuests(config.guestIdleDays, (ids) => built.auth.endAllSessions(ids, 'guest_expired'))
        .then((removed) => removed > 0 && logger.info({ removed }, 'idle guest accounts removed'))
        .catch((error: unknown) => logger.error({ err: error }, 'guest clean-up failed'));
    timers.push(setInterval(purgeGuests, 3_600_000).unref());
    setImmediate(purgeGuests);
  }

  let closing: Promise<void> | undefined;
  return {
    config,
    http,
    gateway,
    logger,
    database,
    cache,
    services: built,
    async listen() {
      await http.listen({ port: config.port, host: config.host });
      const address = http.server.address();
      const port = typeof address === 'object' && address ? address.port : config.port;
      const scheme = config.tls ? 'https' : 'http';
      const host = config.host === '0.0.0.0' || config.host === '::' ? '127.0.0.1' : config.host;
      return { port, url: `${scheme}://${host}:${port}` };
    },
    close() {
      closing ??= (async () => {
        for (const timer of timers) clearInterval(timer);
        built.presence.stop();
        await gateway.close();
        // Fastify closes keep-alive sockets that are idle when close() starts; sockets whose request
        // finishes later would stay open for the keep-alive timeout (72 s), so keep sweeping them.
        const sweeper = setInterval(() => http.server.closeIdleConnections(), 50);
        try {
          await http.close();
        } finally {
          clearInterval(sweeper);
        }
        await database.close();
        await cache.close();
        logger.info('stopped');
        await closeLogger();
      })();
      return closing;
    },
  };
}
