import { randomBytes } from 'node:crypto';
import type { Socket } from 'socket.io';
import type { Ack, ErrorBody, ErrorCode } from '../../contract/errors.js';
import { AppError, errorBody } from '../../shared/errors.js';
import type { Cache } from '../cache/cache.js';

/** A refill rate and the most a client may spend at once. */
export interface Rate {
  perSecond: number;
  burst: number;
}

/** What the Socket.IO layer allows (docs/protocol.md, Limits). */
export interface SocketLimits {
  handshakesPerMinutePerIp: number;
  handshakesPerMinutePerUser: number;
  socketsPerUser: number;
  /** Every client event of a socket spends from this bucket. */
  events: Rate;
  /** Events that also spend from a stricter bucket of their own (typing, read, sync). */
  perEvent: Readonly<Record<string, Rate>>;
}

/**
 * A token bucket: starts full, refills continuously. Kept per socket in process memory, since a
 * socket lives on one process; the cost is two numbers per bucket and no I/O on the event path.
 */
export class TokenBucket {
  private tokens: number;
  private updatedAt: number;

  constructor(
    private readonly rate: Rate,
    now: number,
  ) {
    this.tokens = rate.burst;
    this.updatedAt = now;
  }

  private refill(now: number): void {
    this.tokens = Math.min(this.rate.burst, this.tokens + ((now - this.updatedAt) / 1000) * this.rate.perSecond);
    this.updatedAt = now;
  }

  /** True when a token is there (without taking it). */
  has(now: number): boolean {
    this.refill(now);
    return this.tokens >= 1;
  }

  take(): void {
    this.tokens -= 1;
  }

  /** Milliseconds until the next token. */
  waitMs(now: number): number {
    this.refill(now);
    return this.tokens >= 1 ? 0 : Math.ceil(((1 - this.tokens) / this.rate.perSecond) * 1000);
  }
}

function rateLimited(message: string, retryAfterMs: number): ErrorBody {
  return errorBody(new AppError('RATE_LIMITED', message, { retryAfterMs }));
}

/**
 * Spends a token for every client event the socket sends, whoever registered its handler, before
 * any handler runs. An event over the limit is dropped and, when it asked for an ack, answered
 * RATE_LIMITED with the delay before the next one is accepted.
 */
export function limitEvents(socket: Socket, limits: Pick<SocketLimits, 'events' | 'perEvent'>, now: () => number = Date.now): void {
  const all = new TokenBucket(limits.events, now());
  const own = new Map<string, TokenBucket>();
  socket.use((packet, next) => {
    const [event] = packet;
    const at = now();
    // hasOwn: an event named like an Object.prototype member must not find a "limit" there.
    const rate = typeof event === 'string' && Object.hasOwn(limits.perEvent, event) ? limits.perEvent[event] : undefined;
    let bucket: TokenBucket | undefined;
    if (rate) {
      bucket = own.get(event as string);
      if (!bucket) {
        bucket = new TokenBucket(rate, at);
        own.set(event as string, bucket);
      }
    }
    // A refused event spends nothing, so a flood of one kind does not starve the others more than it must.
    const blocker = bucket && !bucket.has(at) ? bucket : !all.has(at) ? all : undefined;
    if (!blocker) {
      bucket?.take();
      all.take();
      return next();
    }
    const ack = packet.at(-1);
    if (typeof ack === 'function') {
      const scope = blocker === all ? 'events on this connection' : `${String(event)} events`;
      (ack as (response: Ack<never>) => void)({ ok: false, error: rateLimited(`too many ${scope}; slow down`, blocker.waitMs(at)) });
    }
  });
}

/** A refusal the handshake middleware passes to `next`: the client's `connect_error` carries `data`. */
export class HandshakeRefusal extends Error {
  constructor(readonly data: ErrorBody) {
    super(data.code);
  }

