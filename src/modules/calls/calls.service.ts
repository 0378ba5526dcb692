import type { Static } from 'typebox';
import type { CallActionResult, CallMedia, CallOutcome, CallRequestPayload, CallRequestResult, CallStateEvent, IceCandidate } from '../../contract/calls.js';
import type { Cache } from '../../platform/cache/cache.js';
import type { Logger } from '../../platform/logger.js';
import type { Publisher } from '../../platform/realtime/publisher.js';
import type { Actor } from '../../shared/actor.js';
import type { Clock } from '../../shared/clock.js';
import { AppError } from '../../shared/errors.js';
import { newId } from '../../shared/ids.js';
import type { Page } from '../../shared/pagination.js';
import type { MessagingService } from '../messaging/index.js';
import type { Policy } from '../policy/index.js';
import { toUser, type UsersRepository } from '../users/index.js';
import { createCallMessages } from './calls.messages.js';
import { createCallRecords, type FinishedCall } from './calls.records.js';
import type { CallsRepository } from './calls.repository.js';
import type { CallRecord, IceServers } from './calls.schemas.js';
import { type CallState, createCallStore, durationOf, isFinal, type Side, sideOf } from './calls.state.js';
import { createCallTimers } from './calls.timers.js';
import { turnCredential } from './turn.js';

export interface CallsConfig {
  ringTimeoutSec: number;
  reconnectGraceSec: number;
  stunUrls: string[];
  turn?: { urls: string[]; secret: string; ttlSec: number };
  credentialTtlSec: number;
  /** Calls a user may place per minute, and receive per minute from everyone together. */
  perCallerPerMinute: number;
  perCalleePerMinute: number;
  /** Unanswered calls from the same caller within this many seconds share one `call` message (0: never). */
  missedFoldWindowSec: number;
}

export interface CallsServiceDeps {
  calls: CallsRepository;
  users: UsersRepository;
  /** Who may call whom (blocks, friends-only): the same rules as messages. */
  policy: Pick<Policy, 'requireContact' | 'areFriends' | 'isCallParty'>;
  messaging: Pick<MessagingService, 'postAs' | 'updateServerMessage' | 'describe'>;
  /**
   * This process's id, whether another process is alive (its presence heartbeat), and whether a
   * user chose to look offline (a call to them must look like a call to an offline user).
   */
  presence: { nodeId: string; isNodeAlive(nodeId: string): Promise<boolean>; isInvisible(userId: string): Promise<boolean> };
  publisher: Publisher;
  cache: Cache;
  clock: Clock;
  config: CallsConfig;
  logger: Logger;
  /**
   * The callee had no socket open anywhere, so nothing rang (the call is recorded as missed): Web
   * Push tells their devices. Called after the refusal, never awaited.
   */
  onUnreachable?(call: { callerId: string; calleeId: string; media: 'audio' | 'video' }): void;
  /** How often this process looks for calls whose deadline passed on a process that went away (ms). */
  sweepIntervalMs?: number;
}

/** The socket an action comes from: calls are bound to one device (socket) per party. */
export interface DeviceRef {
  socketId: string;
  sessionId: string;
}

const callerRateKey = (userId: string) => `call:rate:from:${userId}`;
const calleeRateKey = (userId: string) => `call:rate:to:${userId}`;
const RATE_WINDOW_MS = 60_000;

/**
 * One-to-one calls: the state machine (ringing → accepted → ended, or rejected, cancelled, missed,
 * busy), multi-device ringing, signaling relay between the two devices in the call, reconnect
 * grace, records and `call` messages. The state lives in the shared cache and every move is a
 * compare-and-set, so any process may handle any event of any call, and each transition (with its
 * record and message) happens exactly once.
 *
 * This file holds the use cases; the parts they stand on are the compare-and-set store
 * (`calls.state.ts`), this process's timers (`calls.timers.ts`), the records (`calls.records.ts`)
 * and the `call` messages with their folding (`calls.messages.ts`).
 */
