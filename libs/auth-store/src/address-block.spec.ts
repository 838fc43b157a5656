import { describe, expect, it } from '@jest/globals';
import fc from 'fast-check';
import { addressBlock } from './address-block.js';

describe(addressBlock, () => {
  it.each([
    ['192.0.2.7', '192.0.2.7'],
    ['::ffff:192.0.2.7', '192.0.2.7'],
    ['::FFFF:c000:0207', '192.0.2.7'],
    ['2001:db8:1:2::1', '2001:db8:1:2::/64'],
    ['2001:db8:1:2:ffff:ffff:ffff:fffe', '2001:db8:1:2::/64'],
    ['2001:0DB8:0001:0002:0000:0000:0000:0001', '2001:db8:1:2::/64'],
    ['::1', '0:0:0:0::/64'],
    ['fe80::1%eth0', 'fe80:0:0:0::/64'],
    ['not an address', 'not an address'],
  ])('should count %s as %s', (address, block) => {
    expect(addressBlock(address)).toBe(block);
  });

  it('should put every address of one /64 in one block, however it is written, and addresses of other /64s in others', () => {
    const group = fc.integer({ min: 0, max: 0xffff });
    const ipv4Mapped = (g: number[]): boolean => g.slice(0, 5).every((x) => x === 0) && g[5] === 0xffff;
    const groups = fc.tuple(group, group, group, group, group, group, group, group).filter((g) => !ipv4Mapped(g));
    // The same address written full, or with its longest run of zeros as `::`.
    const spellings = (g: number[]): string[] => {
      const full = g.map((x) => x.toString(16)).join(':');
      const match = /(^|:)0(:0)+(:|$)/.exec(full);
      return match === null ? [full] : [full, `${full.slice(0, match.index)}::${full.slice(match.index + match[0].length)}`];
    };
    fc.assert(
      fc.property(groups, groups, (a, b) => {
        const host = [...a.slice(0, 4), ...b.slice(4)];
        fc.pre(!ipv4Mapped(host));
        for (const spelling of [...spellings(a), ...spellings(host)]) expect(addressBlock(spelling)).toBe(addressBlock(spellings(a)[0]!));
        const samePrefix = a.slice(0, 4).every((x, i) => x === b[i]);
        expect(addressBlock(spellings(a)[0]!) === addressBlock(spellings(b)[0]!)).toBe(samePrefix);
      }),
    );
  });
});
