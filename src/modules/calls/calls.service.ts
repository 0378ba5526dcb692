import type { Static } from 'typebox';
import {
  type CallActionResult,
  type CallMedia,
  type CallOutcome,
  type CallRequestPayload,
  type CallRequestResult,
  type CallStateEvent,
  type CallStateName,
  type CallSummary,
  FINAL_CALL_STATES,
  type IceCandidate,
} from '../../contract/calls.js';
import type { Cache } from '../../platform/cache/cache.js';
import type { Logger } from '../../platform/logger.js';
import type { Publisher } from '../../platform/realtime/publisher.js';
import type { Actor } from '../../shared/actor.js';
import type { Clock } from '../../shared/clock.js';
import { AppError } from '../../shared/errors.js';
import { newId } from '../../shared/ids.js';
import { decodeTimeIdCursor, encodeTimeIdCursor, type Page } from '../../shared/pagination.js';
import type { Policy } from '../policy/index.js';
import { encodeCallContent, type MessagingService, privateConversationId } from '../messaging/index.js';
import { toUser, type UsersRepository } from '../users/index.js';
import type { CallRow, CallsRepository } from './calls.repository.js';
import type { CallRecord, IceServers } from './calls.schemas.js';
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
  policy: Pick<Policy, 'requireContact' | 'areFriends'>;
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
  /** How often this process looks for calls whose deadline passed on a process that went away (ms). */
  sweepIntervalMs?: number;
}

/** The socket an action comes from: calls are bound to one device (socket) per party. */
export interface DeviceRef {
  socketId: string;
  sessionId: string;
}

/** One party's device in the call. `socketId` null while it is away, until `graceUntil`. */
interface Device {
  socketId: string | null;
  sessionId: string;
  nodeId: string;
  graceUntil: number | null;
}

