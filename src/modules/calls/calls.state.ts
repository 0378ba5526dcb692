import { type CallMedia, type CallOutcome, type CallStateName, FINAL_CALL_STATES } from '../../contract/calls.js';
import type { Cache } from '../../platform/cache/cache.js';
import { AppError } from '../../shared/errors.js';

/** One party's device in the call. `socketId` null while it is away, until `graceUntil`. */
export interface Device {
  socketId: string | null;
  sessionId: string;
  nodeId: string;
  graceUntil: number | null;
}

/** A call as kept in the shared cache: every process reads and moves it with compare-and-set. */
export interface CallState {
  id: string;
  callerId: string;
  calleeId: string;
  media: CallMedia;
  state: CallStateName;
  startedAt: number;
  ringUntil: number;
  answeredAt: number | null;
  endedAt: number | null;
  endedBy: string | null;
  endReason: string | null;
  caller: Device;
  /** Set when a device of the callee accepts. */
  callee: Device | null;
}

export type Side = 'caller' | 'callee';

const callKey = (callId: string) => `call:${callId}`;
const userCallKey = (userId: string) => `call:user:${userId}`;
const ACTIVE_CALLS = 'call:active';
/** A finished call stays readable this long, so late actions get CONFLICT rather than NOT_FOUND. */
const FINISHED_TTL_MS = 60_000;

export const isFinal = (state: CallStateName): state is CallOutcome => FINAL_CALL_STATES.includes(state);

export function sideOf(call: CallState, userId: string): Side | undefined {
  if (call.callerId === userId) return 'caller';
  if (call.calleeId === userId) return 'callee';
  return undefined;
}

/** Seconds between answer and end; 0 for a call that was never answered. */
export const durationOf = (call: { answeredAt: number | null; endedAt: number | null }) =>
  call.answeredAt !== null && call.endedAt !== null ? Math.max(0, Math.round((Number(call.endedAt) - Number(call.answeredAt)) / 1000)) : 0;

/**
 * Live calls in the shared cache: each call's state, each user's "in a call" slot and the set of
 * calls still going on. Every move is a compare-and-set, so any process may handle any event of any
 * call and each transition happens exactly once.
 */
export function createCallStore(cache: Cache) {
  async function load(callId: string): Promise<{ raw: string; call: CallState } | undefined> {
    const raw = await cache.get(callKey(callId));
    return raw === null ? undefined : { raw, call: JSON.parse(raw) as CallState };
  }

  return {
    load,

    /** Writes a new call's state; it must exist before a user's slot points at it (a slot without a state is reclaimable). */
    async create(call: CallState): Promise<void> {
      await cache.set(callKey(call.id), JSON.stringify(call));
    },

    async remove(callId: string): Promise<void> {
      await cache.del(callKey(callId));
    },

    /**
     * Moves a call with compare-and-set, retrying when another process moved it first. `change`
     * returns the next state, or the same object to leave it as is; it may throw to refuse.
     */
    async transition(callId: string, change: (call: CallState) => CallState): Promise<{ before: CallState; after: CallState; changed: boolean }> {
      for (let attempt = 0; attempt < 20; attempt++) {
        const current = await load(callId);
        if (!current) throw new AppError('NOT_FOUND', 'call not found');
        const next = change(current.call);
        if (next === current.call) return { before: current.call, after: next, changed: false };
        const ttl = isFinal(next.state) ? FINISHED_TTL_MS : undefined;
        if (await cache.compareAndSet(callKey(callId), current.raw, JSON.stringify(next), ttl)) return { before: current.call, after: next, changed: true };
      }
      throw new AppError('CONFLICT', 'the call changed too often; try again');
    },

    /** Takes the per-user "in a call" slot; a slot left by a call that is over (or gone) is reclaimed. */
    async claimUser(userId: string, callId: string): Promise<boolean> {
      for (let attempt = 0; attempt < 5; attempt++) {
        if (await cache.setIfAbsent(userCallKey(userId), callId)) return true;
        const holder = await cache.get(userCallKey(userId));
        if (holder === null) continue;
        if (holder === callId) return true;
        const held = await load(holder);
        if (held && !isFinal(held.call.state)) return false;
        await cache.compareAndSet(userCallKey(userId), holder, null);
      }
      return false;
    },

    async releaseUser(userId: string, callId: string): Promise<void> {
      await cache.compareAndSet(userCallKey(userId), callId, null);
    },

    /** The id of the call holding the user's slot, if any (it may be over: check its state). */
    callOf(userId: string): Promise<string | null> {
      return cache.get(userCallKey(userId));
    },

    /** The calls still going on, which the sweep looks at. */
    async markActive(callId: string): Promise<void> {
      await cache.setAdd(ACTIVE_CALLS, callId);
    },

    async markInactive(callId: string): Promise<void> {
      await cache.setRemove(ACTIVE_CALLS, callId);
    },

    activeIds(): Promise<string[]> {
      return cache.setMembers(ACTIVE_CALLS);
    },
  };
}

export type CallStore = ReturnType<typeof createCallStore>;
