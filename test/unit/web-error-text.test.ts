import { describe, expect, it } from 'vitest';
import { ERROR_CODES } from '../../src/contract/errors.js';
import { codeSentences, errorSentence } from '../../web/src/error-text.js';

const HAN = /\p{Script=Han}/u;
const iso = (value: string) => `<${value}>`;

describe('web error sentences', () => {
  it('has a sentence for every error code of the contract, in English and in Chinese', () => {
    const en = codeSentences('en');
    const zh = codeSentences('zh');
    for (const code of ERROR_CODES) {
      expect(en[code], code).toMatch(/^[A-Z].+\.$/);
      expect(zh[code], code).toMatch(HAN);
      expect(errorSentence({ code }, 'en', iso), code).toBe(en[code]);
      expect(errorSentence({ code }, 'zh', iso), code).toBe(zh[code]);
    }
    expect(Object.keys(en).sort()).toEqual([...ERROR_CODES].sort());
    expect(Object.keys(zh).sort()).toEqual([...ERROR_CODES].sort());
  });

  it('says what is wrong with a field, by its label, instead of the validator’s pattern', () => {
    const spaced = { code: 'VALIDATION_FAILED', details: [{ field: 'username', message: 'must match pattern "^[\\p{L}\\p{M}\\p{N}_.\\-]+$"' }] };
    expect(errorSentence(spaced, 'en', iso)).toBe('A username may contain only letters, digits, _ . and - (no spaces).');
    expect(errorSentence(spaced, 'zh', iso)).toBe('用户名只能包含字母、数字、_ . 和 -（不能有空格）。');
    const short = { code: 'VALIDATION_FAILED', details: [{ field: 'newPassword', message: 'must NOT have fewer than 8 characters' }] };
    expect(errorSentence(short, 'en', iso)).toBe('New password must be at least 8 characters.');
    expect(errorSentence(short, 'zh', iso)).toBe('新密码至少需要 8 个字符。');
    expect(errorSentence({ code: 'VALIDATION_FAILED', details: [{ field: 'profile.bio', message: 'must NOT have more than 500 characters' }] }, 'en', iso)).toBe(
      'Bio must be at most 500 characters.',
    );
    expect(errorSentence({ code: 'VALIDATION_FAILED', details: [{ field: 'weird', message: 'is odd' }] }, 'en', iso)).toBe('This field is not valid.');
    for (const text of [errorSentence(spaced, 'en', iso), errorSentence(short, 'zh', iso)]) expect(text).not.toMatch(/\\p|must|\^/);
  });

  it('puts a mute’s end, retry delays and known fields into the sentence', () => {
    const muted = { code: 'FORBIDDEN', details: [{ field: 'mutedUntil', message: '2026-12-07T10:00:00.000Z' }] };
    expect(errorSentence(muted, 'en', iso)).toBe('You are muted in this group until <2026-12-07T10:00:00.000Z>.');
    expect(errorSentence(muted, 'zh', iso)).toBe('你在本群被禁言至 <2026-12-07T10:00:00.000Z>。');
    expect(errorSentence({ code: 'RATE_LIMITED', details: { retryAfterSec: 42 } }, 'en', iso)).toBe('Too many attempts. Try again in 42 s.');
    expect(errorSentence({ code: 'RATE_LIMITED', details: { retryAfterMs: 1500 } }, 'zh', iso)).toBe('操作过于频繁，请 2 秒后再试。');
    expect(errorSentence({ code: 'FORBIDDEN', details: [{ field: 'currentPassword', message: 'is incorrect' }] }, 'en', iso)).toBe('The current password is not correct.');
    expect(errorSentence({ code: 'CONFLICT', details: [{ field: 'username', message: 'is taken' }] }, 'zh', iso)).toBe('该用户名已被占用，请换一个。');
  });

  it('reads a code it does not know (a newer server) as a generic failure', () => {
    expect(errorSentence({ code: 'SOMETHING_NEW' }, 'en', iso)).toBe(codeSentences('en').INTERNAL);
  });
});
