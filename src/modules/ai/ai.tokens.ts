import { AppError } from '../../shared/errors.js';
import type { ChatTurn } from './ai.providers.js';

/**
 * Token counting without a tokenizer per provider: a conservative estimate that errs towards
 * "more tokens", so a prompt built to fit the budget also fits the model's real window.
 * - Every CJK character (Han, kana, Hangul, CJK punctuation and full-width forms) counts as one
 *   token: BPE vocabularies spend about one token on each, sometimes less, rarely more.
 * - Everything else counts as one token per 3 characters (English averages about 4 per token).
 * - Every message adds 4 tokens for the role and separators the chat formats wrap it in.
 */
const CJK = /[\p{Script=Han}\p{Script=Hiragana}\p{Script=Katakana}\p{Script=Hangul}\u3000-\u303f\uff00-\uffef]/u;
export const TOKENS_PER_MESSAGE = 4;

export function estimateTokens(text: string): number {
  let cjk = 0;
  let other = 0;
  for (const char of text) {
    if (CJK.test(char)) cjk++;
    else other++;
  }
  return cjk + Math.ceil(other / 3);
}

export function estimateTurns(turns: readonly ChatTurn[]): number {
  return turns.reduce((sum, turn) => sum + estimateTokens(turn.content) + TOKENS_PER_MESSAGE, 0);
}

/**
 * The system prompt plus as much of `history` (oldest first, the new user message last) as fits
 * `budget` tokens, dropping the oldest turns first (and a reply left without its question). The
 * last turn must fit, or the request is refused.
 */
export function fitToBudget(system: string, history: readonly ChatTurn[], budget: number): { turns: ChatTurn[]; dropped: number; tokens: number } {
  const systemTurn: ChatTurn[] = system ? [{ role: 'system', content: system }] : [];
  let tokens = estimateTurns(systemTurn);
  const kept: ChatTurn[] = [];
  for (let index = history.length - 1; index >= 0; index--) {
    const turn = history[index] as ChatTurn;
    const cost = estimateTokens(turn.content) + TOKENS_PER_MESSAGE;
    if (tokens + cost > budget) {
      if (kept.length === 0) throw new AppError('PAYLOAD_TOO_LARGE', `the message is longer than the AI context budget (${budget} tokens with the system prompt)`);
      break;
    }
    tokens += cost;
    kept.unshift(turn);
  }
  // A reply whose question was dropped would open the history mid-exchange (and Gemini wants a user turn first).
  while (kept.length > 1 && kept[0]?.role === 'assistant') tokens -= estimateTokens((kept.shift() as ChatTurn).content) + TOKENS_PER_MESSAGE;
  return { turns: [...systemTurn, ...kept], dropped: history.length - kept.length, tokens };
}
