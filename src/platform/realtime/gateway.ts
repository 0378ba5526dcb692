import type { Server as HttpServer } from 'node:http';
import { createRequire } from 'node:module';
import { Server, type Socket } from 'socket.io';
import type { ClientToServerEvents, ServerToClientEvents } from '../../contract/events.js';
import { RefreshTokenPayload } from '../../contract/events.js';
import type { Actor } from '../../shared/actor.js';
import { AppError, errorBody } from '../../shared/errors.js';
import type { Cache } from '../cache/cache.js';
import { closeRedisClient, newRedisClient, type RedisClient } from '../cache/redis.js';
import type { Logger } from '../logger.js';
import type { PlatformMetrics } from '../metrics/metrics.js';
import { type ClusterBus, localClusterBus } from './cluster-bus.js';
import { drainHandlers, onEvent, registeredEventSchemas, type SocketData, startDraining, trackWork } from './handlers.js';
import { createConnectionLimiter, HandshakeRefusal, limitEvents, type SocketLimits } from './limits.js';
import { conversationRoom, type Publisher, sessionRoom, userRoom } from './publisher.js';

export type ParleySocket = Socket<ClientToServerEvents, ServerToClientEvents, Record<string, never>, SocketData>;
/** How long a change waits for every process to confirm a cluster notice before it is answered anyway. */
const CONFIRM_TIMEOUT_MS = 5_000;

export type ParleyServer = Server<ClientToServerEvents, ServerToClientEvents, Record<string, never>, SocketData>;

export interface GatewayOptions {
  httpServer: HttpServer;
  logger: Logger;
  corsOrigins: string[];
  redisUrl?: string;
  /** classic: one pub/sub channel all processes read; sharded: Redis 7 sharded pub/sub, one channel per room. */
  socketAdapter?: 'classic' | 'sharded';
  /** Namespaces the adapter's channels, so separate deployments can share one Redis. */
  redisKeyPrefix: string;
  /** Counts handshakes and sockets per user, shared by every process. */
  cache: Cache;
  limits: SocketLimits;
  /** Take the client address from X-Forwarded-For (TRUST_PROXY), as the HTTP rate limit does. */
  trustProxy: boolean;
  /** Verifies an access token; returns the actor and the token's expiry (epoch ms). */
  authenticate(token: string): Promise<{ actor: Actor; expiresAt: number }>;
  /** Conversation ids (their groups') whose rooms a user's sockets join besides their own rooms. */
  roomsOf(userId: string, actor: Actor): Promise<string[]>;
  /**
   * Checked before any handler for sockets whose actor is a bot (token scope); throws an AppError
   * that becomes the event's ack. Bot sockets also skip the user room, so a conversation the bot
   * joins later does not reach a token that was not given it.
   */
  botEventGuard?: (bot: NonNullable<Actor['bot']>, event: string, payload: unknown) => void;
  /** Registers each module's event handlers on a new socket, synchronously. */
  onConnection(socket: ParleySocket): void;
  /** Counts received client events (metrics on); unset, nothing is counted. */
  metrics?: Pick<PlatformMetrics, 'socketEvent'>;
}

export interface Gateway {
  io: ParleyServer;
  publisher: Publisher;
  bus: ClusterBus;
  /** Messages this process's adapter has received from Redis (0 without Redis): what a broadcast costs each process. */
  redisMessagesReceived(): number;
  close(): Promise<void>;
}

/**
 * With the sharded adapter an emit to one room goes to that room's own channel (only processes
 * with sockets in it receive it), but an emit to several rooms goes to the channel every process
 * reads. A private chat's two user rooms are therefore emitted one by one up to this many rooms;
 * beyond it (a presence change to hundreds of friends) one broadcast costs Redis less.
 */
const SHARDED_SPLIT_MAX_ROOMS = 4;

/**
 * The Socket.IO server on Parley's HTTP server. With REDIS_URL, the Redis adapter carries room
 * emits, socketsJoin/Leave and disconnectSockets to every process (classic pub/sub adapter: no
 * persistence needed, since missed messages are recovered from the database with `sync`).
 */
