import { type Kysely, type Selectable, sql } from 'kysely';
import { isUniqueViolation } from '../../platform/db/errors.js';
import type { Database, FilesTable, UploadsTable } from '../../platform/db/schema.js';

export type UploadRow = Selectable<UploadsTable>;
export type FileRow = Selectable<FilesTable>;

/** MySQL hands BIGINT sums and columns back as strings; SQLite as numbers. */
const num = (value: unknown): number => Number(value ?? 0);

const normaliseFile = (row: FileRow): FileRow => ({
  ...row,
  size: num(row.size),
  created_at: num(row.created_at),
  width: row.width === null ? null : num(row.width),
  height: row.height === null ? null : num(row.height),
});
const normaliseUpload = (row: UploadRow): UploadRow => ({ ...row, size: num(row.size), created_at: num(row.created_at) });

export function createFilesRepository(db: Kysely<Database>) {
  return {
    async insertUpload(row: UploadRow): Promise<void> {
      await db.insertInto('uploads').values(row).execute();
    },

    async findUpload(id: string): Promise<UploadRow | undefined> {
      const row = await db.selectFrom('uploads').selectAll().where('id', '=', id).executeTakeFirst();
      return row && normaliseUpload(row);
    },

    async setUploadState(id: string, state: 'uploading' | 'complete' | 'failed'): Promise<void> {
      await db.updateTable('uploads').set({ state }).where('id', '=', id).execute();
    },

    async deleteUpload(id: string): Promise<void> {
      await db.deleteFrom('uploads').where('id', '=', id).execute();
    },

    /** Bytes a user holds: finished files plus the announced size of uploads still in progress. */
    async bytesUsedBy(userId: string): Promise<number> {
      const files = await db.selectFrom('files').select(sql<string | number>`coalesce(sum(size), 0)`.as('total')).where('uploader_id', '=', userId).executeTakeFirst();
      const pending = await db
        .selectFrom('uploads')
        .select(sql<string | number>`coalesce(sum(size), 0)`.as('total'))
        .where('uploader_id', '=', userId)
        .where('state', '=', 'uploading')
        .executeTakeFirst();
      return num(files?.total) + num(pending?.total);
    },

    /** Uploads never finished (or failed) and created before `before` (epoch ms). */
    async staleUploads(before: number, limit: number): Promise<UploadRow[]> {
      const rows = await db.selectFrom('uploads').selectAll().where('state', '!=', 'complete').where('created_at', '<', before).limit(limit).execute();
      return rows.map(normaliseUpload);
    },

    /** Finished uploads whose file record is gone (the row only kept ownership while uploading). */
    async deleteCompletedUploadsBefore(before: number): Promise<void> {
      await db.deleteFrom('uploads').where('state', '=', 'complete').where('created_at', '<', before).execute();
    },

    async insertFile(row: FileRow): Promise<void> {
      await db.insertInto('files').values(row).execute();
    },

    async findFile(id: string): Promise<FileRow | undefined> {
      const row = await db.selectFrom('files').selectAll().where('id', '=', id).executeTakeFirst();
      return row && normaliseFile(row);
    },

    async deleteFile(id: string): Promise<void> {
      await db.deleteFrom('files').where('id', '=', id).execute();
    },

    /** Conversations the file was sent to (a few at most in practice; bounded anyway). */
    async linkedConversations(fileId: string, limit = 100): Promise<string[]> {
      const rows = await db.selectFrom('file_links').select('conversation_id').where('file_id', '=', fileId).limit(limit).execute();
      return rows.map((row) => row.conversation_id);
    },

    async link(fileId: string, conversationId: string, now: number): Promise<void> {
      try {
        await db.insertInto('file_links').values({ file_id: fileId, conversation_id: conversationId, created_at: now }).execute();
      } catch (error) {
        if (!isUniqueViolation(error)) throw error;
      }
    },

    /** Finished files of these users (for removing their bytes before the accounts go). */
    async filesOf(userIds: readonly string[], limit: number): Promise<FileRow[]> {
      if (userIds.length === 0) return [];
      const rows = await db.selectFrom('files').selectAll().where('uploader_id', 'in', userIds).limit(limit).execute();
      return rows.map(normaliseFile);
    },

    /** Uploads of these users not (or no longer) backed by a file record. */
    async uploadsOf(userIds: readonly string[], limit: number): Promise<UploadRow[]> {
      if (userIds.length === 0) return [];
      const rows = await db.selectFrom('uploads').selectAll().where('uploader_id', 'in', userIds).limit(limit).execute();
      return rows.map(normaliseUpload);
    },

    /**
     * True while a message of `conversationId` that is not recalled still carries the file. (The
     * attachments column is the JSON messaging stores, whose entries read `"fileId":"<uuid>"`.)
     */
    async attachedInConversation(fileId: string, conversationId: string): Promise<boolean> {
      const row = await db
        .selectFrom('messages')
        .select('id')
        .where('conversation_id', '=', conversationId)
        .where('recalled_at', 'is', null)
        .where('attachments', 'like', `%"fileId":"${fileId}"%`)
        .limit(1)
        .executeTakeFirst();
      return row !== undefined;
    },

    async unlink(fileId: string, conversationId: string): Promise<void> {
      await db.deleteFrom('file_links').where('file_id', '=', fileId).where('conversation_id', '=', conversationId).execute();
    },

    /**
     * Files nothing refers to any more, created before `before`: attachments never sent in a message
     * (or whose conversations are gone) and avatar uploads (already rendered into the avatar store).
     */
    async unreferencedFiles(before: number, limit: number): Promise<FileRow[]> {
      const rows = await db
        .selectFrom('files')
        .selectAll()
        .where('created_at', '<', before)
        .where((eb) => eb.not(eb.exists(eb.selectFrom('file_links').select('file_links.file_id').whereRef('file_links.file_id', '=', 'files.id'))))
        .limit(limit)
        .execute();
      return rows.map(normaliseFile);
    },
  };
}

export type FilesRepository = ReturnType<typeof createFilesRepository>;
