/**
 * File names as users give them are labels only: they never reach a storage path. They are still
 * cleaned so that a download's name cannot climb folders, hide its extension behind bidi
 * controls or break the Content-Disposition header.
 */

const MAX_NAME_BYTES = 200;
/** C0/C1 controls, DEL, and the bidi/format controls that can disguise an extension (U+202E). */
const CONTROL = /[\p{Cc}\u200B-\u200F\u202A-\u202E\u2066-\u2069\uFEFF]/gu;
/** Characters Windows refuses in names, and the path separators of every system. */
const RESERVED = /[<>:"/\\|?*]/g;

/** A safe display name: last path segment, no controls or reserved characters, not hidden, ≤ 200 bytes. */
export function sanitizeFilename(raw: string | null | undefined): string {
  let name = (raw ?? '').normalize('NFC');
  // Only the last segment of anything that looks like a path (either separator) is kept.
  name = name.slice(Math.max(name.lastIndexOf('/'), name.lastIndexOf('\\')) + 1);
  name = name.replace(CONTROL, '').replace(RESERVED, '_').trim();
  // No leading dots (hidden files, `..`) and no trailing dots or spaces (Windows strips them).
  name = name.replace(/^[.\s]+/, '').replace(/[.\s]+$/, '');
  while (Buffer.byteLength(name, 'utf8') > MAX_NAME_BYTES) {
    const dot = name.lastIndexOf('.');
    const ext = dot > 0 && name.length - dot <= 10 ? name.slice(dot) : '';
    name = `${[...name.slice(0, name.length - ext.length)].slice(0, -1).join('')}${ext}`;
  }
  return name || 'file';
}

/** Types a browser may render in place without running anything; everything else is a download. */
const INLINE_TYPES = new Set([
  'image/png',
  'image/jpeg',
  'image/gif',
  'image/webp',
  'image/avif',
  'image/bmp',
  'video/mp4',
  'video/webm',
  'video/quicktime',
  'audio/mpeg',
  'audio/ogg',
  'audio/wav',
  'audio/webm',
  'audio/mp4',
  'audio/aac',
  'audio/flac',
]);

export function isInlineSafe(contentType: string): boolean {
  return INLINE_TYPES.has(contentType);
}

/** RFC 5987 `attr-char` set; everything else is percent-encoded in `filename*`. */
const encodeRfc5987 = (value: string) => encodeURIComponent(value).replace(/['()*]/g, (ch) => `%${ch.charCodeAt(0).toString(16).toUpperCase()}`);

/**
 * `Content-Disposition` per RFC 6266: an ASCII `filename` fallback for old clients and the real
 * name as UTF-8 in `filename*` (RFC 8187). Unsafe types are always `attachment`.
 */
export function contentDisposition(filename: string, contentType: string, wantDownload = false): string {
  const disposition = !wantDownload && isInlineSafe(contentType) ? 'inline' : 'attachment';
  const fallback = filename.replace(/[^\x20-\x7E]/g, '_').replace(/["\\%]/g, '_');
  return `${disposition}; filename="${fallback}"; filename*=UTF-8''${encodeRfc5987(filename)}`;
}
