import { randomBytes } from 'node:crypto';
import type { PresenceStatus, UserStatusEvent } from '../../contract/events.js';
import type { Cache } from '../../platform/cache/cache.js';
import type { Publisher } from '../../platform/realtime/publisher.js';
import type { Clock } from '../../shared/clock.js';

export type ChosenStatus = 'online' | 'away' | 'invisible';

export interface PresenceServiceDeps {
  cache: Cache;
  publisher: Publisher;
  clock: Clock;
  /** Who hears about a user's presence: friends and group co-members. */
  audienceOf(userId: string): Promise<string[]>;
  recordLastSeen(userId: string, at: number): Promise<void>;
}

const NODE_TTL_MS = 30_000;
const connectionsKey = (userId: string) => `presence:conns:${userId}`;
const nodeKey = (nodeId: string) => `presence:node:${nodeId}`;
const statusKey = (userId: string) => `presence:status:${userId}`;

/**
 * Presence counted per device across processes. Each process registers its sockets in the shared
 * cache under its own node id and keeps a heartbeat key alive; a crashed process's sockets stop
 * counting once its heartbeat expires. `user_status` goes out on the first device on and the last
 * device off, and when the chosen status changes what others see.
 */
export function createPresenceService(deps: PresenceServiceDeps) {
  const { cache, publisher, clock } = deps;
  const nodeId = randomBytes(6).toString('hex');
  const beat = () => cache.set(nodeKey(nodeId), '1', NODE_TTL_MS).catch(() => {});
  let heartbeat: NodeJS.Timeout | undefined;
  /** This process's sockets per user: what `resync` writes back after the cache lost them. */
  const local = new Map<string, Set<string>>();
  /** Users whose sockets here changed while the shared cache was away (their entries there are stale). */
  const changedWhileAway = new Set<string>();
  let cacheAway = false;

  async function liveConnections(userId: string): Promise<number> {
    const members = await cache.setMembers(connectionsKey(userId));
    if (members.length === 0) return 0;
    const nodes = [...new Set(members.map((member) => member.split('|')[0] ?? ''))];
    const alive = await cache.getMany(nodes.map(nodeKey));
    const liveNodes = new Set(nodes.filter((_, i) => alive[i] !== null));
    return members.filter((member) => liveNodes.has(member.split('|')[0] ?? '')).length;
  }

  async function chosenStatus(userId: string): Promise<ChosenStatus> {
    const value = await cache.get(statusKey(userId));
    return value === 'away' || value === 'invisible' ? value : 'online';
  }

  const visible = (status: ChosenStatus): PresenceStatus => (status === 'invisible' ? 'offline' : status);

  async function announce(userId: string, status: PresenceStatus, lastSeenAt: number | null): Promise<void> {
    const audience = await deps.audienceOf(userId);
    const event: UserStatusEvent = { userId, status, lastSeenAt: lastSeenAt === null ? null : new Date(lastSeenAt).toISOString() };
    publisher.toUsers(audience, 'user_status', event);
  }

  return {
    nodeId,

    start(): void {
      void beat();
      heartbeat = setInterval(beat, NODE_TTL_MS / 3);
      heartbeat.unref();
    },

    stop(): void {
      if (heartbeat) clearInterval(heartbeat);
    },

    /** A device connected; announces the user online if it is their first. */
    async connected(userId: string, socketId: string): Promise<void> {
      local.set(userId, (local.get(userId) ?? new Set()).add(socketId));
      if (cacheAway) changedWhileAway.add(userId);
      await beat();
      await cache.setAdd(connectionsKey(userId), `${nodeId}|${socketId}`);
      if ((await liveConnections(userId)) !== 1) return;
      const status = await chosenStatus(userId);
      if (status !== 'invisible') await announce(userId, visible(status), null);
    },

    /** A device disconnected; records last-seen and announces offline if it was the last. */
    async disconnected(userId: string, socketId: string): Promise<void> {
      const sockets = local.get(userId);
      sockets?.delete(socketId);
      if (sockets?.size === 0) local.delete(userId);
      if (cacheAway) changedWhileAway.add(userId);
      await cache.setRemove(connectionsKey(userId), `${nodeId}|${socketId}`);
      if ((await liveConnections(userId)) > 0) return;
      // An invisible user went "offline" for the others when they chose invisible: last-seen stays
      // frozen at that moment, or its changes would tell friends when they really come and go.
      if ((await chosenStatus(userId)) === 'invisible') return;
      const now = clock.now().getTime();
      await deps.recordLastSeen(userId, now);
      await announce(userId, 'offline', now);
    },

    /** The shared cache went away: what changes now must be written back when it returns. */
    cacheLost(): void {
      cacheAway = true;
    },

    /**
     * The shared cache is back (possibly empty after a restart): registers this process's sockets
     * again and drops entries of sockets that closed meanwhile, so other processes see them again.
     */
    async resync(): Promise<void> {
      cacheAway = false;
      await beat();
      const changed = [...changedWhileAway];
      changedWhileAway.clear();
      for (const userId of changed) {
        const here = local.get(userId) ?? new Set<string>();
        for (const member of await cache.setMembers(connectionsKey(userId))) {
          const [node, socketId] = member.split('|');
          if (node === nodeId && socketId !== undefined && !here.has(socketId)) await cache.setRemove(connectionsKey(userId), member);
        }
      }
      for (const [userId, sockets] of local) {
        for (const socketId of sockets) await cache.setAdd(connectionsKey(userId), `${nodeId}|${socketId}`);
      }
    },

    /** Sets the status the user shows; others hear only when what they see changes. */
    async setStatus(userId: string, status: ChosenStatus): Promise<void> {
      const before = visible(await chosenStatus(userId));
      await cache.set(statusKey(userId), status);
      const after = visible(status);
      if (before === after || (await liveConnections(userId)) === 0) return;
      const lastSeen = after === 'offline' ? clock.now().getTime() : null;
      if (lastSeen !== null) await deps.recordLastSeen(userId, lastSeen);
      await announce(userId, after, lastSeen);
    },

    /** Whether the process with this node id is still alive (its heartbeat has not expired). */
    async isNodeAlive(id: string): Promise<boolean> {
      return (await cache.get(nodeKey(id))) !== null;
    },

    /** Whether the user has a socket open on any live process (invisible users too): Web Push goes only to those who have none. */
    async hasOpenSocket(userId: string): Promise<boolean> {
      return (await liveConnections(userId)) > 0;
    },

    /** Whether the user chose to look offline (whatever devices they have connected). */
    async isInvisible(userId: string): Promise<boolean> {
      return (await chosenStatus(userId)) === 'invisible';
    },

    /** What others see of each user: online, away, or offline (also for invisible users). */
    async presenceOf(userIds: readonly string[]): Promise<Map<string, PresenceStatus>> {
      const result = new Map<string, PresenceStatus>();
      await Promise.all(
        userIds.map(async (userId) => {
          const live = await liveConnections(userId);
          result.set(userId, live === 0 ? 'offline' : visible(await chosenStatus(userId)));
        }),
      );
      return result;
    },
  };
}

export type PresenceService = ReturnType<typeof createPresenceService>;