export function createCallsService(deps: CallsServiceDeps) {
  const { calls, users, policy, messaging, presence, publisher, cache, clock, config, logger } = deps;
  const ringMs = config.ringTimeoutSec * 1000;
  const graceMs = config.reconnectGraceSec * 1000;
  const now = () => clock.now().getTime();
  const store = createCallStore(cache);
  const timers = createCallTimers(logger);
  const records = createCallRecords({ calls, users, logger, policy, messages: createCallMessages({ messaging, cache, missedFoldWindowSec: config.missedFoldWindowSec }) });
  /** Call devices connected to this process, handed over (marked away) when it stops. */
  const localDevices = new Map<string, { callId: string; side: Side }>();
  let sweeper: NodeJS.Timeout | undefined;
  let recoverer: NodeJS.Timeout | undefined;

  function requireSide(call: CallState, actor: Actor): Side {
    const side = sideOf(call, actor.userId);
    if (!side) throw new AppError('NOT_FOUND', 'call not found');
    return side;
  }

  function requireOpen(call: CallState): void {
    if (isFinal(call.state)) throw new AppError('CONFLICT', `the call is over (${call.state})`);
  }

  /** A call in its final state, as its record takes it. */
  function finalOf(call: CallState): FinishedCall {
    const { state } = call;
    if (!isFinal(state)) throw new AppError('CONFLICT', `the call is not over (${state})`);
    return { ...call, state };
  }

  function stateEvent(call: CallState, extra: Partial<CallStateEvent> = {}): CallStateEvent {
    const event: CallStateEvent = { callId: call.id, state: call.state };
    if (call.endedBy) event.by = call.endedBy;
    if (call.endReason) event.reason = call.endReason;
    if (call.state === 'ended') event.durationSec = durationOf(call);
    return { ...event, ...extra };
  }

  /**
   * Side effects of reaching a final state, run once by the process whose compare-and-set won: the
   * parties are freed, the record and the `call` message written, then both parties' devices hear
   * it (so a client reading history on `call_state` finds the call there).
   */
  async function finished(call: CallState): Promise<void> {
    timers.clear(call.id);
    for (const [socketId, device] of localDevices) if (device.callId === call.id) localDevices.delete(socketId);
    logger.info({ callId: call.id, state: call.state, reason: call.endReason, durationSec: durationOf(call) }, 'call finished');
    try {
      await Promise.all([store.releaseUser(call.callerId, call.id), store.releaseUser(call.calleeId, call.id), store.markInactive(call.id)]);
      await records.complete(finalOf(call));
    } finally {
      publisher.toUsers([call.callerId, call.calleeId], 'call_state', stateEvent(call));
    }
  }

  /** Ends a call that is not over yet; the winner of the race runs `finished`. */
  async function finish(callId: string, change: (call: CallState) => CallState): Promise<CallState> {
    const { after, changed } = await store.transition(callId, change);
    if (changed && isFinal(after.state)) await finished(after);
    return after;
  }

  const ended = (call: CallState, state: CallOutcome, by: string | null, reason: string): CallState => ({
    ...call,
    state,
    endedAt: now(),
    endedBy: by,
    endReason: reason,
  });

  /** The ring timeout: still ringing at the deadline is missed. */
  async function ringTimeout(callId: string): Promise<void> {
    await finish(callId, (call) => (call.state === 'ringing' && now() >= call.ringUntil - 5 ? ended(call, 'missed', null, 'timeout') : call)).catch((error: unknown) => {
      if (!(error instanceof AppError && error.code === 'NOT_FOUND')) throw error;
    });
  }

  /** The reconnect grace: a device still away at its deadline ends the call for both. */
  async function graceTimeout(callId: string, side: Side): Promise<void> {
    await finish(callId, (call) => {
      const device = call[side];
      if (isFinal(call.state) || !device || device.socketId !== null || device.graceUntil === null || now() < device.graceUntil - 5) return call;
      const by = side === 'caller' ? call.callerId : call.calleeId;
      return ended(call, call.state === 'ringing' ? 'cancelled' : 'ended', by, 'connection_lost');
    }).catch((error: unknown) => {
      if (!(error instanceof AppError && error.code === 'NOT_FOUND')) throw error;
    });
  }

  /** Marks a party's device as away (its socket closed, or its process died) and starts the grace. */
  async function deviceLost(callId: string, side: Side, socketId: string): Promise<void> {
    const { after, changed } = await store.transition(callId, (call) => {
      const device = call[side];
      if (isFinal(call.state) || !device || device.socketId !== socketId) return call;
      return { ...call, [side]: { ...device, socketId: null, graceUntil: now() + graceMs } };
    });
    if (!changed) return;
    const userId = side === 'caller' ? after.callerId : after.calleeId;
    publisher.toUsers([after.callerId, after.calleeId], 'call_peer', { callId, userId, connection: 'lost' });
    timers.schedule(callId, graceMs, () => graceTimeout(callId, side));
  }

  /** Looks at every live call: deadlines that passed without their timer (its process died), dead devices. */
  async function sweep(): Promise<void> {
    const ids = await store.activeIds();
    const t = now();
    for (const callId of ids) {
      const current = await store.load(callId);
      if (!current || isFinal(current.call.state)) {
        await store.markInactive(callId);
        continue;
      }
      const { call } = current;
      if (call.state === 'ringing' && t >= call.ringUntil) await ringTimeout(callId);
      for (const side of ['caller', 'callee'] as const) {
        const device = call[side];
        if (!device) continue;
        if (device.socketId === null && device.graceUntil !== null && t >= device.graceUntil) await graceTimeout(callId, side);
        else if (device.socketId !== null && device.nodeId !== presence.nodeId && !(await presence.isNodeAlive(device.nodeId))) {
          await deviceLost(callId, side, device.socketId);
        }
      }
    }
  }

  async function checkMayCall(actor: Actor, calleeId: string): Promise<void> {
    if (!(await users.findById(calleeId))) throw new AppError('NOT_FOUND', 'user not found');
    await policy.requireContact(actor.userId, calleeId, 'call');
    if (actor.isGuest && !(await policy.areFriends(actor.userId, calleeId))) throw new AppError('FORBIDDEN', 'guests may call their friends only');
  }

  /**
   * Counts one call against a per-minute budget in the shared cache (so it holds across processes);
   * over it the request is refused before anyone is rung or anything is written.
   */
  async function spend(key: string, max: number, message: string): Promise<void> {
    const { count, ttlMs } = await cache.incr(key, RATE_WINDOW_MS);
    if (count > max) {
      const retryAfterSec = Math.max(1, Math.ceil(ttlMs / 1000));
      // In details too: a socket ack carries no Retry-After header.
      throw new AppError('RATE_LIMITED', message, { retryAfterSec }, retryAfterSec);
    }
  }

  const service = {
    /** Places a call from the given device. */
    async request(actor: Actor, device: DeviceRef, input: CallRequestPayload): Promise<CallRequestResult> {
      // Every attempt counts, refused ones too: probing who may be called costs the same budget.
      await spend(callerRateKey(actor.userId), config.perCallerPerMinute, 'you are placing calls too fast; wait a little');
      const callId = newId();
      if (input.toUserId === actor.userId) {
        // Nobody to ring and no conversation to write into: the caller just hears busy.
        publisher.toUsers([actor.userId], 'call_state', { callId, state: 'busy', reason: 'self' });
        return { callId, state: 'busy' };
      }
      await checkMayCall(actor, input.toUserId);
      // Counted only once the caller may call them, so nobody uses up someone's budget with refused
      // calls; friends are not counted, so strangers flooding someone cannot keep their friends out.
      if (!(await policy.areFriends(actor.userId, input.toUserId))) {
        await spend(calleeRateKey(input.toUserId), config.perCalleePerMinute, 'this user is receiving too many calls; try again later');
      }
      const t = now();
      const call: CallState = {
        id: callId,
        callerId: actor.userId,
        calleeId: input.toUserId,
        media: input.media,
        state: 'ringing',
        startedAt: t,
        ringUntil: t + ringMs,
        answeredAt: null,
        endedAt: null,
        endedBy: null,
        endReason: null,
        caller: { socketId: device.socketId, sessionId: device.sessionId, nodeId: presence.nodeId, graceUntil: null },
        callee: null,
      };
      if (!(await store.claimUser(actor.userId, callId))) throw new AppError('CONFLICT', 'you are already in a call');

      // Refused at once: nobody to ring (offline) or the callee is in another call (busy).
      const refuse = async (state: 'missed' | 'busy', reason: string): Promise<CallRequestResult> => {
        const over: CallState = { ...call, state, endedAt: t, endReason: reason };
        logger.info({ callId, state, reason }, 'call refused');
        try {
          await records.complete(finalOf(over));
        } finally {
          publisher.toUsers([call.callerId, call.calleeId], 'call_state', stateEvent(over, { callerId: call.callerId, calleeId: call.calleeId, media: call.media }));
        }
        return { callId, state };
      };

      try {
        // An invisible callee is treated exactly as an offline one (not rung, missed at once, no
        // busy either): anything else would tell the caller they are online. They still get the
        // missed-call message live and can call back.
        // Both are read every time, so an invisible callee does not even take longer to answer for.
        const [sockets, invisible] = await Promise.all([publisher.socketsOf(call.calleeId), presence.isInvisible(call.calleeId)]);
        if (sockets.length === 0 || invisible) {
          await store.releaseUser(actor.userId, callId);
          await records.open(call, t);
          const refused = await refuse('missed', 'offline');
          if (sockets.length === 0) deps.onUnreachable?.({ callerId: call.callerId, calleeId: call.calleeId, media: call.media });
          return refused;
        }
        await records.open(call, t);
        // The state exists before the callee's slot points at it: a slot without a state is reclaimable.
        await store.create(call);
        if (!(await store.claimUser(call.calleeId, callId))) {
          await store.remove(callId);
          await store.releaseUser(actor.userId, callId);
          return await refuse('busy', 'busy');
        }
      } catch (error) {
        await store.releaseUser(actor.userId, callId).catch(() => {});
        throw error;
      }
      await store.markActive(callId);
      localDevices.set(device.socketId, { callId, side: 'caller' });
      const caller = await users.findById(actor.userId);
      const from = caller
        ? { id: caller.id, username: caller.username, nickname: caller.nickname, avatarUrl: caller.avatar_url, isGuest: Boolean(caller.is_guest) }
        : { id: actor.userId, username: '', nickname: '', avatarUrl: null, isGuest: actor.isGuest };
      publisher.toUsers([call.calleeId], 'call_request', { callId, from, media: call.media, startedAt: new Date(t).toISOString() });
      publisher.toUsers([call.callerId, call.calleeId], 'call_state', stateEvent(call, { callerId: call.callerId, calleeId: call.calleeId, media: call.media }));
      logger.info({ callId, media: call.media }, 'call ringing');
      timers.schedule(callId, ringMs, () => ringTimeout(callId));
      return { callId, state: 'ringing' };
    },

    /** The callee answers on this device; the first device wins, the others hear `answered_elsewhere`. */
    async accept(actor: Actor, device: DeviceRef, callId: string): Promise<CallActionResult> {
      const t = now();
      const { after, changed } = await store.transition(callId, (call) => {
        const side = requireSide(call, actor);
        if (side !== 'callee') throw new AppError('FORBIDDEN', 'only the callee can accept a call');
        if (call.state === 'accepted') {
          if (call.callee?.socketId === device.socketId) return call;
          throw new AppError('CONFLICT', 'the call was answered on another device');
        }
        requireOpen(call);
        return { ...call, state: 'accepted', answeredAt: t, callee: { socketId: device.socketId, sessionId: device.sessionId, nodeId: presence.nodeId, graceUntil: null } };
      });
      if (changed) {
        timers.clear(callId);
        localDevices.set(device.socketId, { callId, side: 'callee' });
        publisher.toUsers([after.calleeId], 'call_state', { callId, state: 'answered_elsewhere', by: after.calleeId }, { exceptSocketId: device.socketId });
        publisher.toUsers([after.callerId, after.calleeId], 'call_state', { callId, state: 'accepted', by: after.calleeId });
        logger.info({ callId }, 'call accepted');
        await records.markAccepted(callId, t);
      }
      return { callId, state: after.state };
    },

    /** The callee declines a ringing call (from any of their devices). */
    async reject(actor: Actor, callId: string, reason = 'declined'): Promise<CallActionResult> {
      const after = await finish(callId, (call) => {
        if (requireSide(call, actor) !== 'callee') throw new AppError('FORBIDDEN', 'only the callee can reject a call; the caller cancels');
        requireOpen(call);
        if (call.state !== 'ringing') throw new AppError('CONFLICT', 'the call is already accepted; hang up instead');
        return ended(call, 'rejected', actor.userId, reason);
      });
      return { callId, state: after.state };
    },

    /** The caller gives up while it rings. */
    async cancel(actor: Actor, callId: string, reason = 'cancelled'): Promise<CallActionResult> {
      const after = await finish(callId, (call) => {
        if (requireSide(call, actor) !== 'caller') throw new AppError('FORBIDDEN', 'only the caller can cancel a call; the callee rejects');
        requireOpen(call);
        if (call.state !== 'ringing') throw new AppError('CONFLICT', 'the call is already accepted; hang up instead');
        return ended(call, 'cancelled', actor.userId, reason);
      });
      return { callId, state: after.state };
    },

    /** Either party ends the call: `ended` once accepted; while ringing it cancels (caller) or rejects (callee). */
    async hangup(actor: Actor, callId: string, reason?: string): Promise<CallActionResult> {
      const after = await finish(callId, (call) => {
        const side = requireSide(call, actor);
        requireOpen(call);
        if (call.state === 'ringing')
          return side === 'caller' ? ended(call, 'cancelled', actor.userId, reason ?? 'cancelled') : ended(call, 'rejected', actor.userId, reason ?? 'declined');
        return ended(call, 'ended', actor.userId, reason ?? 'hangup');
      });
      return { callId, state: after.state };
    },

    /**
     * Relays an offer, answer or candidate from one device in an accepted call to the other one.
     * Nobody else ever receives it: not the parties' other devices, not a third user.
     */
    async relay(
      actor: Actor,
      socketId: string,
      callId: string,
      event: 'webrtc_offer' | 'webrtc_answer' | 'ice_candidate',
      body: { sdp: string } | { candidate: IceCandidate },
    ): Promise<void> {
      const current = await store.load(callId);
      if (!current) throw new AppError('NOT_FOUND', 'call not found');
      const { call } = current;
      const side = requireSide(call, actor);
      requireOpen(call);
      if (call.state !== 'accepted') throw new AppError('CONFLICT', 'the call has not been accepted yet');
      if (call[side]?.socketId !== socketId) throw new AppError('FORBIDDEN', 'this device is not the one in the call');
      const other = call[side === 'caller' ? 'callee' : 'caller'];
      if (!other?.socketId) throw new AppError('CONFLICT', 'the other party is reconnecting; send again once it is back (call_peer resumed)');
      if (event === 'ice_candidate')
        publisher.toSockets([other.socketId], 'ice_candidate', { callId, candidate: (body as { candidate: IceCandidate }).candidate, from: actor.userId });
      else publisher.toSockets([other.socketId], event, { callId, sdp: (body as { sdp: string }).sdp, from: actor.userId });
    },

    /**
     * A socket of the user connected: it rings if their call is ringing for them, and it takes the
     * call over if it is the same session (device) as the one in the call, ending the grace.
     */
    async socketConnected(actor: Actor, socketId: string): Promise<void> {
      const callId = await store.callOf(actor.userId);
      if (callId === null) return;
      const current = await store.load(callId);
      if (!current || isFinal(current.call.state)) return;
      const { call } = current;
      const side = sideOf(call, actor.userId);
      if (!side) return;
      if (side === 'callee' && call.state === 'ringing') {
        const caller = await users.findById(call.callerId);
        if (caller) {
          const user = toUser(caller);
          publisher.toSockets([socketId], 'call_request', {
            callId,
            from: { id: user.id, username: user.username, nickname: user.nickname, avatarUrl: user.avatarUrl, isGuest: user.isGuest },
            media: call.media,
            startedAt: new Date(call.startedAt).toISOString(),
          });
        }
        return;
      }
      if (call[side]?.sessionId !== actor.sessionId) return;
      const { after, changed } = await store.transition(callId, (latest) => {
        const device = latest[side];
        if (isFinal(latest.state) || !device || device.sessionId !== actor.sessionId || device.socketId === socketId) return latest;
        return { ...latest, [side]: { ...device, socketId, nodeId: presence.nodeId, graceUntil: null } };
      });
      if (!changed) return;
      localDevices.set(socketId, { callId, side });
      publisher.toUsers([after.callerId, after.calleeId], 'call_peer', { callId, userId: actor.userId, connection: 'resumed' });
      publisher.toSockets([socketId], 'call_state', stateEvent(after, { callerId: after.callerId, calleeId: after.calleeId, media: after.media }));
    },

    /** A socket of the user closed: if it was their call device, the reconnect grace starts. */
    async socketDisconnected(actor: Actor, socketId: string): Promise<void> {
      localDevices.delete(socketId);
      const callId = await store.callOf(actor.userId);
      if (callId === null) return;
      const current = await store.load(callId);
      if (!current || isFinal(current.call.state)) return;
      const side = sideOf(current.call, actor.userId);
      if (!side || current.call[side]?.socketId !== socketId) return;
      await deviceLost(callId, side, socketId);
    },

    /** The caller's call history, newest first. */
    history(actor: Actor, cursor: string | undefined, limit: number): Promise<Page<CallRecord>> {
      return records.history(actor, cursor, limit);
    },

    /** One call of the caller's. */
    get(actor: Actor, callId: string): Promise<CallRecord> {
      return records.get(actor, callId);
    },

    /** STUN servers, and TURN with a credential for this user that expires after the TTL. */
    iceServers(actor: Actor): Static<typeof IceServers> {
      const iceServers: Static<typeof IceServers>['iceServers'] = [];
      if (config.stunUrls.length > 0) iceServers.push({ urls: config.stunUrls });
      const ttl = config.turn?.ttlSec ?? config.credentialTtlSec;
      if (config.turn) {
        const expiresAtSec = Math.floor(now() / 1000) + config.turn.ttlSec;
        iceServers.push({ urls: config.turn.urls, ...turnCredential(config.turn.secret, actor.userId, expiresAtSec) });
      }
      return { iceServers, ttl };
    },

    /**
     * Closes records left ringing or accepted by processes that stopped without finishing them
     * (their state is gone from the cache, or already final there).
     */
    async recover(): Promise<number> {
      // Older than a few seconds: a row this young may belong to a call whose state is being written.
      const rows = await records.unfinished(now() - 5000);
      let closed = 0;
      for (const row of rows) {
        const current = await store.load(row.id);
        if (current && !isFinal(current.call.state)) continue;
        // Here the cached state is gone or final.
        const over = current && isFinal(current.call.state) ? { ...current.call, state: current.call.state } : undefined;
        const t = now();
        await records.complete({
          id: row.id,
          callerId: row.caller_id,
          calleeId: row.callee_id,
          media: row.media as CallMedia,
          state: over?.state ?? (row.state === 'accepted' ? 'ended' : 'missed'),
          answeredAt: row.answered_at === null ? null : Number(row.answered_at),
          endedAt: over?.endedAt ?? t,
          endedBy: over?.endedBy ?? null,
          endReason: over?.endReason ?? 'interrupted',
        });
        closed++;
      }
      return closed;
    },

    start(): void {
      timers.start();
      const interval = deps.sweepIntervalMs ?? 5000;
      sweeper = setInterval(() => {
        sweep().catch((error: unknown) => logger.warn({ err: error }, 'call sweep failed'));
      }, interval);
      sweeper.unref();
      // Records of calls whose state the cache lost (an in-memory cache restarted, Redis flushed).
      recoverer = setInterval(() => {
        service.recover().catch((error: unknown) => logger.warn({ err: error }, 'closing interrupted call records failed'));
      }, 60_000);
      recoverer.unref();
    },

    /**
     * Stops the timers and hands this process's call devices over: they are marked away in the
     * shared state, so another process ends their calls after the grace unless they reconnect there.
     */
    async stop(): Promise<void> {
      timers.stop();
      if (sweeper) clearInterval(sweeper);
      if (recoverer) clearInterval(recoverer);
      const devices = [...localDevices];
      localDevices.clear();
      for (const [socketId, { callId, side }] of devices) {
        await deviceLost(callId, side, socketId).catch((error: unknown) => {
          if (!(error instanceof AppError)) logger.warn({ err: error, callId }, 'handing a call device over failed');
        });
      }
    },

    /** Looks at every live call now (the timer does it every few seconds). */
    sweep,
  };
  return service;
}

export type CallsService = ReturnType<typeof createCallsService>;
