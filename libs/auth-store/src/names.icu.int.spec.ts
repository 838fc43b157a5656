// Cross-checks our TR39 skeleton (a table generated once from ICU, see
// tools/unicode/README.md) against ICU's own SpoofChecker, through python3-icu.
import { describe, expect, it } from '@jest/globals';
import { spawnSync } from 'node:child_process';
import { randomInt } from 'node:crypto';
import { pythonOrSkip } from '../../../tools/testing/python.mjs';
import { skeleton } from './names.js';
import { CONFUSABLES } from './unicode-data.generated.js';

const python = pythonOrSkip(['icu']);

// Strings ICU does not know every character of (assigned after its Unicode
// version, or unassigned) come back as null and are not compared.
const icuSkeletons = `
import json, sys, icu
checker = icu.SpoofChecker()
def known(s):
    return all(icu.Char.isdefined(ord(c)) for c in s)
json.dump([checker.getSkeleton(0, s) if known(s) else None for s in json.load(sys.stdin)], sys.stdout)
`;

const ATTACKS = [
  '\u0430lice',
  '\uff41lice',
  '\u03b1lice',
  'alice\u034f',
  'alice\ufe0f',
  'alice\u180b',
  'alice\u3164',
  '\u3164',
  'ALICE',
  'AIice',
  'rnallory',
  'Ⅿallory',
  '\u0412\u041e\u0412',
];

(python === undefined ? describe.skip : describe)('TR39 skeleton, compared with ICU', () => {
  it("should give ICU's skeleton for the attack strings, every mapped character and thousands of random strings", () => {
    const sources = CONFUSABLES.split(';')
      .filter(Boolean)
      .map((entry) => String.fromCodePoint(Number.parseInt(entry.split(':')[0]!, 16)));
    const samples = [...ATTACKS, ...sources];
    // Random strings mixing mapped characters, their decomposed forms, ASCII and random code points.
    for (let i = 0; i < 3000; i++) {
      let text = '';
      for (let n = randomInt(1, 8); n > 0; n--) {
        const pick = randomInt(4);
        if (pick === 0) text += sources[randomInt(sources.length)]!.normalize(randomInt(2) === 0 ? 'NFC' : 'NFD');
        else if (pick === 1) text += String.fromCharCode(randomInt(0x21, 0x7f));
        else {
          let codePoint = randomInt(0, 0x30000);
          if (codePoint >= 0xd800 && codePoint <= 0xdfff) codePoint = 0x61;
          text += String.fromCodePoint(codePoint);
        }
      }
      samples.push(text);
    }

    const run = spawnSync(python!, ['-c', icuSkeletons], { input: JSON.stringify(samples), encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
    expect(run.stderr).toBe('');
    const expected = JSON.parse(run.stdout) as Array<string | null>;
    const compared = samples.map((sample, i) => ({ sample, ours: skeleton(sample), icu: expected[i] })).filter((row) => row.icu !== null);
    expect(compared.length).toBeGreaterThan(samples.length * 0.6);
    expect(compared.filter((row) => row.ours !== row.icu)).toEqual([]);
  });
});
