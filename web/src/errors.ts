/**
 * Every error the web client shows goes through here: server errors (REST, socket acks, tus
 * uploads) become sentences in the reader's language (error-text.ts), never the server's own text.
 */
import { ParleyError } from '../../src/client/index.js';
import { detailSentence, type ErrorFacts, errorSentence } from './error-text.js';
import { language } from './i18n.js';
import { update } from './state/state.js';

/** A local date and time, in the reader's language and time zone. */
export function formatDateTime(iso: string): string {
  const date = new Date(iso);
  if (Number.isNaN(date.getTime())) return iso;
  return date.toLocaleString(language() === 'zh' ? 'zh-CN' : 'en', { dateStyle: 'medium', timeStyle: 'short' });
}

/** The code and details of a tus upload refused by the server (its body is the usual error JSON). */
function tusFacts(error: Error): ErrorFacts | null {
  const response = (error as { originalResponse?: { getBody?: () => string } | null }).originalResponse;
  try {
    const body = JSON.parse(response?.getBody?.() ?? '') as { error?: { code?: unknown; details?: unknown } };
    return typeof body.error?.code === 'string' ? { code: body.error.code, details: body.error.details } : null;
  } catch {
    return null;
  }
}

/**
 * The sentence for anything thrown. `overrides` replace the sentence of a code where the screen
 * knows better (a refused login is about the credentials, not an ended session).
 */
export function errorText(error: unknown, overrides: Partial<Record<string, string>> = {}): string {
  const lang = language();
  let facts: ErrorFacts | null = null;
  if (error instanceof ParleyError) facts = { code: error.code, details: error.details };
  else if (error instanceof Error) facts = tusFacts(error);
  else if (typeof error === 'object' && error !== null && typeof (error as { code?: unknown }).code === 'string') facts = error as ErrorFacts;
  if (facts) return overrides[facts.code] ?? errorSentence(facts, lang, formatDateTime);
  // fetch's TypeError, a socket ack that never came: the server was not reached.
  if (error instanceof TypeError || (error instanceof Error && /timed? ?out/i.test(error.message))) return detailSentence('offline', lang);
  // The client's own sentences (already translated), passed as errors to reach the toast.
  return error instanceof Error ? error.message : String(error);
}

/** Shows the error's sentence in the toast. */
export function showError(error: unknown, overrides?: Partial<Record<string, string>>): void {
  update({ toast: errorText(error, overrides) });
}
