/** Prompting for and reading smart reply suggestions; the model's output is parsed defensively. */

export const SUGGESTION_COUNT = 3;
const MAX_SUGGESTION_CHARS = 100;

export const SUGGESTIONS_SYSTEM_PROMPT = [
  'You suggest short replies for a chat app user.',
  `Given the recent conversation, write exactly ${SUGGESTION_COUNT} different short replies (at most 10 words each) that "Me" could send next.`,
  'Write them in the language the conversation is written in.',
  'Answer with a JSON array of strings only, for example ["Sounds good!", "What time?", "Can\'t today, sorry"].',
].join(' ');

const CJK = /[\p{Script=Han}\p{Script=Hiragana}\p{Script=Katakana}\p{Script=Hangul}]/u;

/** Used only when the model gave fewer than three usable replies. */
function fallbacks(sample: string): string[] {
  if (/[\p{Script=Hiragana}\p{Script=Katakana}]/u.test(sample)) return ['はい', 'ありがとう！', 'また後で'];
  if (/\p{Script=Hangul}/u.test(sample)) return ['네', '고마워요!', '나중에 얘기해요'];
  if (CJK.test(sample)) return ['好的', '谢谢！', '稍后再聊'];
  return ['OK', 'Thanks!', 'Talk later'];
}

function clean(value: string): string {
  let text = value.replace(/\s+/g, ' ').trim();
  text = text.replace(/^["'“”‘’「」『』]+|["'“”‘’「」『』]+$/gu, '').trim();
  const chars = [...text];
  return chars.length > MAX_SUGGESTION_CHARS ? chars.slice(0, MAX_SUGGESTION_CHARS).join('') : text;
}

function fromJson(text: string): string[] | undefined {
  const start = text.indexOf('[');
  const end = text.lastIndexOf(']');
  if (start < 0 || end <= start) return undefined;
  try {
    const parsed: unknown = JSON.parse(text.slice(start, end + 1));
    if (!Array.isArray(parsed)) return undefined;
    return parsed
      .map((item) =>
        typeof item === 'string' ? item : typeof item === 'object' && item !== null && typeof (item as { text?: unknown }).text === 'string' ? (item as { text: string }).text : '',
      )
      .filter(Boolean);
  } catch {
    return undefined;
  }
}

function fromLines(text: string): string[] {
  return text
    .split(/\r?\n/)
    .map((line) => line.replace(/^\s*(?:[-*•·]|\d+\s*[.)、:：]|[(（]\d+[)）])\s*/u, ''))
    .filter((line) => line.trim() !== '' && !/[:：]\s*$/u.test(line.trim()) && !line.trim().startsWith('```'));
}

/**
 * Exactly SUGGESTION_COUNT distinct, non-empty replies from whatever the model wrote: a JSON array
 * (maybe in a code fence or after a sentence), else one reply per line (bullets and numbers
 * removed); padded with plain replies in the conversation's script when the model gave too few.
 */
export function parseSuggestions(output: string, conversationSample: string): string[] {
  const candidates = fromJson(output) ?? fromLines(output);
  const unique: string[] = [];
  for (const candidate of candidates.map(clean)) {
    if (candidate && !unique.includes(candidate)) unique.push(candidate);
    if (unique.length === SUGGESTION_COUNT) return unique;
  }
  for (const filler of fallbacks(conversationSample || output)) {
    if (unique.length === SUGGESTION_COUNT) break;
    if (!unique.includes(filler)) unique.push(filler);
  }
  return unique;
}
