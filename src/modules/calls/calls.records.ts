import type { CallMedia, CallOutcome, CallRecord, CallStateName } from '../../contract/calls.js';
import type { Logger } from '../../platform/logger.js';
import type { Actor } from '../../shared/actor.js';
import { AppError } from '../../shared/errors.js';
import { decodeTimeIdCursor, encodeTimeIdCursor, type Page } from '../../shared/pagination.js';
import { isoOrNull as iso } from '../../shared/time.js';
import type { AccessPolicy } from '../policy/index.js';
import { toUser, type UsersRepository } from '../users/index.js';
import type { CallMessages } from './calls.messages.js';
import type { CallRow, CallsRepository } from './calls.repository.js';
import { type CallState, durationOf } from './calls.state.js';

export interface CallRecordsDeps {
  calls: CallsRepository;
  users: UsersRepository;
  messages: CallMessages;
  /** Whose call record is whose (the policy module). */
  policy: Pick<AccessPolicy, 'isCallParty'>;
  logger: Logger;
}

/** A call that reached its final state, as its record needs it. */
export type FinishedCall = Pick<CallState, 'id' | 'callerId' | 'calleeId' | 'media' | 'answeredAt' | 'endedAt' | 'endedBy' | 'endReason'> & { state: CallOutcome };

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

/** Call records in the database: opened when a call starts, completed once, read by its parties. */
export function createCallRecords(deps: CallRecordsDeps) {
  const { calls, users, messages, logger } = deps;
  return {
    /** The record of a call that starts ringing (or is refused at once). */
    async open(call: Pick<CallState, 'id' | 'callerId' | 'calleeId' | 'media'>, startedAt: number): Promise<void> {
      await calls.insert({
        id: call.id,
        caller_id: call.callerId,
        callee_id: call.calleeId,
        media: call.media,
        state: 'ringing',
        end_reason: null,
        ended_by: null,
        started_at: startedAt,
        answered_at: null,
        ended_at: null,
        duration_sec: null,
        message_id: null,
      });
    },

    markAccepted(callId: string, answeredAt: number): Promise<void> {
      return calls.markAccepted(callId, answeredAt);
    },

    /** Completes the call's record and leaves the `call` message in the private conversation. */
    async complete(call: FinishedCall): Promise<void> {
      const durationSec = durationOf(call);
      let messageId: number | null = null;
      try {
        messageId = Number((await messages.leave({ ...call, durationSec })).id);
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
    },

    /** Records still ringing or accepted that started before `startedBefore` (their process may be gone). */
    unfinished(startedBefore: number): Promise<CallRow[]> {
      return calls.unfinished(startedBefore);
    },

    /** The user's call history, newest first. */
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

    /** One call of the user's; anyone else's is NOT_FOUND. */
    async get(actor: Actor, callId: string): Promise<CallRecord> {
      const row = await calls.find(callId);
      if (!row || !deps.policy.isCallParty(actor.userId, row)) throw new AppError('NOT_FOUND', 'call not found');
      const peer = await users.findById(row.caller_id === actor.userId ? row.callee_id : row.caller_id);
      return toRecord(row, actor.userId, peer ? toUser(peer) : null);
    },
  };
}

export type CallRecords = ReturnType<typeof createCallRecords>;
