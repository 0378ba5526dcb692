/** The longest URL Parley previews (and stores): longer ones are left as plain text. */
export const MAX_PREVIEW_URL_LENGTH = 2048;

// Full-width punctuation (「」，。) ends a link: Chinese text puts it right after one, without a space.
const URL_IN_TEXT = /\bhttps?:\/\/[^\s<>"'`\u3000-\u303f\uff00-\uffef]+/gi;
/** Punctuation that ends a sentence rather than the link ("see https://example.com."). */
const TRAILING = /[.,;:!?'"*_~]+$/;

/** Drops closing brackets the link did not open: "(see https://example.com/a)" → https://example.com/a. */
function balanceBrackets(candidate: string): string {
  let text = candidate;
  for (const [open, close] of [
    ['(', ')'],
    ['[', ']'],
    ['{', '}'],
  ] as const) {
    while (text.endsWith(close) && text.split(close).length > text.split(open).length) text = text.slice(0, -1).replace(TRAILING, '');
  }
  return text;
}

/**
 * The first http(s) URL written in a message, normalised by the WHATWG URL parser (so the
 * messaging and preview modules compare the same text), or null when there is none.
 */
export function firstUrl(text: string): string | null {
  for (const match of text.matchAll(URL_IN_TEXT)) {
    const candidate = balanceBrackets(match[0].replace(TRAILING, ''));
    try {
      const url = new URL(candidate);
      if (url.hostname === '') continue;
      const normalised = url.toString();
      if (normalised.length <= MAX_PREVIEW_URL_LENGTH) return normalised;
    } catch {
      // Not a URL after all ("http://" alone): look further.
    }
  }
  return null;
}
