import { MAX_PREVIEW_URL_LENGTH } from '../../shared/links.js';

/** What a page says about itself, ready to store (trimmed, bounded, absolute image URL). */
export interface PageMeta {
  title: string | null;
  description: string | null;
  image: string | null;
  siteName: string | null;
}

const LIMITS = { title: 300, description: 1000, siteName: 200 };
const NAMED_ENTITIES: Record<string, string> = { amp: '&', lt: '<', gt: '>', quot: '"', apos: "'", nbsp: ' ', '#39': "'" };

/** Is this Content-Type one previews read (HTML only: no images, PDFs or JSON)? */
export function isHtml(contentType: string | undefined): boolean {
  const type = (contentType ?? '').split(';')[0]?.trim().toLowerCase();
  return type === 'text/html' || type === 'application/xhtml+xml';
}

/** Decodes the body with the charset the response (or the page's <meta charset>) names; UTF-8 otherwise. */
export function decodeHtml(body: Buffer, contentType: string | undefined): string {
  const head = body.subarray(0, 2048).toString('latin1');
  const charset = /charset\s*=\s*["']?([\w-]+)/i.exec(contentType ?? '')?.[1] ?? /<meta[^>]+charset\s*=\s*["']?([\w-]+)/i.exec(head)?.[1] ?? 'utf-8';
  try {
    return new TextDecoder(charset).decode(body);
  } catch {
    return new TextDecoder('utf-8').decode(body);
  }
}

function decodeEntities(text: string): string {
  return text.replace(/&(#x[0-9a-f]+|#[0-9]+|[a-z]+);/gi, (whole, name: string) => {
    const lower = name.toLowerCase();
    if (lower.startsWith('#x') || lower.startsWith('#')) {
      const code = lower.startsWith('#x') ? Number.parseInt(lower.slice(2), 16) : Number.parseInt(lower.slice(1), 10);
      return code > 0 && code <= 0x10ffff ? String.fromCodePoint(code) : whole;
    }
    return NAMED_ENTITIES[lower] ?? whole;
  });
}

/** Entities decoded, control characters and runs of white space folded, cut at `max` characters. */
function clean(value: string | undefined, max: number): string | null {
  if (value === undefined) return null;
  const text = decodeEntities(value)
    .replace(/\p{Cc}+/gu, ' ')
    .replace(/\s+/g, ' ')
    .trim();
  if (text === '') return null;
  const chars = [...text];
  return chars.length <= max ? text : `${chars.slice(0, max - 1).join('')}…`;
}

function attributes(tag: string): Map<string, string> {
  const found = new Map<string, string>();
  for (const match of tag.matchAll(/([a-zA-Z_:][-a-zA-Z0-9_:.]*)\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s"'>]+))/g)) {
    const name = (match[1] as string).toLowerCase();
    if (!found.has(name)) found.set(name, match[2] ?? match[3] ?? match[4] ?? '');
  }
  return found;
}

/** An absolute http(s) URL for og:image, resolved against the page; anything else (data:, javascript:) is dropped. */
function imageUrl(value: string | undefined, pageUrl: string): string | null {
  if (!value) return null;
  try {
    const url = new URL(decodeEntities(value.trim()), pageUrl);
    if (url.protocol !== 'http:' && url.protocol !== 'https:') return null;
    const text = url.toString();
    return text.length <= MAX_PREVIEW_URL_LENGTH ? text : null;
  } catch {
    return null;
  }
}

/**
 * Title, description, image and site name of an HTML page: Open Graph first (og:title,
 * og:description, og:image, og:site_name), then <title> and <meta name="description">. Only the
 * tags are read, with patterns; nothing of the page runs.
 */
export function parsePage(html: string, pageUrl: string): PageMeta {
  // Scripts and styles can hold text that looks like tags.
  const text = html.replace(/<(script|style)\b[\s\S]*?<\/\1\s*>/gi, ' ');
  const meta = new Map<string, string>();
  for (const match of text.matchAll(/<meta\b[^>]*>/gi)) {
    const attrs = attributes(match[0]);
    const key = (attrs.get('property') ?? attrs.get('name'))?.toLowerCase();
    const content = attrs.get('content');
    if (key && content !== undefined && !meta.has(key)) meta.set(key, content);
  }
  const title = /<title\b[^>]*>([\s\S]*?)<\/title\s*>/i.exec(text)?.[1];
  return {
    title: clean(meta.get('og:title'), LIMITS.title) ?? clean(title, LIMITS.title),
    description: clean(meta.get('og:description'), LIMITS.description) ?? clean(meta.get('description'), LIMITS.description),
    image: imageUrl(meta.get('og:image') ?? meta.get('og:image:url'), pageUrl),
    siteName: clean(meta.get('og:site_name'), LIMITS.siteName),
  };
}
