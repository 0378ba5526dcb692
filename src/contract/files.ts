import Type, { type Static } from 'typebox';

/** What a file upload is for: chat attachments, or a profile picture (stricter rules). */
export const FilePurpose = Type.Union([Type.Literal('attachment'), Type.Literal('avatar')]);
export type FilePurpose = Static<typeof FilePurpose>;

/**
 * Progress of one tus upload, sent to every device of the uploader: `progress` at most every
 * 250 ms per upload, then one `complete` (with the new file's id) or one `failed` (with a reason).
 */
export interface FileTransferEvent {
  /** The tus upload id (the last segment of the upload URL). */
  uploadId: string;
  /** Set when `state` is `complete`: the id to attach to messages or to set as avatar. */
  fileId?: string;
  /** Bytes stored so far. */
  offset: number;
  /** Bytes announced at creation (Upload-Length). */
  size: number;
  state: 'progress' | 'complete' | 'failed';
  /** Why the upload failed, for `failed`: an error code such as UNSUPPORTED_MEDIA_TYPE. */
  reason?: string;
}

/** A finished file, as `GET /files/:id` returns it. */
export const FileRecord = Type.Object({
  id: Type.String(),
  filename: Type.String({ description: 'sanitised original name' }),
  contentType: Type.String({ description: 'sniffed from the bytes; application/octet-stream when unknown' }),
  size: Type.Integer(),
  sha256: Type.String(),
  purpose: FilePurpose,
  width: Type.Optional(Type.Integer()),
  height: Type.Optional(Type.Integer()),
  thumbnailUrl: Type.Optional(Type.String({ description: 'relative URL of a WebP thumbnail (needs the bearer token, or use /files/:id/url?variant=thumbnail)' })),
  createdAt: Type.String({ format: 'date-time' }),
});
export type FileRecord = Static<typeof FileRecord>;

export const SignedUrlQuery = Type.Object({
  variant: Type.Optional(Type.Union([Type.Literal('content'), Type.Literal('thumbnail')], { default: 'content' })),
});
export type SignedUrlQuery = Static<typeof SignedUrlQuery>;

/** A short-lived URL usable in `<img src>` without the Authorization header. */
export const SignedUrl = Type.Object({
  url: Type.String({ description: 'relative URL that works without the Authorization header until expiresAt' }),
  expiresAt: Type.String({ format: 'date-time' }),
});
export type SignedUrl = Static<typeof SignedUrl>;
