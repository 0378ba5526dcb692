/**
 * Server-to-server notices (cache invalidations). Delivered to this process at once and, through
 * the Socket.IO adapter, to every other process; a process that misses one (Redis briefly away)
 * relies on the receiver's cache TTL.
 */
export interface ClusterBus {
  publish(topic: string, payload: string): void;
  /**
   * Like publish, and resolves once every other process has run its handlers (or when the wait
   * times out, logged: a process that did not answer falls back on its cache TTL). For changes
   * that must be seen everywhere before they are answered (a block, a notification setting).
   */
  publishConfirmed(topic: string, payload: string): Promise<void>;
  subscribe(topic: string, handler: (payload: string) => void): void;
}

/** A bus for one process (tests of services, scripts). */
export function localClusterBus(): ClusterBus {
  const handlers = new Map<string, Array<(payload: string) => void>>();
  return {
    publish(topic, payload) {
      for (const handler of handlers.get(topic) ?? []) handler(payload);
    },
    async publishConfirmed(topic, payload) {
      this.publish(topic, payload);
    },
    subscribe(topic, handler) {
      handlers.set(topic, [...(handlers.get(topic) ?? []), handler]);
    },
  };
}
