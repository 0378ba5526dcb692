/** Time source, passed to services so jobs and expiries can be driven by tests. */
export interface Clock {
  now(): Date;
}

export const systemClock: Clock = { now: () => new Date() };
