import { describe, expect, it } from 'vitest';
import { containsQuery, messageTokens, queryTokens } from '../../src/shared/search-tokens.js';

describe('search tokens', () => {
  it('cuts CJK text into characters and bigrams, other words into trigrams, lowercased', () => {
    expect(messageTokens('北京开会')).toEqual(['北', '京', '开', '会', '北京', '京开', '开会']);
    expect(messageTokens('Hello, WORLD!')).toEqual(['hel', 'ell', 'llo', 'wor', 'orl', 'rld']);
    // A CJK run and a Latin run touching each other are cut apart.
    expect(messageTokens('在Shanghai开')).toEqual(['在', 'sha', 'han', 'ang', 'ngh', 'gha', 'hai', '开']);
    expect(messageTokens('ok 好')).toEqual(['好']);
  });

  it('gives a query the tokens every message containing it has: bigrams for CJK words, the character alone for one', () => {
    expect(queryTokens('北京')).toEqual(['北京']);
    expect(queryTokens('京')).toEqual(['京']);
    expect(queryTokens('明天去北京')).toEqual(['明天', '天去', '去北', '北京']);
    expect(queryTokens('meeting IN')).toEqual(['mee', 'eet', 'eti', 'tin', 'ing']);
    expect(queryTokens('in %')).toEqual([]);
    for (const [text, query] of [
      ['我们明天去北京开会', '去北京开'],
      ['The superwalrusly thing', 'WALRUS'],
      ['下周在Shanghai开会', '在shanghai开会'],
    ] as const) {
      expect(containsQuery(text, query)).toBe(true);
      const have = new Set(messageTokens(text));
      for (const token of queryTokens(query)) expect(have.has(token)).toBe(true);
    }
  });
});
