import { describe, expect, it } from 'vitest';
import { parseRetryAfter } from '../../src/modules/push/index.js';

describe('parseRetryAfter (RFC 9110 §10.2.3)', () => {
  const now = Date.parse('2026-12-07T06:00:00Z');

  it('reads delay-seconds and HTTP dates, in milliseconds from now', () => {
    expect(parseRetryAfter('120', now)).toBe(120_000);
    expect(parseRetryAfter(' 0 ', now)).toBe(0);
    expect(parseRetryAfter('Mon, 07 Dec 2026 06:00:30 GMT', now)).toBe(30_000);
    // A date already past: retry now.
    expect(parseRetryAfter('Mon, 07 Dec 2026 05:00:00 GMT', now)).toBe(0);
    expect(parseRetryAfter(['5', '9'], now)).toBe(5_000);
  });

  it('is undefined when absent or unreadable', () => {
    for (const value of [undefined, '', '-1', '1.5', 'soon', []]) expect(parseRetryAfter(value, now)).toBeUndefined();
  });
});
