/**
 * The words of the search index (`message_search_tokens`), the same on every dialect because they
 * are made here, in JavaScript, not by a database's full-text parser.
 *
 * Search keeps substring semantics ("eijin" finds "Beijing", "北京" finds "我们明天去北京开会"),
 * so the tokens are pieces every substring query can be checked against:
 * - CJK text (Han, kana, Hangul), which has no spaces: every character and every pair of adjacent
 *   characters (bigrams), so a one- or two-character word inside a sentence is found.
 * - Other letters and digits, in runs ("words"): every three-character piece of a word (trigrams).
 *   A query's word of three or more characters is inside some word of each message it matches, so
 *   all its trigrams are among that message's tokens.
 * A query whose pieces are all shorter (`in`, `%`, `C#`) has no token and is answered by the scan.
 * Tokens only narrow the candidates; each candidate is then checked with `containsQuery`, so the
 * results are exactly those of a substring search, whichever way they were found.
 */

const CJK_CLASS = '[\\p{Script=Han}\\p{Script=Hiragana}\\p{Script=Katakana}\\p{Script=Hangul}]';
const CJK = new RegExp(CJK_CLASS, 'u');
/** Runs of CJK characters, or of other letters and digits (CJK ones excluded); everything else separates them. */
const RUNS = new RegExp(`${CJK_CLASS}+|(?:(?!${CJK_CLASS})[\\p{L}\\p{N}\\p{M}])+`, 'gu');

/** The form both sides are compared in: NFC, lowercased (full Unicode, the same on every dialect). */
export function searchForm(text: string): string {
  return text.normalize('NFC').toLowerCase();
}

function addRunTokens(run: string, tokens: Set<string>, forQuery: boolean): void {
  const chars = Array.from(run);
  if (CJK.test(chars[0] as string)) {
    // A query of one CJK character needs the single-character token; a longer one its bigrams only.
    if (!forQuery || chars.length === 1) for (const ch of chars) tokens.add(ch);
    for (let i = 0; i + 1 < chars.length; i++) tokens.add(chars[i] + (chars[i + 1] as string));
    return;
  }
  for (let i = 0; i + 2 < chars.length; i++) tokens.add(chars[i] + (chars[i + 1] as string) + (chars[i + 2] as string));
}

function tokensOf(text: string, forQuery: boolean): string[] {
  const tokens = new Set<string>();
  for (const match of searchForm(text).matchAll(RUNS)) addRunTokens(match[0], tokens, forQuery);
  return [...tokens];
}

/** The distinct tokens a message's text is indexed under. */
export function messageTokens(content: string): string[] {
  return tokensOf(content, false);
}

/** The tokens every message containing `query` has; empty when the query has none (the scan answers it). */
export function queryTokens(query: string): string[] {
  return tokensOf(query, true);
}

/** Whether a message's text contains the query: the substring test every search result passes. */
export function containsQuery(content: string, query: string): boolean {
  return searchForm(content).includes(searchForm(query));
}

/** Message types whose content is words someone wrote; calls and system records hold JSON. */
export const UNSEARCHED_TYPES = ['call', 'system'] as const;

/** Whether a message of this type is indexed (and can be a search hit). */
export function isSearchable(type: string): boolean {
  return !(UNSEARCHED_TYPES as readonly string[]).includes(type);
}
