import type { Cache } from '../../platform/cache/cache.js';
import type { Logger } from '../../platform/logger.js';
import type { ClusterBus } from '../../platform/realtime/cluster-bus.js';

const CANCEL_TOPIC = 'ai:cancel';
const ownerKey = (requestId: string) => `ai:request:${requestId}`;

interface Running {
  userId: string;
  controller: AbortController;
  done: Promise<unknown>;
}

/**
 * The replies running in this process, by request id (socket) or message id (REST): a cancel from
 * any process of the cluster reaches the one running the reply, and shutdown aborts and waits for
 * them.
 */
export function createRunningReplies({ bus, cache, log }: { bus: ClusterBus; cache: Cache; log: Logger }) {
  const running = new Map<string, Running>();

  bus.subscribe(CANCEL_TOPIC, (payload) => {
    const { requestId, userId } = JSON.parse(payload) as { requestId: string; userId: string };
    const entry = running.get(requestId);
    if (entry && entry.userId === userId) entry.controller.abort();
  });

  return {
    /** Runs `work` as a cancellable reply under `key`; `stop()` aborts it through `controller`. */
    async track<T>(key: string, userId: string, controller: AbortController, work: () => Promise<T>): Promise<T> {
      const done = work();
      running.set(key, { userId, controller, done });
      try {
        return await done;
      } finally {
        running.delete(key);
      }
    },

    /** Records who owns `requestId` in the cache, so a cancel from a device on another process finds its owner. */
    async announce(requestId: string, userId: string, ttlMs: number): Promise<void> {
      await cache
        .set(ownerKey(requestId), userId, ttlMs)
        .catch((error: unknown) => log.warn({ err: error }, 'AI request not recorded in the cache; cancel works on this process only'));
    },

    /** Forgets an announced request once its reply ended. */
    async forget(requestId: string): Promise<void> {
      await cache.del(ownerKey(requestId)).catch(() => {});
    },

    /** Asks every process to stop `requestId` when `userId` owns it; false when no such request of theirs is known. */
    async cancel(requestId: string, userId: string): Promise<boolean> {
      const owner = running.get(requestId)?.userId ?? (await cache.get(ownerKey(requestId)));
      if (owner !== userId) return false;
      bus.publish(CANCEL_TOPIC, JSON.stringify({ requestId, userId }));
      return true;
    },

    /** Aborts every reply running in this process and waits until each has settled. */
    async stop(): Promise<void> {
      const entries = [...running.values()];
      for (const { controller } of entries) controller.abort();
      await Promise.allSettled(entries.map((entry) => entry.done));
    },
  };
}

export type RunningReplies = ReturnType<typeof createRunningReplies>;
