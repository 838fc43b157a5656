import { describe, expect, it } from '@jest/globals';
import fc from 'fast-check';
import { formatDuration, MAX_DURATION_MS, parseDuration } from './duration.js';

describe(parseDuration, () => {
  it.each([
    ['90d', 90 * 86_400_000],
    ['12h', 12 * 3_600_000],
    ['30m', 30 * 60_000],
    ['45s', 45_000],
    ['2w', 14 * 86_400_000],
    [' 7d ', 7 * 86_400_000],
  ])('should read %s', (text, ms) => {
    expect(parseDuration(text)).toEqual({ ok: true, ms });
  });

  it.each(['', '90', 'd', '1.5d', '-1d', '7 d', '7days', '0d', '3651d', '1y'])('should refuse %j with a reason', (text) => {
    const parsed = parseDuration(text);
    expect(parsed.ok).toBe(false);
    if (!parsed.ok) expect(parsed.reason).toMatch(/unit|longer than zero|at most ten years/);
  });

  it('should read back what formatDuration writes', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: MAX_DURATION_MS / 1000 }), (seconds) => {
        expect(parseDuration(formatDuration(seconds * 1000))).toEqual({ ok: true, ms: seconds * 1000 });
      }),
    );
  });
});
