import type { Logger } from '../../platform/logger.js';

/**
 * This process's timers per call (ring timeout, reconnect grace). They are an optimisation: the
 * deadlines live in the shared call state, and the sweep ends calls whose timer died with its process.
 */
export function createCallTimers(logger: Logger) {
  const timers = new Map<string, Set<NodeJS.Timeout>>();
  let stopped = false;

  function clear(callId: string): void {
    for (const timer of timers.get(callId) ?? []) clearTimeout(timer);
    timers.delete(callId);
  }

  return {
    /** Runs `task` after `delayMs`; a failure is logged. Nothing is scheduled once stopped. */
    schedule(callId: string, delayMs: number, task: () => Promise<unknown>): void {
      if (stopped) return;
      const set = timers.get(callId) ?? new Set<NodeJS.Timeout>();
      timers.set(callId, set);
      const timer = setTimeout(
        () => {
          set.delete(timer);
          if (set.size === 0) timers.delete(callId);
          task().catch((error: unknown) => logger.error({ err: error, callId }, 'call timer failed'));
        },
        Math.max(0, delayMs),
      );
      timer.unref();
      set.add(timer);
    },

    clear,

    start(): void {
      stopped = false;
    },

    /** Clears every timer and schedules no more until `start`. */
    stop(): void {
      stopped = true;
      for (const callId of [...timers.keys()]) clear(callId);
    },
  };
}

export type CallTimers = ReturnType<typeof createCallTimers>;