export function createGateway(options: GatewayOptions): Gateway {
  const allowAll = options.corsOrigins.includes('*');
  const io: ParleyServer = new Server(options.httpServer, {
    path: '/socket.io',
    cors: { origin: allowAll ? true : options.corsOrigins, credentials: !allowAll },
    // Compression costs CPU on every packet of a chat workload made of small messages.
    perMessageDeflate: false,
    maxHttpBufferSize: 2 * 1024 * 1024,
    pingInterval: 20_000,
    pingTimeout: 20_000,
    connectTimeout: 10_000,
  });

  const redisClients: RedisClient[] = [];
  const sharded = Boolean(options.redisUrl) && options.socketAdapter === 'sharded';
  /** The sharded adapter's subscriber connection (joinConversation confirms subscriptions on it). */
  let shardedSubscriber: RedisClient | undefined;
  let received = 0;
  if (options.redisUrl) {
    // A cluster's subscriber needs one connection per master for sharded pub/sub (SSUBSCRIBE is
    // served by the node owning the channel's slot); classic pub/sub works through any node.
    // Auto-pipelining: the publishes of one turn of the event loop (a burst of deliveries) leave in one write.
    const pub = newRedisClient(options.redisUrl, { maxRetriesPerRequest: null, enableAutoPipelining: true });
    const sub = newRedisClient(options.redisUrl, { maxRetriesPerRequest: null }, { shardedSubscribers: sharded });
    for (const client of [pub, sub]) {
      client.on('error', (error: Error) => options.logger.warn({ err: error.message }, 'socket.io redis adapter connection error'));
      redisClients.push(client);
    }
    for (const event of ['messageBuffer', 'pmessageBuffer', 'smessageBuffer']) sub.on(event, () => received++);
    if (sharded) shardedSubscriber = sub;
    // Loaded only with REDIS_URL, like ioredis (CommonJS, so a synchronous require).
    const adapters = createRequire(import.meta.url)('@socket.io/redis-adapter') as typeof import('@socket.io/redis-adapter');
    io.adapter(
      sharded
        ? // dynamic: rooms other than a socket's own id get their own channel, so an emit to a room
          // reaches only the processes holding sockets in it; multi-room emits and requests use the main channel.
          adapters.createShardedAdapter(pub, sub, { channelPrefix: `${options.redisKeyPrefix}socket.io`, subscriptionMode: 'dynamic' })
        : adapters.createAdapter(pub, sub, { key: `${options.redisKeyPrefix}socket.io`, requestsTimeout: 3000 }),
    );
  }

  let shuttingDown = false;
  const limiter = createConnectionLimiter(options.cache, options.limits);
  /** Runs a limit check; a cache failure lets the handshake through, as the HTTP rate limit does. */
  const withinLimit = async (check: Promise<void>): Promise<void> => {
    try {
      await check;
    } catch (error) {
      if (error instanceof HandshakeRefusal) throw error;
      options.logger.warn({ err: error }, 'socket limit check failed; letting the handshake through');
    }
  };

  io.use(async (socket, next) => {
    if (shuttingDown) return next(HandshakeRefusal.of('UNAVAILABLE', 'the server is shutting down; reconnect'));
    let admitted: string | undefined;
    try {
      // Counted before anything else, so floods of bad or missing tokens are limited too.
      await withinLimit(limiter.checkIp(clientAddress(socket, options.trustProxy)));
      const token = (socket.handshake.auth as { token?: unknown } | undefined)?.token;
      if (typeof token !== 'string' || token.length === 0) return next(HandshakeRefusal.of('UNAUTHORIZED', 'auth.token is required'));
      let authenticated: Awaited<ReturnType<GatewayOptions['authenticate']>>;
      try {
        authenticated = await options.authenticate(token);
      } catch {
        return next(HandshakeRefusal.of('UNAUTHORIZED', 'the access token is invalid or expired'));
      }
      const { actor, expiresAt } = authenticated;
      await withinLimit(limiter.checkUser(actor.userId));
      await withinLimit(limiter.admit(actor.userId, socket.id));
      admitted = actor.userId;
      releaseWhenGone(socket, actor.userId);
      socket.data.actor = actor;
      socket.data.tokenExpiresAt = expiresAt;
      // Joined before the connection completes, so nothing sent to these rooms is missed.
      // roomsOf gives conversation ids; publisher.toConversation emits to conversationRoom(id).
      const own = actor.bot ? [sessionRoom(actor.sessionId)] : [userRoom(actor.userId), sessionRoom(actor.sessionId)];
      await socket.join([...own, ...(await options.roomsOf(actor.userId, actor)).map(conversationRoom)]);
      next();
    } catch (error) {
      if (admitted !== undefined)
        trackWork(
          socket,
          limiter.release(admitted, socket.id).catch(() => {}),
        );
      if (error instanceof HandshakeRefusal) return next(error);
      next(HandshakeRefusal.of('UNAUTHORIZED', 'the connection could not be authenticated'));
    }
  });

  /**
   * The socket stops counting against its user's cap when it disconnects, and also when its
   * transport closes before the handshake finished (no `disconnect` is emitted then).
   */
  function releaseWhenGone(socket: ParleySocket, userId: string): void {
    let released = false;
    const release = () => {
      if (released) return;
      released = true;
      trackWork(
        socket,
        limiter.release(userId, socket.id).catch((error: unknown) => options.logger.warn({ err: error }, 'releasing a socket from its user count failed')),
      );
    };
    socket.once('disconnect', release);
    socket.conn.once('close', release);
    if (socket.conn.readyState !== 'open') release();
  }

  const { metrics } = options;
  io.on('connection', (socket) => {
    if (metrics) {
      // Before the limits, so refused floods show too; only registered names become labels.
      const known = registeredEventSchemas();
      socket.use(([event], next) => {
        metrics.socketEvent(known.has(event) ? event : 'unknown');
        next();
      });
    }
    // First, so every event of every module is counted before its handler runs.
    limitEvents(socket, options.limits);
    const bot = socket.data.actor?.bot;
    const guard = options.botEventGuard;
    if (bot && guard) {
      socket.use((packet, next) => {
        try {
          guard(bot, String(packet[0]), packet[1]);
          next();
        } catch (error) {
          const ack = packet.at(-1);
          if (typeof ack === 'function')
            (ack as (body: unknown) => void)({ ok: false, error: errorBody(error instanceof AppError ? error : new AppError('FORBIDDEN', 'refused')) });
        }
      });
    }
    options.onConnection(socket);
    onEvent(socket, 'auth_refresh', RefreshTokenPayload, options.logger, async ({ token }, { actor }) => {
      const next = await options.authenticate(token);
      if (next.actor.userId !== actor.userId) throw new AppError('FORBIDDEN', 'the new token belongs to another user');
      if (next.actor.sessionId !== actor.sessionId) {
        await socket.leave(sessionRoom(actor.sessionId));
        await socket.join(sessionRoom(next.actor.sessionId));
      }
      socket.data.actor = next.actor;
      socket.data.tokenExpiresAt = next.expiresAt;
      return { expiresAt: new Date(next.expiresAt).toISOString() };
    });
  });

  const publisher: Publisher = {
    toUsers(userIds, event, payload, opts) {
      if (userIds.length === 0) return;
      const unique = [...new Set(userIds)];
      if (sharded && unique.length > 1 && unique.length <= SHARDED_SPLIT_MAX_ROOMS) {
        // A user's sockets are in their own room only, so separate emits reach nobody twice.
        for (const userId of unique) publisher.toUsers([userId], event, payload, opts);
        return;
      }
      let target = io.to(unique.map(userRoom));
      if (opts?.exceptSocketId) target = target.except(opts.exceptSocketId);
      (target.emit as (event: string, payload: unknown) => boolean)(event, payload);
    },
    toSockets(socketIds, event, payload) {
      if (socketIds.length === 0) return;
      // Every socket is in a room named by its id, which the adapter reaches on every process.
      (io.to([...socketIds]).emit as (event: string, payload: unknown) => boolean)(event, payload);
    },
    async socketsOf(userId) {
      // Room membership is set during the handshake, before `connect` reaches the client: exact, and
      // across processes through the adapter.
      return (await io.in(userRoom(userId)).fetchSockets()).map((socket) => socket.id);
    },
    toConversation(conversationId, event, payload, opts) {
      let target = io.to(conversationRoom(conversationId));
      const except = [...(opts?.exceptUserIds ?? []).map(userRoom), ...(opts?.exceptSocketId ? [opts.exceptSocketId] : [])];
      if (except.length > 0) target = target.except(except);
      (target.emit as (event: string, payload: unknown) => boolean)(event, payload);
    },
    // The Redis adapter applies socketsJoin/Leave only when its own request comes back from Redis,
    // so an emit right after could miss the joiner. Applying it locally first (synchronous) closes
    // that gap here. With the classic adapter the other processes get the request before any later
    // emit (one ordered channel). With the sharded adapter a room's emits travel on the room's own
    // channel, which a process subscribes only once one of its sockets is in the room: the request
    // is a server-side emit that each process acknowledges after joining and subscribing, and the
    // join resolves when all have (so a message sent right after reaches the joiners everywhere).
    async joinConversation(userIds, conversationId) {
      if (userIds.length === 0) return;
      const rooms = userIds.map(userRoom);
      const room = conversationRoom(conversationId);
      io.local.in(rooms).socketsJoin(room);
      if (!options.redisUrl) return;
      if (!sharded) {
        io.in(rooms).socketsJoin(room);
        return;
      }
      await confirmEverywhere('parley:join', rooms, room);
    },
    leaveConversation(userIds, conversationId) {
      if (userIds.length === 0) return;
      const rooms = userIds.map(userRoom);
      io.local.in(rooms).socketsLeave(conversationRoom(conversationId));
      if (options.redisUrl) io.in(rooms).socketsLeave(conversationRoom(conversationId));
    },
    disconnectSessions(sessionIds, reason) {
      if (sessionIds.length === 0) return;
      // Local sockets go at once (the revoking request's own process). The others get one
      // server-side message and do the same, so `session_revoked` always precedes the disconnect:
      // an emit and a disconnect request sent separately travel on different channels (and, on a
      // Redis Cluster, different nodes), which may arrive in either order.
      revokeLocally(sessionIds, reason);
      if (options.redisUrl) io.serverSideEmit('parley:revoke', sessionIds, reason);
    },
  };

  function revokeLocally(sessionIds: readonly string[], reason: string): void {
    const rooms = sessionIds.map(sessionRoom);
    (io.local.to(rooms).emit as (event: string, payload: unknown) => boolean)('session_revoked', { reason });
    io.local.in(rooms).disconnectSockets(true);
  }
  io.on('parley:revoke' as never, ((sessionIds: string[], reason: string) => revokeLocally(sessionIds, reason)) as never);

  /**
   * A server-side emit that resolves once every other process has acknowledged it (the adapter
   * counts the processes), or after CONFIRM_TIMEOUT_MS, logged: the adapters give up after 3-5 s,
   * but with Redis away their count itself may wait for the reconnection, and the request that
   * asked is answered within this bound anyway.
   */
  async function confirmEverywhere(event: string, ...args: unknown[]): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    try {
      const confirmed = (io.serverSideEmitWithAck.bind(io) as unknown as (event: string, ...args: unknown[]) => Promise<unknown[]>)(event, ...args);
      const givenUp = new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`not confirmed within ${CONFIRM_TIMEOUT_MS} ms`)), CONFIRM_TIMEOUT_MS);
      });
      await Promise.race([confirmed, givenUp]);
    } catch (error) {
      options.logger.warn({ err: error, event }, 'a cluster request was not confirmed by every process');
    } finally {
      clearTimeout(timer);
    }
  }
  io.on(
    'parley:join' as never,
    (async (rooms: string[], room: string, confirm: (done: true) => void) => {
      io.local.in(rooms).socketsJoin(room);
      // The adapter subscribed the room's channel when the first local socket entered it (create-room);
      // subscribing again on the same connection resolves once Redis has applied it.
      const channel = (io.of('/').adapter as unknown as { dynamicChannel?: (room: string) => string }).dynamicChannel?.(room);
      if (channel && shardedSubscriber && io.of('/').adapter.rooms.has(room)) {
        await shardedSubscriber.ssubscribe(channel).catch((error: unknown) => options.logger.warn({ err: error, room }, 'could not confirm the subscription of a room channel'));
      }
      confirm(true);
    }) as never,
  );

  const local = localClusterBus();
  const bus: ClusterBus = {
    publish(topic, payload) {
      local.publish(topic, payload);
      // serverSideEmit reaches the other processes only (and nobody without an adapter).
      if (options.redisUrl) io.serverSideEmit('parley:bus', topic, payload);
    },
    async publishConfirmed(topic, payload) {
      local.publish(topic, payload);
      if (options.redisUrl) await confirmEverywhere('parley:bus-confirmed', topic, payload);
    },
    subscribe: local.subscribe,
  };
  io.on('parley:bus' as never, ((topic: string, payload: string) => local.publish(topic, payload)) as never);
  io.on(
    'parley:bus-confirmed' as never,
    ((topic: string, payload: string, confirm: (done: true) => void) => {
      local.publish(topic, payload);
      confirm(true);
    }) as never,
  );

  return {
    io,
    publisher,
    bus,
    redisMessagesReceived: () => received,
    async close() {
      // Only this process's sockets: the others keep serving. The HTTP server is closed by Fastify.
      // 1. No new connections, no new events (answered UNAVAILABLE: the client retries elsewhere).
      shuttingDown = true;
      startDraining(io);
      // 2. Clients learn why the connection is about to drop and that reconnecting is right.
      io.local.emit('server_shutdown', { reason: 'shutdown', reconnect: true });
      // 3. Events already running finish and their acks go out while the sockets are still open.
      await drainHandlers(io);
      // 4. Closing the transports (not a Socket.IO disconnect) lets clients reconnect by themselves:
      // behind a load balancer they land on another process.
      io.engine.close();
      await drainHandlers(io);
      await limiter.close();
      await Promise.all(redisClients.map(closeRedisClient));
    },
  };
}