/** A call as kept in the shared cache: every process reads and moves it with compare-and-set. */
interface CallState {
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

type Side = 'caller' | 'callee';

const callKey = (callId: string) => `call:${callId}`;
const userCallKey = (userId: string) => `call:user:${userId}`;
const ACTIVE_CALLS = 'call:active';
const callerRateKey = (userId: string) => `call:rate:from:${userId}`;
const calleeRateKey = (userId: string) => `call:rate:to:${userId}`;
const RATE_WINDOW_MS = 60_000;
/** The current fold of unanswered calls from one caller to one callee, and how many it holds. */
const foldKey = (callerId: string, calleeId: string) => `call:fold:${callerId}:${calleeId}`;
const foldCountKey = (firstCallId: string) => `call:fold:count:${firstCallId}`;
/** Calls nobody answered: from the callee's side each is a missed call, so repeats fold into one message. */
const FOLDED_STATES: readonly CallStateName[] = ['missed', 'cancelled'];

interface Fold {
  /** The first call of the fold: its `call:<id>` clientMsgId names the shared message. */
  firstCallId: string;
  messageId: string | null;
}
/** A finished call stays readable this long, so late actions get CONFLICT rather than NOT_FOUND. */
const FINISHED_TTL_MS = 60_000;
const isFinal = (state: CallStateName) => FINAL_CALL_STATES.includes(state);
const iso = (ms: number | null) => (ms === null ? null : new Date(Number(ms)).toISOString());

/**
 * One-to-one calls: the state machine (ringing → accepted → ended, or rejected, cancelled, missed,
 * busy), multi-device ringing, signaling relay between the two devices in the call, reconnect
 * grace, records and `call` messages. The state lives in the shared cache and every move is a
 * compare-and-set, so any process may handle any event of any call, and each transition (with its
 * record and message) happens exactly once.
 */
export function createCallsService(deps: CallsServiceDeps) {
  const { calls, users, policy, messaging, presence, publisher, cache, clock, config, logger } = deps;
  const ringMs = config.ringTimeoutSec * 1000;
  const graceMs = config.reconnectGraceSec * 1000;
  const foldMs = config.missedFoldWindowSec * 1000;
  const now = () => clock.now().getTime();
  /** Local timers per call (ring timeout, reconnect grace); the sweep covers those of dead processes. */
  const timers = new Map<string, Set<NodeJS.Timeout>>();
  /** Call devices connected to this process, handed over (marked away) when it stops. */
  const localDevices = new Map<string, { callId: string; side: Side }>();
  let sweeper: NodeJS.Timeout | undefined;
  let recoverer: NodeJS.Timeout | undefined;
  let stopped = false;

  function schedule(callId: string, delayMs: number, task: () => Promise<unknown>): void {
    if (stopped) return;
    const set = timers.get(callId) ?? new Set<NodeJS.Timeout>();
    timers.set(callId, set);
    const timer = setTimeout(() => {
      set.delete(timer);
      if (set.size === 0) timers.delete(callId);
      task().catch((error: unknown) => logger.error({ err: error, callId }, 'call timer failed'));
    }, Math.max(0, delayMs));
    timer.unref();
    set.add(timer);
  }

  function clearTimers(callId: string): void {
    for (const timer of timers.get(callId) ?? []) clearTimeout(timer);
    timers.delete(callId);
  }

  async function load(callId: string): Promise<{ raw: string; call: CallState } | undefined> {
    const raw = await cache.get(callKey(callId));
    return raw === null ? undefined : { raw, call: JSON.parse(raw) as CallState };
  }

  function sideOf(call: CallState, userId: string): Side | undefined {
    if (call.callerId === userId) return 'caller';
    if (call.calleeId === userId) return 'callee';
    return undefined;
  }

  function requireSide(call: CallState, actor: Actor): Side {
    const side = sideOf(call, actor.userId);
    if (!side) throw new AppError('NOT_FOUND', 'call not found');
    return side;
  }

  function requireOpen(call: CallState): void {
    if (isFinal(call.state)) throw new AppError('CONFLICT', `the call is over (${call.state})`);
  }

  /**
   * Moves a call with compare-and-set, retrying when another process moved it first. `change`
   * returns the next state, or the same object to leave it as is; it may throw to refuse.
   */
  async function transition(callId: string, change: (call: CallState) => CallState): Promise<{ before: CallState; after: CallState; changed: boolean }> {
    for (let attempt = 0; attempt < 20; attempt++) {
      const current = await load(callId);
      if (!current) throw new AppError('NOT_FOUND', 'call not found');
      const next = change(current.call);
      if (next === current.call) return { before: current.call, after: next, changed: false };
      const ttl = isFinal(next.state) ? FINISHED_TTL_MS : undefined;
      if (await cache.compareAndSet(callKey(callId), current.raw, JSON.stringify(next), ttl)) return { before: current.call, after: next, changed: true };
    }
    throw new AppError('CONFLICT', 'the call changed too often; try again');
  }

  /** Takes the per-user "in a call" slot; a slot left by a call that is over (or gone) is reclaimed. */
  async function claimUser(userId: string, callId: string): Promise<boolean> {
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
  }

  async function releaseUser(userId: string, callId: string): Promise<void> {
    await cache.compareAndSet(userCallKey(userId), callId, null);
  }

  function stateEvent(call: CallState, extra: Partial<CallStateEvent> = {}): CallStateEvent {
    const event: CallStateEvent = { callId: call.id, state: call.state };
    if (call.endedBy) event.by = call.endedBy;
    if (call.endReason) event.reason = call.endReason;
    if (call.state === 'ended') event.durationSec = durationOf(call);
    return { ...event, ...extra };
  }

  const durationOf = (call: { answeredAt: number | null; endedAt: number | null }) =>
    call.answeredAt !== null && call.endedAt !== null ? Math.max(0, Math.round((Number(call.endedAt) - Number(call.answeredAt)) / 1000)) : 0;

  /**
   * Side effects of reaching a final state, run once by the process whose compare-and-set won: the
   * parties are freed, the record and the `call` message written, then both parties' devices hear
   * it (so a client reading history on `call_state` finds the call there).
   */
  async function finished(call: CallState): Promise<void> {
    clearTimers(call.id);
    for (const [socketId, device] of localDevices) if (device.callId === call.id) localDevices.delete(socketId);
    logger.info({ callId: call.id, state: call.state, reason: call.endReason, durationSec: durationOf(call) }, 'call finished');
    try {
      await Promise.all([releaseUser(call.callerId, call.id), releaseUser(call.calleeId, call.id), cache.setRemove(ACTIVE_CALLS, call.id)]);
      await record(call);
    } finally {
      publisher.toUsers([call.callerId, call.calleeId], 'call_state', stateEvent(call));
    }
  }

  /** Completes the call's record and leaves the `call` message in the private conversation. */
  async function record(call: Pick<CallState, 'id' | 'callerId' | 'calleeId' | 'media' | 'state' | 'answeredAt' | 'endedAt' | 'endedBy' | 'endReason'>): Promise<void> {
    const durationSec = durationOf(call);
    let messageId: number | null = null;
    try {
      const message =
        foldMs > 0 && FOLDED_STATES.includes(call.state)
          ? await postFolded(call)
          : await messaging.postAs(call.callerId, privateConversationId(call.callerId, call.calleeId), {
              type: 'call',
              content: encodeCallContent({ callId: call.id, state: call.state as CallOutcome, media: call.media, durationSec, count: 1 }),
              clientMsgId: `call:${call.id}`,
            });
      messageId = Number(message.id);
    } catch (error) {
      logger.warn({ err: error, callId: call.id }, 'call message could not be written');
    }
    await calls.update(call.id, {
      state: call.state,
      answered_at: call.answeredAt,
      ended_at: call.endedAt,
      ended_by: call.endedBy,
      end_reason: call.endReason,
      duration_sec: durationSec,
      message_id: messageId,
    });
  }

  /** Whether the message is still the last, unrecalled one of the conversation (nothing was said since). */
  async function isLastMessage(callerId: string, conversationId: string, messageId: string): Promise<boolean> {
    const { lastMessage } = await messaging.describe({ userId: callerId, sessionId: 'server', isGuest: false }, conversationId);
    return lastMessage?.id === messageId && lastMessage.recalledAt === null;
  }

  /**
   * Leaves an unanswered call in the conversation without flooding it: while the fold's message is
   * still the last one and its first call is younger than the fold window, the call is counted into
   * that message (its `call.count`, sent as `message_updated`) instead of adding one. The fold
   * lives in the shared cache; concurrent calls agree on its message through the clientMsgId dedupe
   * (`call:<first call id>`), and each writer rewrites the content until it matches the count it
   * reads after its write, so the last writer leaves the final count.
   */
  async function postFolded(call: Pick<CallState, 'id' | 'callerId' | 'calleeId' | 'media' | 'state'>) {
    const conversationId = privateConversationId(call.callerId, call.calleeId);
    const key = foldKey(call.callerId, call.calleeId);
    for (let attempt = 0; attempt < 10; attempt++) {
      const raw = await cache.get(key);
      let fold: Fold = { firstCallId: call.id, messageId: null };
      if (raw === null) {
        if (!(await cache.setIfAbsent(key, JSON.stringify(fold), foldMs))) continue;
      } else {
        const current = JSON.parse(raw) as Fold;
        if (current.messageId !== null && !(await isLastMessage(call.callerId, conversationId, current.messageId))) {
          // Something was said since: this call starts a new fold (a new message at the bottom).
          if (!(await cache.compareAndSet(key, raw, JSON.stringify(fold), foldMs))) continue;
        } else {
          fold = current;
        }
      }
      const countKey = foldCountKey(fold.firstCallId);
      const { count } = await cache.incr(countKey, foldMs);
      const summary = (total: number): CallSummary => ({
        callId: fold.firstCallId,
        // From the callee's side every unanswered call is a missed one; a single one keeps its own state.
        state: total > 1 ? 'missed' : (call.state as CallOutcome),
        media: call.media,
        durationSec: 0,
        count: total,
      });
      let message = await messaging.postAs(call.callerId, conversationId, {
        type: 'call',
        content: encodeCallContent(summary(count)),
        clientMsgId: `call:${fold.firstCallId}`,
      });
      if (fold.messageId === null) {
        const left = await cache.ttl(key);
        await cache.compareAndSet(key, JSON.stringify(fold), JSON.stringify({ ...fold, messageId: message.id }), left > 0 ? left : foldMs);
      }
      for (let round = 0; round < 10; round++) {
        const total = Math.max(Number((await cache.get(countKey)) ?? count), count);
        if (message.call?.count === total) break;
        message = await messaging.updateServerMessage(message.id, encodeCallContent(summary(total)));
      }
      return message;
    }
    throw new AppError('CONFLICT', 'the missed-call message changed too often');
  }

  /** Ends a call that is not over yet; the winner of the race runs `finished`. */
  async function finish(callId: string, change: (call: CallState) => CallState): Promise<CallState> {
    const { after, changed } = await transition(callId, change);
    if (changed && isFinal(after.state)) await finished(after);
    return after;
  }

  const ended = (call: CallState, state: CallStateName, by: string | null, reason: string): CallState => ({
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
    const { after, changed } = await transition(callId, (call) => {
      const device = call[side];
      if (isFinal(call.state) || !device || device.socketId !== socketId) return call;
      return { ...call, [side]: { ...device, socketId: null, graceUntil: now() + graceMs } };
    });
    if (!changed) return;
    const userId = side === 'caller' ? after.callerId : after.calleeId;
    publisher.toUsers([after.callerId, after.calleeId], 'call_peer', { callId, userId, connection: 'lost' });
    schedule(callId, graceMs, () => graceTimeout(callId, side));
  }

  /** Looks at every live call: deadlines that passed without their timer (its process died), dead devices. */
  async function sweep(): Promise<void> {
    const ids = await cache.setMembers(ACTIVE_CALLS);
    const t = now();
    for (const callId of ids) {
      const current = await load(callId);
      if (!current || isFinal(current.call.state)) {
        await cache.setRemove(ACTIVE_CALLS, callId);
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

  function toRecord(row: CallRow, viewerId: string, peer: CallRecord['peer']): CallRecord {
    return {
      id: row.id,
      callerId: row.caller_id,
      calleeId: row.callee_id,
      peer,
      direction: row.caller_id === viewerId ? 'outgoing' : 'incoming',
      media: row.media as CallMedia,
      state: row.state as CallStateName,
      endReason: row.end_reason,
      endedBy: row.ended_by,
      startedAt: iso(Number(row.started_at)) as string,
      answeredAt: iso(row.answered_at),
      endedAt: iso(row.ended_at),
      durationSec: Number(row.duration_sec ?? 0),
      messageId: row.message_id === null ? null : String(row.message_id),
    };
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
      if (!(await claimUser(actor.userId, callId))) throw new AppError('CONFLICT', 'you are already in a call');
      const row: CallRow = {
        id: callId,
        caller_id: call.callerId,
        callee_id: call.calleeId,
        media: call.media,
        state: 'ringing',
        end_reason: null,
        ended_by: null,
        started_at: t,
        answered_at: null,
        ended_at: null,
        duration_sec: null,
        message_id: null,
      };

      // Refused at once: nobody to ring (offline) or the callee is in another call (busy).
      const refuse = async (state: 'missed' | 'busy', reason: string): Promise<CallRequestResult> => {
        const over: CallState = { ...call, state, endedAt: t, endReason: reason };
        logger.info({ callId, state, reason }, 'call refused');
        try {
          await record(over);
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
          await releaseUser(actor.userId, callId);
          await calls.insert(row);
          return await refuse('missed', 'offline');
        }
        await calls.insert(row);
        // The state exists before the callee's slot points at it: a slot without a state is reclaimable.
        await cache.set(callKey(callId), JSON.stringify(call));
        if (!(await claimUser(call.calleeId, callId))) {
          await cache.del(callKey(callId));
          await releaseUser(actor.userId, callId);
          return await refuse('busy', 'busy');
        }
      } catch (error) {
        await releaseUser(actor.userId, callId).catch(() => {});
        throw error;
      }
      await cache.setAdd(ACTIVE_CALLS, callId);
      localDevices.set(device.socketId, { callId, side: 'caller' });
      const caller = await users.findById(actor.userId);
      const from = caller
        ? { id: caller.id, username: caller.username, nickname: caller.nickname, avatarUrl: caller.avatar_url, isGuest: Boolean(caller.is_guest) }
        : { id: actor.userId, username: '', nickname: '', avatarUrl: null, isGuest: actor.isGuest };
      publisher.toUsers([call.calleeId], 'call_request', { callId, from, media: call.media, startedAt: iso(t) as string });
      publisher.toUsers([call.callerId, call.calleeId], 'call_state', stateEvent(call, { callerId: call.callerId, calleeId: call.calleeId, media: call.media }));
      logger.info({ callId, media: call.media }, 'call ringing');
      schedule(callId, ringMs, () => ringTimeout(callId));
      return { callId, state: 'ringing' };
    },

    /** The callee answers on this device; the first device wins, the others hear `answered_elsewhere`. */
    async accept(actor: Actor, device: DeviceRef, callId: string): Promise<CallActionResult> {
      const t = now();
      const { after, changed } = await transition(callId, (call) => {
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
        clearTimers(callId);
        localDevices.set(device.socketId, { callId, side: 'callee' });
        publisher.toUsers([after.calleeId], 'call_state', { callId, state: 'answered_elsewhere', by: after.calleeId }, { exceptSocketId: device.socketId });
        publisher.toUsers([after.callerId, after.calleeId], 'call_state', { callId, state: 'accepted', by: after.calleeId });
        logger.info({ callId }, 'call accepted');
        await calls.markAccepted(callId, t);
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
        if (call.state === 'ringing') return side === 'caller' ? ended(call, 'cancelled', actor.userId, reason ?? 'cancelled') : ended(call, 'rejected', actor.userId, reason ?? 'declined');
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
      const current = await load(callId);
      if (!current) throw new AppError('NOT_FOUND', 'call not found');
      const { call } = current;
      const side = requireSide(call, actor);
      requireOpen(call);
      if (call.state !== 'accepted') throw new AppError('CONFLICT', 'the call has not been accepted yet');
      if (call[side]?.socketId !== socketId) throw new AppError('FORBIDDEN', 'this device is not the one in the call');
      const other = call[side === 'caller' ? 'callee' : 'caller'];
      if (!other?.socketId) throw new AppError('CONFLICT', 'the other party is reconnecting; send again once it is back (call_peer resumed)');
      if (event === 'ice_candidate') publisher.toSockets([other.socketId], 'ice_candidate', { callId, candidate: (body as { candidate: IceCandidate }).candidate, from: actor.userId });
      else publisher.toSockets([other.socketId], event, { callId, sdp: (body as { sdp: string }).sdp, from: actor.userId });
    },

    /**
     * A socket of the user connected: it rings if their call is ringing for them, and it takes the
     * call over if it is the same session (device) as the one in the call, ending the grace.
     */
    async socketConnected(actor: Actor, socketId: string): Promise<void> {
      const callId = await cache.get(userCallKey(actor.userId));
      if (callId === null) return;
      const current = await load(callId);
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
            startedAt: iso(call.startedAt) as string,
          });
        }
        return;
      }
      if (call[side]?.sessionId !== actor.sessionId) return;
      const { after, changed } = await transition(callId, (latest) => {
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
      const callId = await cache.get(userCallKey(actor.userId));
      if (callId === null) return;
      const current = await load(callId);
      if (!current || isFinal(current.call.state)) return;
      const side = sideOf(current.call, actor.userId);
      if (!side || current.call[side]?.socketId !== socketId) return;
      await deviceLost(callId, side, socketId);
    },

    /** The caller's call history, newest first. */
    async history(actor: Actor, cursor: string | undefined, limit: number): Promise<Page<CallRecord>> {
      const position = decodeTimeIdCursor(cursor);
      const rows = await calls.page(actor.userId, position ? { startedAt: position.at, id: position.id } : undefined, limit + 1);
      const page = rows.slice(0, limit);
      const peerIds = [...new Set(page.map((row) => (row.caller_id === actor.userId ? row.callee_id : row.caller_id)))];
      const peers = new Map((await users.findByIds(peerIds)).map((user) => [user.id, toUser(user)]));
      const items = page.map((row) => toRecord(row, actor.userId, peers.get(row.caller_id === actor.userId ? row.callee_id : row.caller_id) ?? null));
      const last = page.at(-1);
      return { items, nextCursor: rows.length > limit && last ? encodeTimeIdCursor({ at: Number(last.started_at), id: last.id }) : null };
    },

    /** One call of the caller's. */
    async get(actor: Actor, callId: string): Promise<CallRecord> {
      const row = await calls.find(callId);
      if (!row || (row.caller_id !== actor.userId && row.callee_id !== actor.userId)) throw new AppError('NOT_FOUND', 'call not found');
      const peer = await users.findById(row.caller_id === actor.userId ? row.callee_id : row.caller_id);
      return toRecord(row, actor.userId, peer ? toUser(peer) : null);
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
      const rows = await calls.unfinished(now() - 5000);
      let closed = 0;
      for (const row of rows) {
        const current = await load(row.id);
        if (current && !isFinal(current.call.state)) continue;
        const over = current?.call;
        const t = now();
        await record({
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
      stopped = false;
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
      stopped = true;
      if (sweeper) clearInterval(sweeper);
      if (recoverer) clearInterval(recoverer);
      for (const callId of [...timers.keys()]) clearTimers(callId);
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
