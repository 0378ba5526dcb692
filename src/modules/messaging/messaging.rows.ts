import type { Selectable } from 'kysely';
import type { MessagesTable } from '../../platform/db/schema.js';

// Apart from the repository so that its SQLite writer can name them without importing it back.
export type MessageRow = Selectable<MessagesTable>;

/** A message as the service hands it over: everything but the id and the later edits. */
export type NewMessage = Omit<MessageRow, 'id' | 'edited_at' | 'recalled_at'>;

/** A row just inserted, with when its transaction committed (`performance.now()`), for the delivery-latency metric. */
export type InsertedMessageRow = MessageRow & { committedAt: number };