/** The client's address: the first X-Forwarded-For entry behind a trusted proxy, else the peer. */
function clientAddress(socket: ParleySocket, trustProxy: boolean): string {
  if (trustProxy) {
    const forwarded = socket.handshake.headers['x-forwarded-for'];
    const first = (Array.isArray(forwarded) ? forwarded[0] : forwarded)?.split(',')[0]?.trim();
    if (first) return first;
  }
  return socket.handshake.address;
}

/**
 * The sharded adapter needs sharded pub/sub (SPUBLISH/SSUBSCRIBE), which Redis added in 7.0: an
 * older Redis would refuse every publish, so start-up stops with a clear message instead.
 */
export async function assertShardedPubSub(redisUrl: string): Promise<void> {
  const client = newRedisClient(redisUrl, { maxRetriesPerRequest: 1, lazyConnect: true, connectTimeout: 5000 });
  client.on('error', () => {});
  try {
    await client.connect();
    const nodes = 'nodes' in client ? client.nodes('master') : [client];
    for (const node of nodes) {
      const info = await node.info('server');
      const version = /redis_version:([0-9.]+)/.exec(info)?.[1] ?? '0';
      if (Number(version.split('.')[0]) < 7) {
        throw new Error(`SOCKET_ADAPTER=sharded needs Redis 7 or later (sharded pub/sub); ${node.options.host}:${node.options.port} runs Redis ${version}`);
      }
    }
  } finally {
    client.disconnect();
  }
}
