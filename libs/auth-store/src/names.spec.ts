import { describe, expect, it } from '@jest/globals';
import { isHighlyRestrictive, nameSkeleton, skeleton } from './names.js';
import { normalizeUsername } from './policy.js';

// The impersonations of issue 16, item 2.
const ATTACKS: Array<[string, string]> = [
  ['\u0430lice', 'Cyrillic а'],
  ['\uff41lice', 'full-width a'],
  ['\u03b1lice', 'Greek α'],
  ['alice\u034f', 'combining grapheme joiner'],
  ['alice\ufe0f', 'variation selector 16'],
  ['alice\u180b', 'Mongolian free variation selector'],
  ['alice\u3164', 'Hangul filler'],
  ['\u3164', 'only a Hangul filler'],
  ['\u3164\u3164', 'Hangul fillers'],
  ['a\u115flice', 'Hangul choseong filler'],
  ['alic\u1160e', 'Hangul jungseong filler'],
  ['ali\uffa0ce', 'half-width Hangul filler'],
  ['alice\u200d', 'zero-width joiner'],
  ['\ud835\udc1alice', 'mathematical bold a'],
];

describe('usernames that imitate others (TR39)', () => {
  it.each(ATTACKS)('should refuse %j (%s) whatever names exist', (name) => {
    expect(normalizeUsername(name).ok).toBe(false);
  });

  it.each(['alice', 'Alice', 'алиса', 'Анна_42', 'Ölçü', '山田', '山田タロウ', 'tanaka山田', '김민준', 'Kim김민준', 'Ελένη', 'jose.maria-2', 'x'.repeat(32)])(
    'should accept %j',
    (name) => {
      expect(normalizeUsername(name)).toMatchObject({ ok: true, username: name });
    },
  );

  it('should say why a mixed name is refused', () => {
    expect(normalizeUsername('\u0430lice')).toEqual({ ok: false, reason: 'a username must not mix scripts (this one mixes Cyrillic, Latin)' });
    expect(normalizeUsername('alice\u3164')).toEqual({ ok: false, reason: 'a username must not contain invisible or filler characters (U+3164)' });
    expect(normalizeUsername('\uff41lice')).toMatchObject({ ok: false, reason: expect.stringMatching(/ordinary letters/) });
  });

  it('should follow the highly restrictive profile', () => {
    expect(isHighlyRestrictive('alice')).toBe(true);
    expect(isHighlyRestrictive('ひらがなカタカナ漢字abc')).toBe(true); // Latin + Han + Hiragana + Katakana
    expect(isHighlyRestrictive('漢字ㄅabc')).toBe(true); // Latin + Han + Bopomofo
    expect(isHighlyRestrictive('한글漢字abc')).toBe(true); // Latin + Han + Hangul
    expect(isHighlyRestrictive('한글かな')).toBe(false); // Hangul + Hiragana
    expect(isHighlyRestrictive('abcαβγ')).toBe(false);
    expect(isHighlyRestrictive('абв123_')).toBe(true);
  });

  it('should give look-alike names one skeleton, whatever their case', () => {
    expect(skeleton('\u0430lice')).toBe('alice');
    expect(skeleton('ALICE')).toBe('ALlCE');
    for (const lookalike of ['alice', 'Alice', 'ALICE'.toLowerCase(), 'AIice', '\u0430lice', '\uff41lice', '\u03b1lice', 'a\u217cice']) {
      expect(nameSkeleton(lookalike)).toBe(nameSkeleton('Alice'));
    }
    // Whole-script look-alikes: an all-Cyrillic name that reads as a Latin one.
    expect(nameSkeleton('\u0412\u041e\u0412')).toBe(nameSkeleton('bob'));
    // Names that only share letters do not meet.
    expect(nameSkeleton('alicia')).not.toBe(nameSkeleton('alice'));
    expect(nameSkeleton('алиса')).not.toBe(nameSkeleton('alice'));
  });
});
