import { describe, expect, it } from 'vitest';
import { createKeyedQueue } from '../../src/shared/keyed-queue.js';

/** A promise the test settles by hand, so the order of events is chosen, not timed. */
function deferred<T = void>() {
  let resolve!: (value: T) => void;
  let reject!: (error: unknown) => void;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

describe('keyed queue', () => {
  it('runs tasks of one key one after another in queue order, and other keys alongside', async () => {
    const run = createKeyedQueue();
    const log: string[] = [];
    const first = deferred();
    const a1 = run('a', async () => {
      log.push('a1 start');
      await first.promise;
      log.push('a1 end');
    });
    const a2 = run('a', async () => void log.push('a2'));
    const b1 = run('b', async () => void log.push('b1'));
    await b1;
    // b ran while a1 was still holding key a; a2 waited behind a1.
    expect(log).toEqual(['a1 start', 'b1']);
    first.resolve();
    await Promise.all([a1, a2]);
    expect(log).toEqual(['a1 start', 'b1', 'a1 end', 'a2']);
  });

  it("hands a failed task's error to its caller and still runs the tasks behind it", async () => {
    const run = createKeyedQueue();
    const failing = run('k', async () => {
      throw new Error('boom');
    });
    const after = run('k', async () => 'ran');
    await expect(failing).rejects.toThrow('boom');
    await expect(after).resolves.toBe('ran');
  });

  it("returns each task's own result", async () => {
    const run = createKeyedQueue();
    const results = await Promise.all([1, 2, 3].map((n) => run('same', async () => n * 10)));
    expect(results).toEqual([10, 20, 30]);
  });
});
