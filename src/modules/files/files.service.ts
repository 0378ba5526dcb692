import { createHmac, timingSafeEqual } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import type { FilePurpose, FileRecord, FileTransferEvent } from '../../contract/files.js';
import type { Attachment } from '../../contract/messages.js';
import type { Publisher } from '../../platform/realtime/publisher.js';
import type { Actor } from '../../shared/actor.js';
import type { Clock } from '../../shared/clock.js';
import { AppError } from '../../shared/errors.js';
import { newId } from '../../shared/ids.js';
import { createKeyedQueue } from '../../shared/keyed-queue.js';
import { isoTime as iso } from '../../shared/time.js';
import type { AccessPolicy } from '../policy/index.js';
import { imagePreview, type Preview, videoPreview } from './files.media.js';
import { sanitizeFilename } from './files.names.js';
import type { FileRow, FilesRepository, UploadRow } from './files.repository.js';
import { type FileStorage, thumbnailKey, UPLOAD_ID, uploadKey } from './files.storage.js';

export interface FileLimits {
  maxBytes: number;
  quotaBytes: number;
  avatarMaxBytes: number;
  expiryHours: number;
  signedUrlTtlSec: number;
  /** Quota of a guest account, in place of `quotaBytes`. */
  guestQuotaBytes: number;
}

export interface FilesLog {
  info(fields: object, message: string): void;
  warn(fields: object, message: string): void;
}

export interface FilesServiceDeps {
  files: FilesRepository;
  storage: FileStorage;
  publisher: Publisher;
  clock: Clock;
  limits: FileLimits;
  /** Secret the signed download URLs are keyed with (derived from, never equal to, the JWT secret). */
  urlSecret: string;
  /** Who may read a file or a conversation, or use an upload (the policy module's rules). */
  policy: Pick<AccessPolicy, 'mayReadConversation' | 'mayReadFile' | 'isUploader'>;
  /** URL prefix of the API, e.g. `/api/v1`. */
  apiPath: string;
  log: FilesLog;
}

/** What `Upload-Metadata` may carry (tus: base64 values); anything else is ignored. */
export interface UploadMetadata {
  filename?: string | null;
  contentType?: string | null;
  filetype?: string | null;
  purpose?: string | null;
  conversationId?: string | null;
}

/** Types an avatar may be, by its bytes. */
const AVATAR_TYPES = new Set(['image/jpeg', 'image/png', 'image/apng', 'image/webp', 'image/gif']);
/** Minimum time between two `progress` events of one upload. */
const PROGRESS_INTERVAL_MS = 250;
export type FileVariant = 'content' | 'thumbnail';

const notFound = () => new AppError('NOT_FOUND', 'file not found');
const uploadNotFound = () => new AppError('NOT_FOUND', 'upload not found');

function parsePurpose(value: string | null | undefined): FilePurpose {
  if (value === undefined || value === null || value === '' || value === 'attachment') return 'attachment';
  if (value === 'avatar') return 'avatar';
  throw AppError.validation('purpose', 'must be attachment or avatar');
}

