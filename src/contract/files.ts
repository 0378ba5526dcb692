/** What a file upload is for: chat attachments, or a profile picture (stricter rules). */
export type FilePurpose = 'attachment' | 'avatar';

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
export interface FileRecord {
  id: string;
  filename: string;
  contentType: string;
  size: number;
  sha256: string;
  purpose: FilePurpose;
  width?: number;
  height?: number;
  thumbnailUrl?: string;
  createdAt: string;
}
