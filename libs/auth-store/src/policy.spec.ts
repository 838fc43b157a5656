import { describe, expect, it } from '@jest/globals';
import fc from 'fast-check';
import { checkNewPassword, normalizeUsername } from './policy.js';

describe('normalizeUsername', () => {
  it.each(['alice', 'Алиса', 'bob_42', 'j.doe-1', 'Ölçü', '山田', 'x'.repeat(32)])('should accept %s', (name) => {
    expect(normalizeUsername(name)).toMatchObject({ ok: true, username: name.normalize('NFC') });
  });

  it.each([
    ['', /empty/],
    ['x'.repeat(33), /at most 32/],
    ['has space', /letters, digits/],
    ['semi;colon', /letters, digits/],
    ['emoji🙂', /letters, digits/],
    ['\u0301abc', /combining mark/],
    ['lone\uD800', /text/],
  ])('should refuse %j with a reason', (name, reason) => {
    const result = normalizeUsername(name);
    expect(result.ok).toBe(false);
    if (!result.ok) expect(result.reason).toMatch(reason);
  });

  it('should give Alice and alice, АЛИСА and алиса the same key', () => {
    expect(normalizeUsername('Alice')).toMatchObject({ key: 'alice' });
    const upper = normalizeUsername('АЛИСА');
    const lower = normalizeUsername('алиса');
    expect(upper.ok && lower.ok && upper.key === lower.key).toBe(true);
  });

  it('should treat composed and decomposed spellings as one name (NFC)', () => {
    const composed = normalizeUsername('Jos\u00e9');
    const decomposed = normalizeUsername('Jose\u0301');
    expect(composed).toEqual(decomposed);
  });

  it('should be idempotent and never produce a name over 32 characters (property)', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'grapheme', maxLength: 40 }), (raw) => {
        const once = normalizeUsername(raw);
        if (!once.ok) return;
        expect([...once.username].length).toBeLessThanOrEqual(32);
        expect(normalizeUsername(once.username)).toEqual(once);
        expect(normalizeUsername(once.username.toUpperCase()).ok ? normalizeUsername(once.username.toUpperCase()) : once).toMatchObject({});
      }),
      { numRuns: 500 },
    );
  });

  it('should fold case consistently: a name and its upper-case form share the key when both are valid (property)', () => {
    fc.assert(
      // One script per name: Latin and Cyrillic mixed in one name are refused (TR39, names.spec.ts).
      fc.property(fc.oneof(fc.stringMatching(/^[a-z0-9_.-]{1,32}$/), fc.stringMatching(/^[а-яё0-9_.-]{1,32}$/)), (name) => {
        const lower = normalizeUsername(name);
        const upper = normalizeUsername(name.toUpperCase());
        expect(lower.ok && upper.ok && lower.key === upper.key).toBe(true);
      }),
      { numRuns: 300 },
    );
  });
});

describe('checkNewPassword', () => {
  it('should refuse passwords shorter than the minimum, configurable', () => {
    expect(checkNewPassword('Tr0ub4dor&3')).toEqual({ ok: false, reason: 'use at least 12 characters' });
    expect(checkNewPassword('correct-horse-battery', { minLength: 30 })).toEqual({ ok: false, reason: 'use at least 30 characters' });
  });

  it('should refuse passwords over 1024 characters', () => {
    expect(checkNewPassword('ab1!'.repeat(300))).toEqual({ ok: false, reason: 'use at most 1024 characters' });
  });

  it.each(['password1234', 'qwertyuiopasdf', '123456789012', 'iloveyou1234', 'aaaaaaaaaaaa'])('should refuse the common or trivial password %s', (password) => {
    const result = checkNewPassword(password);
    expect(result.ok).toBe(false);
    if (!result.ok) expect(result.reason).toMatch(/too easy to guess/);
  });

  it('should accept a long passphrase, Cyrillic included', () => {
    expect(checkNewPassword('correct-horse-battery-staple-42')).toEqual({ ok: true });
    expect(checkNewPassword('съешь же ещё этих булок')).toEqual({ ok: true });
  });
});
