import { type Kysely, sql } from 'kysely';
import { dialectOf } from '../dialect.js';

/**
 * PostgreSQL: the message writer's transaction as one function, so a batch is stored in one round
 * trip (messaging.pooled-writer.ts). node-postgres has no pipeline mode and its extended protocol
 * takes one statement per query, so the six statements of a batch cost six round trips; MySQL
 * sends them as one multi-statement query instead, SQLite has no round trips. Nothing on the
 * other dialects.
 *
 * `parley_store_messages(conversation ids sorted, messages, tokens)` does what the writer did
 * statement by statement, in the caller's transaction (one statement: its own):
 * 1. locks the batch's conversations in id order, before any id is drawn, held until commit (a
 *    conversation's ids commit in id order across processes);
 * 2. inserts the messages (a JSON array) in array order, so they draw increasing ids in that order,
 *    and returns those ids ascending: the n-th id is the n-th message's;
 * 3. inserts the search index rows (a JSON array of [message position from 1, token]);
 * 4. moves each conversation's last message to its batch's last one.
 * A duplicate `(sender, client_msg_id)` fails the whole statement (unique violation), as before.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  if (dialectOf(db) !== 'postgres') return;
  await sql`create function parley_store_messages(conversation_ids text[], batch jsonb, tokens jsonb) returns setof bigint
language plpgsql as $body$
declare
  ids bigint[];
begin
  perform 1 from conversations c where c.id = any(conversation_ids) order by c.id for update;
  with inserted as (
    insert into messages (conversation_id, sender_id, type, content, client_msg_id, reply_to_id, attachments, created_at)
    select m.value->>'conversation_id', m.value->>'sender_id', m.value->>'type', m.value->>'content', m.value->>'client_msg_id',
      (m.value->>'reply_to_id')::bigint, m.value->>'attachments', (m.value->>'created_at')::bigint
    from jsonb_array_elements(batch) with ordinality as m(value, position)
    order by m.position
    returning messages.id
  )
  select array_agg(inserted.id order by inserted.id) into ids from inserted;
  insert into message_search_tokens (message_id, token, conversation_id)
  select ids[(t.value->>0)::int], t.value->>1, batch->((t.value->>0)::int - 1)->>'conversation_id'
  from jsonb_array_elements(tokens) as t(value);
  update conversations c set last_message_id = latest.id, updated_at = latest.created_at
  from (
    select distinct on (m.value->>'conversation_id') m.value->>'conversation_id' as conversation_id, ids[m.position::int] as id,
      (m.value->>'created_at')::bigint as created_at
    from jsonb_array_elements(batch) with ordinality as m(value, position)
    order by m.value->>'conversation_id', m.position desc
  ) latest
  where c.id = latest.conversation_id;
  return query select unnest(ids);
end
$body$`.execute(db);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  if (dialectOf(db) !== 'postgres') return;
  await sql`drop function parley_store_messages(text[], jsonb, jsonb)`.execute(db);
}
