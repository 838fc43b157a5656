import { describe, expect, it } from '@jest/globals';
import { formatSize, parseSize } from './size.js';

describe(parseSize, () => {
  it.each([
    ['64MiB', 64 * 1024 ** 2],
    ['64mib', 64 * 1024 ** 2],
    ['1.5 GiB', 1.5 * 1024 ** 3],
    ['500MB', 500_000_000],
    ['12kB', 12_000],
    ['4096', 4096],
    ['0', 0],
    ['2TiB', 2 * 1024 ** 4],
  ])('should read %s as %d bytes', (text, bytes) => {
    expect(parseSize(text)).toEqual({ ok: true, bytes });
  });

  it.each(['', 'MiB', '-1MiB', '12 parsecs', '1e9', '0x10', '2000TiB'])('should refuse %j with a reason', (text) => {
    expect(parseSize(text)).toMatchObject({ ok: false, reason: expect.any(String) });
  });
});

describe(formatSize, () => {
  it('should write a size in the largest unit that divides it', () => {
    expect([256 * 1024 ** 2, 1024 ** 3, 1536, 1000].map(formatSize)).toEqual(['256MiB', '1GiB', '1536B', '1000B']);
  });
});
