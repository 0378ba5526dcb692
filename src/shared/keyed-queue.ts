/**
 * Runs tasks that share a key one after another, in the order they were queued; tasks with
 * different keys run concurrently. A failed task does not stop the ones queued behind it.
 * Keys with nothing queued are forgotten, so the map holds only keys in use.
 */
export function createKeyedQueue() {
  const tails = new Map<string, Promise<unknown>>();
  return function run<T>(key: string, task: () => Promise<T>): Promise<T> {
    const next = (tails.get(key) ?? Promise.resolve()).then(task, task);
    const settled = next.catch(() => {});
    tails.set(key, settled);
    void settled.then(() => {
      if (tails.get(key) === settled) tails.delete(key);
    });
    return next;
  };
}
