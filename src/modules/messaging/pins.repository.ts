import type { Kysely } from 'kysely';
import { isUniqueViolation } from '../../platform/db/errors.js';
import { lockRowsById } from '../../platform/db/locks.js';
import type { Database } from '../../platform/db/schema.js';
import type { TimeIdPosition } from '../../shared/pagination.js';
import type { MessageRow } from './messaging.rows.js';

export interface PinRow {
  pinned_by: string;
  pinned_at: number;
}

export interface ForwardOrigin {
  origin_sender_id: string;
  origin_sender_name: string;
  origin_sent_at: number;
}

/** Pins and forward origins: what a message carries besides its own row. */
export function createPinsRepository(db: Kysely<Database>) {
  return {
    /**
     * Pins a message unless the conversation already holds `cap` pins. The count is made holding the
     * conversation's row (see lockRowsById): counted before the insert, pins sent together all found
     * the conversation one short of the cap and all went in.
     */
    async pin(messageId: number, conversationId: string, userId: string, now: number, cap: number): Promise<'pinned' | 'already-pinned' | 'limit-reached'> {
      try {
        return await db.transaction().execute(async (trx) => {
          await lockRowsById(trx, 'conversations', [conversationId]);
          const row = await trx
            .selectFrom('message_pins')
            .select((eb) => eb.fn.countAll<number>().as('n'))
            .where('conversation_id', '=', conversationId)
            .executeTakeFirst();
          if (Number(row?.n ?? 0) >= cap) return 'limit-reached';
          await trx.insertInto('message_pins').values({ message_id: messageId, conversation_id: conversationId, pinned_by: userId, pinned_at: now }).execute();
          return 'pinned';
        });
      } catch (error) {
        // Caught after the rollback (PostgreSQL refuses statements after a failed one): pinned meanwhile.
        if (isUniqueViolation(error)) return 'already-pinned';
        throw error;
      }
    },

    /** Unpins a message; false when it was not pinned. */
    async unpin(messageId: number): Promise<boolean> {
      const result = await db.deleteFrom('message_pins').where('message_id', '=', messageId).executeTakeFirst();
      return Number(result.numDeletedRows) > 0;
    },

    /** A conversation's pinned messages, most recently pinned first, after `before` (the previous page's last). */
    pinnedPage(conversationId: string, before: TimeIdPosition | undefined, limit: number): Promise<Array<MessageRow & PinRow>> {
      let query = db
        .selectFrom('message_pins')
        .innerJoin('messages', 'messages.id', 'message_pins.message_id')
        .selectAll('messages')
        .select(['message_pins.pinned_by', 'message_pins.pinned_at'])
        .where('message_pins.conversation_id', '=', conversationId);
      if (before) {
        const id = Number(before.id);
        query = query.where((eb) =>
          eb.or([eb('message_pins.pinned_at', '<', before.at), eb.and([eb('message_pins.pinned_at', '=', before.at), eb('message_pins.message_id', '<', id)])]),
        );
      }
      return query.orderBy('message_pins.pinned_at', 'desc').orderBy('message_pins.message_id', 'desc').limit(limit).execute();
    },

    /** Records where a forwarded message came from; a retry that finds it recorded changes nothing. */
    async recordForward(messageId: number, origin: ForwardOrigin): Promise<void> {
      try {
        await db
          .insertInto('message_forwards')
          .values({ message_id: messageId, ...origin })
          .execute();
      } catch (error) {
        if (!isUniqueViolation(error)) throw error;
      }
    },

    /** The pins and forward origins of these messages (two indexed reads for a whole page). */
    async extrasFor(messageIds: readonly number[]): Promise<{ pins: Map<number, PinRow>; forwards: Map<number, ForwardOrigin> }> {
      const pins = new Map<number, PinRow>();
      const forwards = new Map<number, ForwardOrigin>();
      if (messageIds.length === 0) return { pins, forwards };
      const [pinRows, forwardRows] = await Promise.all([
        db.selectFrom('message_pins').select(['message_id', 'pinned_by', 'pinned_at']).where('message_id', 'in', messageIds).execute(),
        db.selectFrom('message_forwards').select(['message_id', 'origin_sender_id', 'origin_sender_name', 'origin_sent_at']).where('message_id', 'in', messageIds).execute(),
      ]);
      for (const row of pinRows) pins.set(Number(row.message_id), { pinned_by: row.pinned_by, pinned_at: Number(row.pinned_at) });
      for (const row of forwardRows)
        forwards.set(Number(row.message_id), {
          origin_sender_id: row.origin_sender_id,
          origin_sender_name: row.origin_sender_name,
          origin_sent_at: Number(row.origin_sent_at),
        });
      return { pins, forwards };
    },
  };
}

export type PinsRepository = ReturnType<typeof createPinsRepository>;
