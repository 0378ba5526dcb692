/**
 * Attachments: resumable uploads with tus-js-client (progress, retries after a dropped connection,
 * resume from a previous attempt), and signed URLs for showing images and downloading files.
 */
import { useEffect, useState } from 'preact/hooks';
import type { Upload as TusUpload } from 'tus-js-client';
import type { Attachment, MessageType } from '../../src/client/index.js';
import { API_PREFIX } from '../../src/contract/api.js';
import { showError } from './errors.js';
import { t } from './i18n.js';
import { sendMessage } from './state/actions.js';
import { api, client } from './state/client.js';

export interface PendingUpload {
  key: string;
  name: string;
  sent: number;
  total: number;
  state: 'uploading' | 'failed';
  abort: () => void;
}

const CHUNK_BYTES = 2 * 1024 * 1024;

function typeOf(contentType: string): MessageType {
  if (contentType.startsWith('image/')) return 'image';
  if (contentType.startsWith('video/')) return 'video';
  if (contentType.startsWith('audio/')) return 'audio';
  return 'file';
}

/**
 * Uploads `file` for `conversationId` and sends it as a message once stored. `onChange` reports
 * progress (and `null` when the upload is over, sent or aborted).
 */
export function uploadAndSend(file: File, conversationId: string, onChange: (upload: PendingUpload | null) => void): void {
  // tus-js-client is loaded on the first upload: most visits never send a file.
  import('tus-js-client').then(
    ({ Upload }) => startUpload(Upload, file, conversationId, onChange),
    (error: unknown) => showError(error),
  );
}

function startUpload(Upload: typeof TusUpload, file: File, conversationId: string, onChange: (upload: PendingUpload | null) => void): void {
  const key = `${file.name}-${file.size}-${Date.now()}`;
  const contentType = file.type || 'application/octet-stream';
  let pending: PendingUpload;
  const upload = new Upload(file, {
    endpoint: `${client.baseUrl}${API_PREFIX}/uploads`,
    chunkSize: CHUNK_BYTES,
    // A dropped connection is retried with these pauses, resuming from the server's offset.
    retryDelays: [0, 1000, 3000, 5000, 10000, 20000],
    metadata: { filename: file.name, contentType, purpose: 'attachment', conversationId },
    // Remember unfinished uploads (per browser) so picking the same file again resumes it.
    storeFingerprintForResuming: true,
    removeFingerprintOnSuccess: true,
    onBeforeRequest(request) {
      // Read at every request: the access token rotates during a long upload.
      request.setHeader('Authorization', `Bearer ${client.accessToken ?? ''}`);
    },
    onShouldRetry(error, _attempt, options) {
      const status = error.originalResponse?.getStatus() ?? 0;
      if (status === 401) return true;
      // Client errors other than conflicts (offset mismatch) will not heal by retrying.
      return !(status >= 400 && status < 500 && status !== 409 && status !== 423) && (options.retryDelays?.length ?? 0) > 0;
    },
    onProgress(sent, total) {
      pending = { ...pending, sent, total };
      onChange(pending);
    },
    onSuccess(payload) {
      const fileId = payload.lastResponse.getHeader('Parley-File-Id');
      if (!fileId) {
        showError(new Error('the upload finished without a file id'));
        onChange(null);
        return;
      }
      const attachment: Attachment = { fileId, filename: file.name, contentType, size: file.size };
      sendMessage({ conversationId, type: typeOf(contentType), content: file.name, attachments: [attachment] })
        .catch(showError)
        .finally(() => onChange(null));
    },
    onError(error) {
      showError(error);
      pending = { ...pending, state: 'failed' };
      onChange(pending);
    },
  });
  pending = {
    key,
    name: file.name,
    sent: 0,
    total: file.size,
    state: 'uploading',
    abort: () => {
      void upload.abort(true).catch(() => {});
      onChange(null);
    },
  };
  onChange(pending);
  void upload.findPreviousUploads().then((previous) => {
    const last = previous[0];
    if (last) upload.resumeFromPreviousUpload(last);
    upload.start();
  });
}

export function UploadBar({ upload }: { upload: PendingUpload }) {
  const percent = upload.total > 0 ? Math.round((upload.sent / upload.total) * 100) : 0;
  return (
    <div class="upload small" data-testid="upload">
      <span class="grow ellipsis">{upload.name}</span>
      <progress max={100} value={percent} aria-label={`${upload.name} ${percent}%`} />
      <span>{upload.state === 'failed' ? t('failed') : `${percent}%`}</span>
      <button type="button" class="link" onClick={upload.abort}>
        {t('cancel')}
      </button>
    </div>
  );
}

const urlCache = new Map<string, { url: string; until: number }>();

/** A signed URL for a file (cached until shortly before it expires). */
async function signedUrl(fileId: string, variant: 'content' | 'thumbnail'): Promise<string> {
  const key = `${fileId}:${variant}`;
  const cached = urlCache.get(key);
  if (cached && cached.until > Date.now()) return cached.url;
  const { url, expiresAt } = await api.files.signedUrl(fileId, variant);
  urlCache.set(key, { url, until: new Date(expiresAt).getTime() - 30_000 });
  return url;
}

function useSignedUrl(fileId: string, variant: 'content' | 'thumbnail'): string | null {
  const [url, setUrl] = useState<string | null>(null);
  useEffect(() => {
    let live = true;
    signedUrl(fileId, variant).then(
      (value) => live && setUrl(value),
      () => {},
    );
    return () => {
      live = false;
    };
  }, [fileId, variant]);
  return url;
}

function formatSize(bytes: number | undefined): string {
  if (bytes === undefined) return '';
  if (bytes < 1024) return `${bytes} B`;
  if (bytes < 1024 * 1024) return `${(bytes / 1024).toFixed(1)} KB`;
  return `${(bytes / 1024 / 1024).toFixed(1)} MB`;
}

export function AttachmentView({ attachment }: { attachment: Attachment }) {
  const isImage = attachment.contentType?.startsWith('image/') ?? false;
  const preview = useSignedUrl(attachment.fileId, isImage && attachment.thumbnailUrl ? 'thumbnail' : 'content');
  const content = useSignedUrl(attachment.fileId, 'content');
  if (isImage) {
    return (
      <a href={content ?? '#'} target="_blank" rel="noopener" class="attachment-image" aria-label={attachment.filename ?? t('image')}>
        {preview ? <img src={preview} alt={attachment.filename ?? ''} loading="lazy" data-testid="attachment-image" /> : <span class="muted">…</span>}
      </a>
    );
  }
  return (
    <a class="attachment-file" href={content ?? '#'} download={attachment.filename ?? true} data-testid="attachment-file">
      📎 <span class="ellipsis">{attachment.filename ?? attachment.fileId}</span> <span class="small muted">{formatSize(attachment.size)}</span>
    </a>
  );
}