export function createFilesService(deps: FilesServiceDeps) {
  const { files, storage, publisher, clock, limits, log } = deps;
  /** Per upload: who gets its progress events and when the last one went out. */
  const live = new Map<string, { userId: string; size: number; lastProgressAt: number }>();
  /** Quota checks of one user run one at a time in this process, so two creations cannot both squeeze in. */
  const serialisePerUser = createKeyedQueue();
  /** Told of every upload removed here rather than through tus (the tus store keeps state per upload). */
  const uploadRemovedListeners: Array<(uploadId: string) => void> = [];
  const uploadRemoved = (uploadId: string) => {
    live.delete(uploadId);
    for (const listener of uploadRemovedListeners) listener(uploadId);
  };

  function emit(userId: string, event: FileTransferEvent): void {
    publisher.toUsers([userId], 'file_transfer', event);
  }

  function track(upload: UploadRow) {
    let entry = live.get(upload.id);
    if (!entry) {
      entry = { userId: upload.uploader_id, size: upload.size, lastProgressAt: 0 };
      live.set(upload.id, entry);
    }
    return entry;
  }

  function thumbnailUrl(row: FileRow): string | undefined {
    return row.thumbnail_key ? `${deps.apiPath}/files/${row.id}/thumbnail` : undefined;
  }

  function toRecord(row: FileRow): FileRecord {
    const record: FileRecord = {
      id: row.id,
      filename: row.filename,
      contentType: row.content_type,
      size: row.size,
      sha256: row.sha256,
      purpose: row.purpose as FilePurpose,
      createdAt: iso(row.created_at),
    };
    if (row.width !== null) record.width = row.width;
    if (row.height !== null) record.height = row.height;
    const thumb = thumbnailUrl(row);
    if (thumb) record.thumbnailUrl = thumb;
    return record;
  }

  async function requireReadable(actor: Actor, fileId: string): Promise<FileRow> {
    const row = UPLOAD_ID.test(fileId) ? await files.findFile(fileId) : undefined;
    if (!row || !(await deps.policy.mayReadFile(actor.userId, row, () => files.linkedConversations(row.id)))) throw notFound();
    return row;
  }

  const signatureOf = (variant: FileVariant, fileId: string, expires: number) =>
    createHmac('sha256', deps.urlSecret).update(`${variant}\n${fileId}\n${expires}`).digest('base64url');

  async function previewOf(row: Pick<FileRow, 'content_type' | 'storage_key'>): Promise<Preview | undefined> {
    if (row.content_type.startsWith('image/')) return imagePreview(storage.pathOf(row.storage_key));
    if (row.content_type.startsWith('video/')) return videoPreview(storage.pathOf(row.storage_key));
    return undefined;
  }

  /** Turns a finished upload into a file record; throws (and cleans up) when a per-purpose rule refuses it. */
  async function processUpload(upload: UploadRow, digest: string | undefined): Promise<FileRow> {
    const key = uploadKey(upload.id);
    const stored = await storage.size(key);
    if (stored !== upload.size) throw new AppError('CONFLICT', 'the upload is not complete');
    const sniffed = await storage.sniff(key);
    const contentType = sniffed?.mime ?? 'application/octet-stream';
    if (upload.purpose === 'avatar' && !AVATAR_TYPES.has(contentType)) {
      throw new AppError('UNSUPPORTED_MEDIA_TYPE', `an avatar must be a JPEG, PNG, WebP or GIF image${sniffed ? `, not ${contentType}` : ''}`);
    }
    const sha256 = digest ?? (await storage.sha256(key));
    const row: FileRow = {
      id: upload.id,
      uploader_id: upload.uploader_id,
      purpose: upload.purpose,
      filename: upload.filename,
      content_type: contentType,
      size: upload.size,
      sha256,
      storage_key: key,
      width: null,
      height: null,
      thumbnail_key: null,
      created_at: clock.now().getTime(),
    };
    if (upload.purpose === 'attachment') {
      const preview = await previewOf(row).catch(() => undefined);
      if (preview) {
        row.width = preview.width;
        row.height = preview.height;
        if (preview.thumbnail) {
          row.thumbnail_key = thumbnailKey(row.id);
          await storage.write(row.thumbnail_key, preview.thumbnail);
        }
      }
    }
    await files.insertFile(row);
    await files.setUploadState(upload.id, 'complete');
    return row;
  }

  async function removeFile(row: FileRow): Promise<void> {
    await files.deleteFile(row.id);
    await storage.remove(row.storage_key);
    if (row.thumbnail_key) await storage.remove(row.thumbnail_key);
  }

  return {
    /** `listener` hears of each upload this service removes (clean-up, owner deleted, refused at the end). */
    onUploadRemoved(listener: (uploadId: string) => void): void {
      uploadRemovedListeners.push(listener);
    },

    /**
     * Checks a tus creation request (size, purpose, metadata, quota) before any byte is taken and
     * records the new upload under a server-made id. Throws PAYLOAD_TOO_LARGE, VALIDATION_FAILED.
     */
    async beginUpload(actor: Actor, input: { size: number; metadata: UploadMetadata }): Promise<UploadRow> {
      const purpose = parsePurpose(input.metadata.purpose);
      const { size } = input;
      if (!Number.isSafeInteger(size) || size < 0) throw AppError.validation('Upload-Length', 'must be a non-negative integer');
      const max = purpose === 'avatar' ? Math.min(limits.avatarMaxBytes, limits.maxBytes) : limits.maxBytes;
      if (size > max) throw new AppError('PAYLOAD_TOO_LARGE', `${purpose === 'avatar' ? 'an avatar' : 'a file'} may be at most ${max} bytes`, { maxBytes: max });
      const conversationId = input.metadata.conversationId || null;
      if (conversationId !== null && !(conversationId.length <= 80 && (await deps.policy.mayReadConversation(actor.userId, conversationId)))) {
        throw new AppError('NOT_FOUND', 'conversation not found');
      }
      const declared = (input.metadata.contentType ?? input.metadata.filetype ?? '').slice(0, 127);
      return serialisePerUser(actor.userId, async () => {
        const used = await files.bytesUsedBy(actor.userId);
        // Guests are free to create, so each gets a small quota, not a registered user's share.
        const quota = actor.isGuest ? limits.guestQuotaBytes : limits.quotaBytes;
        if (used + size > quota) {
          throw new AppError('PAYLOAD_TOO_LARGE', `storage quota exceeded: ${used} of ${quota} bytes used`, {
            quotaBytes: quota,
            usedBytes: used,
          });
        }
        const row: UploadRow = {
          id: newId(),
          uploader_id: actor.userId,
          purpose,
          filename: sanitizeFilename(input.metadata.filename),
          declared_type: declared,
          size,
          conversation_id: conversationId,
          state: 'uploading',
          created_at: clock.now().getTime(),
        };
        await files.insertUpload(row);
        track(row);
        return row;
      });
    },

    /** The caller's own upload (HEAD, PATCH, DELETE); anyone else's is NOT_FOUND. */
    async requireOwnUpload(actor: Actor, uploadId: string): Promise<UploadRow> {
      const row = UPLOAD_ID.test(uploadId) ? await files.findUpload(uploadId) : undefined;
      if (!row || !deps.policy.isUploader(actor.userId, row)) throw uploadNotFound();
      if (row.state === 'uploading') track(row);
      return row;
    },

    /** Bytes arrived: a `progress` event, at most every 250 ms per upload. */
    progress(uploadId: string, offset: number): void {
      const entry = live.get(uploadId);
      if (!entry || offset >= entry.size) return;
      const now = Date.now();
      if (now - entry.lastProgressAt < PROGRESS_INTERVAL_MS) return;
      entry.lastProgressAt = now;
      emit(entry.userId, { uploadId, offset, size: entry.size, state: 'progress' });
    },

    /**
     * The last byte arrived: sniff, hash, apply the purpose's rules, make a thumbnail, store the
     * record, and tell the uploader's devices. A refused upload is removed and reported `failed`.
     * `digest` is the SHA-256 computed while the bytes streamed in, when every byte did so here.
     */
    async finishUpload(uploadId: string, digest?: string): Promise<FileRecord> {
      const upload = await files.findUpload(uploadId);
      if (!upload) throw uploadNotFound();
      live.delete(uploadId);
      if (upload.state === 'complete') {
        const existing = await files.findFile(uploadId);
        if (existing) return toRecord(existing);
      }
      try {
        const row = await processUpload(upload, digest);
        log.info({ fileId: row.id, userId: row.uploader_id, size: row.size, contentType: row.content_type }, 'file stored');
        emit(upload.uploader_id, { uploadId, fileId: row.id, offset: upload.size, size: upload.size, state: 'complete' });
        return toRecord(row);
      } catch (error) {
        const reason = error instanceof AppError ? error.code : 'INTERNAL';
        if (!(error instanceof AppError)) log.warn({ err: error, uploadId }, 'upload processing failed');
        await files.setUploadState(uploadId, 'failed').catch(() => {});
        await files.deleteFile(uploadId).catch(() => {});
        await storage.remove(uploadKey(uploadId)).catch(() => {});
        await storage.remove(thumbnailKey(uploadId)).catch(() => {});
        uploadRemoved(uploadId);
        emit(upload.uploader_id, { uploadId, offset: upload.size, size: upload.size, state: 'failed', reason });
        throw error;
      }
    },

    /** The client terminated its upload (tus DELETE): forget it. */
    async uploadTerminated(uploadId: string): Promise<void> {
      const entry = live.get(uploadId);
      live.delete(uploadId);
      const upload = await files.findUpload(uploadId);
      await files.deleteUpload(uploadId);
      if (upload) emit(upload.uploader_id, { uploadId, offset: 0, size: upload.size, state: 'failed', reason: 'TERMINATED' });
      else if (entry) emit(entry.userId, { uploadId, offset: 0, size: entry.size, state: 'failed', reason: 'TERMINATED' });
    },

    /** A file's metadata, for those allowed to see it (NOT_FOUND for anyone else). */
    async describe(actor: Actor, fileId: string): Promise<FileRecord> {
      return toRecord(await requireReadable(actor, fileId));
    },

    /** The stored row of a file the caller may read, for streaming its bytes or thumbnail. */
    async readable(actor: Actor, fileId: string, variant: FileVariant): Promise<FileRow> {
      const row = await requireReadable(actor, fileId);
      if (variant === 'thumbnail' && !row.thumbnail_key) throw new AppError('NOT_FOUND', 'this file has no thumbnail');
      return row;
    },

    /** The row behind a signed URL; FORBIDDEN when the signature is wrong or expired. */
    async readableBySignature(fileId: string, variant: FileVariant, expires: number, signature: string): Promise<FileRow> {
      const expected = Buffer.from(signatureOf(variant, fileId, expires));
      const given = Buffer.from(signature);
      if (expected.length !== given.length || !timingSafeEqual(expected, given)) throw new AppError('FORBIDDEN', 'invalid signature');
      if (expires * 1000 < clock.now().getTime()) throw new AppError('FORBIDDEN', 'this link has expired');
      const row = await files.findFile(fileId);
      if (!row || (variant === 'thumbnail' && !row.thumbnail_key)) throw notFound();
      return row;
    },

    /** A URL that serves the file without the Authorization header, valid for SIGNED_URL_TTL seconds. */
    async signedUrl(actor: Actor, fileId: string, variant: FileVariant): Promise<{ url: string; expiresAt: string }> {
      const row = await requireReadable(actor, fileId);
      if (variant === 'thumbnail' && !row.thumbnail_key) throw new AppError('NOT_FOUND', 'this file has no thumbnail');
      const expires = Math.floor(clock.now().getTime() / 1000) + limits.signedUrlTtlSec;
      const url = `${deps.apiPath}/files/${row.id}/${variant}?expires=${expires}&signature=${signatureOf(variant, row.id, expires)}`;
      return { url, expiresAt: iso(expires * 1000) };
    },

    /**
     * Messaging's AttachmentResolver: each file must exist and be the sender's own upload or one
     * they can already see; its description comes from the record, never from the client. Records
     * that the files were sent to `conversationId`, which lets that conversation's members read them.
     */
    async resolveAttachments(actor: Actor, conversationId: string, attachments: readonly Attachment[]): Promise<Attachment[]> {
      const resolved: Attachment[] = [];
      for (const given of attachments) {
        const row = UPLOAD_ID.test(given.fileId) ? await files.findFile(given.fileId) : undefined;
        if (row?.purpose !== 'attachment' || !(await deps.policy.mayReadFile(actor.userId, row, () => files.linkedConversations(row.id)))) {
          throw new AppError('NOT_FOUND', `file ${given.fileId} not found`, [{ field: 'attachments', message: `unknown file ${given.fileId}` }]);
        }
        const attachment: Attachment = { fileId: row.id, filename: row.filename, contentType: row.content_type, size: row.size };
        if (row.width !== null) attachment.width = row.width;
        if (row.height !== null) attachment.height = row.height;
        if (given.durationSec !== undefined) attachment.durationSec = given.durationSec;
        const thumb = thumbnailUrl(row);
        if (thumb) attachment.thumbnailUrl = thumb;
        resolved.push(attachment);
      }
      const now = clock.now().getTime();
      for (const attachment of resolved) await files.link(attachment.fileId, conversationId, now);
      return resolved;
    },

    /**
     * Messaging recalled a message of `conversationId` that carried `fileIds`: each file's link to
     * the conversation goes unless another message there still carries it, so the other members
     * lose read access; a file left with no link is removed by the periodic clean-up.
     */
    async releaseAttachments(conversationId: string, fileIds: readonly string[]): Promise<void> {
      for (const fileId of new Set(fileIds)) {
        if (!UPLOAD_ID.test(fileId)) continue;
        if (!(await files.attachedInConversation(fileId, conversationId))) await files.unlink(fileId, conversationId);
      }
    },

    /** The bytes of the caller's own finished avatar upload, for the avatars module to render. */
    async avatarUpload(actor: Actor, fileId: string): Promise<Buffer> {
      const row = UPLOAD_ID.test(fileId) ? await files.findFile(fileId) : undefined;
      if (!row || !deps.policy.isUploader(actor.userId, row)) throw notFound();
      if (row.size > limits.avatarMaxBytes) throw new AppError('PAYLOAD_TOO_LARGE', `an avatar may be at most ${limits.avatarMaxBytes} bytes`);
      return readFile(storage.pathOf(row.storage_key));
    },

    /**
     * Users are about to be deleted: their files (bytes and thumbnails) and uploads go first, while
     * the rows still say whose they are (the account's deletion cascades to the rows, not the disk).
     */
    async removeOwnedBy(userIds: readonly string[]): Promise<{ files: number; uploads: number }> {
      let removedFiles = 0;
      let uploads = 0;
      for (;;) {
        const rows = await files.filesOf(userIds, 200);
        for (const row of rows) await removeFile(row);
        removedFiles += rows.length;
        if (rows.length < 200) break;
      }
      for (;;) {
        const rows = await files.uploadsOf(userIds, 200);
        for (const upload of rows) {
          await storage.remove(uploadKey(upload.id));
          await storage.remove(thumbnailKey(upload.id));
          await files.deleteUpload(upload.id);
          uploadRemoved(upload.id);
        }
        uploads += rows.length;
        if (rows.length < 200) break;
      }
      return { files: removedFiles, uploads };
    },

    /**
     * Periodic clean-up: uploads unfinished after UPLOAD_EXPIRY_HOURS, and files nothing refers to
     * (never sent in a message, or avatar uploads already rendered) after the same time.
     */
    async cleanUp(): Promise<{ uploads: number; files: number }> {
      const before = clock.now().getTime() - limits.expiryHours * 3_600_000;
      let uploads = 0;
      let removedFiles = 0;
      for (;;) {
        const stale = await files.staleUploads(before, 200);
        for (const upload of stale) {
          await storage.remove(uploadKey(upload.id));
          await files.deleteUpload(upload.id);
          uploadRemoved(upload.id);
        }
        uploads += stale.length;
        if (stale.length < 200) break;
      }
      for (;;) {
        const unreferenced = await files.unreferencedFiles(before, 200);
        for (const row of unreferenced) await removeFile(row);
        removedFiles += unreferenced.length;
        if (unreferenced.length < 200) break;
      }
      await files.deleteCompletedUploadsBefore(before);
      if (uploads + removedFiles > 0) log.info({ uploads, files: removedFiles }, 'stale uploads and unreferenced files removed');
      return { uploads, files: removedFiles };
    },
  };
}

export type FilesService = ReturnType<typeof createFilesService>;
