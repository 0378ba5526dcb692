import { createHash, randomBytes } from 'node:crypto';
import * as tus from 'tus-js-client';

export const MiB = 1024 * 1024;

export interface TusResult {
  /** The upload URL the server gave (absolute). */
  url: string;
  /** From the final response's Parley-File-Id header. */
  fileId: string;
}

export interface TusOptions {
  token: string;
  metadata?: Record<string, string>;
  chunkSize?: number;
  /** Resume this upload instead of creating one. */
  uploadUrl?: string;
  /** Called after each chunk the server accepted; return true to abort the upload there. */
  abortAfter?: (bytesAccepted: number) => boolean;
  /** Offsets of every PATCH the client sent, in order. */
  patchOffsets?: number[];
  /** tus creation-with-upload: the first chunk rides on the POST. */
  withCreation?: boolean;
}

/** Uploads `data` with the real tus-js-client; resolves when the server confirmed the last byte. */
export function tusUpload(baseUrl: string, data: Buffer, options: TusOptions): Promise<TusResult & { aborted: boolean }> {
  return new Promise((resolve, reject) => {
    const upload: tus.Upload = new tus.Upload(data, {
      endpoint: `${baseUrl}/api/v1/uploads`,
      uploadUrl: options.uploadUrl ?? null,
      chunkSize: options.chunkSize ?? Number.POSITIVE_INFINITY,
      headers: { authorization: `Bearer ${options.token}` },
      metadata: options.metadata ?? { filename: 'data.bin', purpose: 'attachment' },
      retryDelays: null,
      storeFingerprintForResuming: false,
      uploadDataDuringCreation: options.withCreation ?? false,
      onBeforeRequest: (req) => {
        if (req.getMethod() === 'PATCH') options.patchOffsets?.push(Number(req.getHeader('Upload-Offset')));
      },
      onChunkComplete: (_chunk, accepted) => {
        if (options.abortAfter?.(accepted)) {
          void upload.abort(false).then(() => resolve({ url: upload.url ?? '', fileId: '', aborted: true }));
        }
      },
      onSuccess: ({ lastResponse }) => resolve({ url: upload.url ?? '', fileId: lastResponse.getHeader('Parley-File-Id') ?? '', aborted: false }),
      onError: (error) => reject(error),
    });
    upload.start();
  });
}

/** The HTTP status of a tus-js-client failure (a DetailedError carries the response). */
export function statusOf(error: unknown): number | undefined {
  return (error as { originalResponse?: { getStatus(): number } | null }).originalResponse?.getStatus();
}

/** The response body of a tus-js-client failure. */
export function bodyOf(error: unknown): string | undefined {
  return (error as { originalResponse?: { getBody(): string } | null }).originalResponse?.getBody();
}

export const sha256 = (bytes: Buffer | Uint8Array) => createHash('sha256').update(bytes).digest('hex');

/** Incompressible test bytes. */
export const randomData = (size: number) => randomBytes(size);

/** Downloads a URL (with the token unless `token` is null) as bytes. */
export async function download(url: string, token: string | null, headers: Record<string, string> = {}) {
  const response = await fetch(url, { headers: { ...(token ? { authorization: `Bearer ${token}` } : {}), ...headers } });
  return { status: response.status, headers: response.headers, bytes: Buffer.from(await response.arrayBuffer()) };
}

/** Uploads a small file as `client`'s user through tus and returns its file id (for message attachments). */
export async function uploadFile(client: { baseUrl: string; accessToken: string | undefined }, filename = 'file.bin', bytes: Buffer = Buffer.alloc(42, 'a')): Promise<string> {
  const result = await tusUpload(client.baseUrl, bytes, { token: client.accessToken as string, metadata: { filename, purpose: 'attachment' } });
  return result.fileId;
}
