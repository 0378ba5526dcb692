import type { Config } from './config.js';
import { type Cache, createCache } from './platform/cache/index.js';
import { type DatabaseHandle, openDatabase } from './platform/db/database.js';
import { createHttpApp, type HttpApp, registerPlatformPlugins } from './platform/http/server.js';
import { createLogger, type Logger } from './platform/logger.js';
import { resolveJwtSecret } from './platform/secrets.js';
import { authRoutes, createAuthRepository, createAuthService, createTokenIssuer, type SessionEvents } from './modules/auth/index.js';
import { createFriendsRepository, createFriendsService, friendsRoutes } from './modules/friends/index.js';
import { createUsersRepository, createUsersService, usersRoutes } from './modules/users/index.js';
import { type Clock, systemClock } from './shared/clock.js';

export interface BuildOptions {
  clock?: Clock;
  /** Start periodic jobs (guest clean-up); tests turn them off and run them by hand. */
  jobs?: boolean;
}

export interface App {
  config: Config;
  http: HttpApp;
  logger: Logger;
  database: DatabaseHandle;
  cache: Cache;
  services: ReturnType<typeof createServices>;
  /** Starts listening; resolves with the bound address (port 0 picks a free one). */
  listen(): Promise<{ port: number; url: string }>;
  /** Graceful stop: refuse new requests, finish in-flight ones, then close the database and cache. */
  close(): Promise<void>;
}

function createServices(database: DatabaseHandle, cache: Cache, config: Config, clock: Clock, jwtSecret: string, sessionEvents: SessionEvents) {
  const usersRepository = createUsersRepository(database.db);
  const tokens = createTokenIssuer(jwtSecret, config.accessTokenTtlSec);
  const users = createUsersService({ users: usersRepository, clock });
  const auth = createAuthService({
    auth: createAuthRepository(database.db),
    users: usersRepository,
    tokens,
    cache,
    clock,
    events: sessionEvents,
    refreshTtlSec: config.refreshTokenTtlSec,
    loginThrottle: config.loginThrottle,
  });
  const friends = createFriendsService({ friends: createFriendsRepository(database.db), users: usersRepository, clock });
  return { users, auth, friends, tokens };
}

/** Composes Parley: config → logger, database, cache → services → HTTP. Used by main and tests alike. */
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
  const sessionListeners: SessionEvents[] = [];
  const sessionEvents: SessionEvents = {
    sessionsRevoked: (userId, ids) => {
      for (const listener of sessionListeners) listener.sessionsRevoked(userId, ids);
    },
  };
  const services = createServices(database, cache, config, clock, jwtSecret, sessionEvents);
  if (!config.redisUrl) await services.auth.restoreRevocations();

  const httpDeps = {
    config,
    logger,
    cache,
    verifyAccessToken: (token: string) => services.auth.authenticate(token),
    readiness: { database: () => database.ping(), cache: () => cache.ping() },
  };
  const http = createHttpApp(httpDeps);
  await registerPlatformPlugins(http, httpDeps);
  await http.register(
    async (api) => {
      await api.register(authRoutes(services.auth));
      await api.register(usersRoutes(services.users));
      await api.register(friendsRoutes(services.friends));
    },
    { prefix: '/api/v1' },
  );
  await http.ready();

  const timers: NodeJS.Timeout[] = [];
  if (options.jobs !== false) {
    const purgeGuests = () =>
      services.users
        .purgeIdleGuests(config.guestIdleDays)
        .then((removed) => removed > 0 && logger.info({ removed }, 'idle guest accounts removed'))
        .catch((error: unknown) => logger.error({ err: error }, 'guest clean-up failed'));
    timers.push(setInterval(purgeGuests, 3_600_000).unref());
    setImmediate(purgeGuests);
  }

  let closing: Promise<void> | undefined;
  return {
    config,
    http,
    logger,
    database,
    cache,
    services,
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
