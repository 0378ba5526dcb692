/** Runs at most `max` tasks at once; the others wait in arrival order. */
export function createLimiter(max: number) {
  let running = 0;
  const waiting: Array<() => void> = [];
  return async function limit<T>(work: () => Promise<T>): Promise<T> {
    if (running >= max) await new Promise<void>((resolve) => waiting.push(resolve));
    else running += 1;
    try {
      return await work();
    } finally {
      // The slot passes straight to the next waiter, so `running` never dips below the real count.
      const next = waiting.shift();
      if (next) next();
      else running -= 1;
    }
  };
}

/**
 * Image decodes (avatars, thumbnails) share two slots per process: each may hold ~160 MB of
 * pixels, so more at once would let a burst of uploads exhaust memory.
 */
export const imageDecodeSlot = createLimiter(2);

/**
 * ffmpeg runs (video poster frames) share two slots per process: each is a whole decoder process,
 * so a burst of video uploads would otherwise start one per upload.
 */
export const videoDecodeSlot = createLimiter(2);
