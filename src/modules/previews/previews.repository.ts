import type { Insertable, Kysely, Selectable } from 'kysely';
import type { LinkPreview } from '../../contract/messages.js';
import { isUniqueViolation } from '../../platform/db/errors.js';
import type { Database, LinkPreviewsTable } from '../../platform/db/schema.js';

export type LinkPreviewRow = Selectable<LinkPreviewsTable>;

export function createPreviewsRepository(db: Kysely<Database>) {
  return {
    find(urlHash: string): Promise<LinkPreviewRow | undefined> {
      return db.selectFrom('link_previews').selectAll().where('url_hash', '=', urlHash).executeTakeFirst();
    },

    /** Stores a fetch's outcome for its URL, replacing an expired one (two processes may race: the last write stays). */
    async save(row: Insertable<LinkPreviewsTable>): Promise<void> {
      const { url_hash, ...rest } = row;
      const updated = await db.updateTable('link_previews').set(rest).where('url_hash', '=', url_hash).executeTakeFirst();
      if (Number(updated.numUpdatedRows) > 0) return;
      try {
        await db.insertInto('link_previews').values(row).execute();
      } catch (error) {
        if (!isUniqueViolation(error)) throw error;
        await db.updateTable('link_previews').set(rest).where('url_hash', '=', url_hash).execute();
      }
    },

    /** The URL whose preview a message shows, by hash, if any. */
    async linkedHash(messageId: number): Promise<string | undefined> {
      return (await db.selectFrom('message_previews').select('url_hash').where('message_id', '=', messageId).executeTakeFirst())?.url_hash;
    },

    /** Points a message at a URL's preview (replacing the one of an earlier link). */
    async link(messageId: number, urlHash: string, now: number): Promise<void> {
      await db.deleteFrom('message_previews').where('message_id', '=', messageId).execute();
      try {
        await db.insertInto('message_previews').values({ message_id: messageId, url_hash: urlHash, created_at: now }).execute();
      } catch (error) {
        // Another process linked it at the same moment: one row is all that is needed.
        if (!isUniqueViolation(error)) throw error;
      }
    },

    async unlink(messageId: number): Promise<void> {
      await db.deleteFrom('message_previews').where('message_id', '=', messageId).execute();
    },

    /** The previews to show with these messages (found ones only), by message id. */
    async forMessages(messageIds: readonly number[]): Promise<Map<number, LinkPreview>> {
      const found = new Map<number, LinkPreview>();
      if (messageIds.length === 0) return found;
      const rows = await db
        .selectFrom('message_previews')
        .innerJoin('link_previews', 'link_previews.url_hash', 'message_previews.url_hash')
        .select(['message_previews.message_id', 'link_previews.url', 'link_previews.title', 'link_previews.description', 'link_previews.image', 'link_previews.site_name'])
        .where('message_previews.message_id', 'in', [...messageIds])
        .where('link_previews.ok', '=', 1)
        .execute();
      for (const row of rows) {
        found.set(Number(row.message_id), { url: row.url, title: row.title, description: row.description, image: row.image, siteName: row.site_name });
      }
      return found;
    },
  };
}

export type PreviewsRepository = ReturnType<typeof createPreviewsRepository>;