  /** A refusal with this code (the `connect_error` message) and a human-readable explanation. */
  static of(code: ErrorCode, message: string): HandshakeRefusal {
    return new HandshakeRefusal(errorBody(new AppError(code, message)));
  }
}

const nodeKey = (nodeId: string) => `sockets:node:${nodeId}`;
const socketsKey = (userId: string) => `sockets:user:${userId}`;
const NODE_TTL_MS = 30_000;

/**
 * Handshake rates (fixed one-minute windows in the shared cache, so every process counts together)
 * and the cap on simultaneous sockets per user across processes.
 *
 * Sockets are registered in a cache set per user as `<node>|<socket id>`; each process keeps a
 * heartbeat key alive, so when a process dies without removing its sockets, they stop counting
 * once its heartbeat expires and the next handshake over the cap clears them.
 */
export function createConnectionLimiter(cache: Cache, limits: SocketLimits) {
  const nodeId = randomBytes(6).toString('hex');
  const beat = () => cache.set(nodeKey(nodeId), '1', NODE_TTL_MS);
  const heartbeat = setInterval(() => void beat().catch(() => {}), NODE_TTL_MS / 3);
  heartbeat.unref();

  async function countWindow(key: string, max: number, message: string): Promise<void> {
    const { count, ttlMs } = await cache.incr(key, 60_000);
    if (count > max) throw new HandshakeRefusal(rateLimited(message, Math.max(ttlMs, 0)));
  }

  /** Removes the user's sockets registered by processes whose heartbeat has expired. */
  async function dropDeadMembers(userId: string): Promise<void> {
    const members = await cache.setMembers(socketsKey(userId));
    if (members.length === 0) return;
    const nodes = [...new Set(members.map((member) => member.split('|')[0] ?? ''))].filter((node) => node !== nodeId);
    const alive = await cache.getMany(nodes.map(nodeKey));
    const deadNodes = new Set(nodes.filter((_, i) => alive[i] === null));
    for (const member of members) if (deadNodes.has(member.split('|')[0] ?? '')) await cache.setRemove(socketsKey(userId), member);
  }

  return {
    /** Counts a handshake from this address; throws HandshakeRefusal over the limit. Before authentication. */
    checkIp(ip: string): Promise<void> {
      return countWindow(`sockets:hs:ip:${ip}`, limits.handshakesPerMinutePerIp, 'too many connection attempts from this address; retry later');
    },

    /** Counts a handshake of this user; throws HandshakeRefusal over the limit. */
    checkUser(userId: string): Promise<void> {
      return countWindow(`sockets:hs:user:${userId}`, limits.handshakesPerMinutePerUser, 'too many connection attempts for this account; retry later');
    },

    /**
     * Registers the socket under its user, or throws HandshakeRefusal when the user already has
     * `socketsPerUser` sockets. The add is atomic, so concurrent handshakes cannot all squeeze in.
     */
    async admit(userId: string, socketId: string): Promise<void> {
      await beat();
      // Sockets of dead processes go first: counted in the add below, they would refuse live ones.
      await dropDeadMembers(userId);
      const member = `${nodeId}|${socketId}`;
      if ((await cache.setAdd(socketsKey(userId), member)) <= limits.socketsPerUser) return;
      await cache.setRemove(socketsKey(userId), member);
      throw new HandshakeRefusal(rateLimited(`at most ${limits.socketsPerUser} connections per account; close another one first`, 60_000));
    },

    /** The socket is gone (or never finished its handshake): it stops counting. */
    async release(userId: string, socketId: string): Promise<void> {
      await cache.setRemove(socketsKey(userId), `${nodeId}|${socketId}`);
    },

    /** This process stops: its sockets stop counting at once rather than when the heartbeat expires. */
    async close(): Promise<void> {
      clearInterval(heartbeat);
      await cache.del(nodeKey(nodeId)).catch(() => {});
    },
  };
}

export type ConnectionLimiter = ReturnType<typeof createConnectionLimiter>;
