import { describe, expect, it } from 'vitest';
import type { ChatTurn } from '../../src/modules/ai/ai.providers.js';
import { estimateTokens, fitToBudget, TOKENS_PER_MESSAGE } from '../../src/modules/ai/ai.tokens.js';

const turn = (role: ChatTurn['role'], content: string): ChatTurn => ({ role, content });

describe('AI context fitter', () => {
  it('counts a CJK character as one token and other text as one per three characters, rounded up', () => {
    expect(estimateTokens('你好世界')).toBe(4);
    expect(estimateTokens('abcdefg')).toBe(3);
    expect(estimateTokens('你好 abc')).toBe(2 + 2);
    expect(estimateTokens('')).toBe(0);
  });

  it('keeps the newest turns that fit and drops the oldest first', () => {
    const history = [turn('user', 'a'.repeat(30)), turn('assistant', 'b'.repeat(30)), turn('user', 'c'.repeat(30))];
    const each = 10 + TOKENS_PER_MESSAGE;
    const fitted = fitToBudget('', history, each * 2);
    expect(fitted.turns.map((t) => t.content[0])).toEqual(['c']);
    // The reply "b" fitted, but a history must not open with a reply whose question was dropped.
    expect(fitted.dropped).toBe(2);
    expect(fitted.tokens).toBe(each);
  });

  it('always keeps the system prompt first and counts it', () => {
    const fitted = fitToBudget('be brief', [turn('user', 'hi')], 100);
    expect(fitted.turns).toEqual([turn('system', 'be brief'), turn('user', 'hi')]);
    expect(fitted.tokens).toBe(estimateTokens('be brief') + estimateTokens('hi') + 2 * TOKENS_PER_MESSAGE);
    expect(fitted.dropped).toBe(0);
  });

  it('refuses a newest message that cannot fit on its own with PAYLOAD_TOO_LARGE', () => {
    expect(() => fitToBudget('', [turn('user', 'x'.repeat(300))], 50)).toThrowError(expect.objectContaining({ code: 'PAYLOAD_TOO_LARGE' }));
  });
});
