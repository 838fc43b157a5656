import { describe, expect, it } from '@jest/globals';
import { spawnSync } from 'node:child_process';
import { randomBytes, randomInt } from 'node:crypto';
import { pythonOrSkip } from '../../../tools/testing/python.mjs';
import { Fernet, generateKey } from './fernet.js';

const python = pythonOrSkip(['cryptography']);

// One Python process: decrypts our tokens, and encrypts the same texts for us.
const interop = `
import json, sys
from cryptography.fernet import Fernet
job = json.load(sys.stdin)
f = Fernet(job["key"].encode())
out = {"decrypted": [f.decrypt(t.encode()).decode("utf-8") for t in job["tokens"]],
       "tokens": [f.encrypt(m.encode("utf-8")).decode() for m in job["texts"]]}
json.dump(out, sys.stdout)
`;

function randomText(): string {
  const alphabets = ['abcxyz ', 'Съешь же ещё этих мягких французских булок', '😀🔐👩‍💻', '\u0000\n\t"\\'].map((a) => Array.from(a));
  const length = randomInt(0, 400);
  let text = '';
  while (text.length < length) {
    const alphabet = alphabets[randomInt(alphabets.length)]!;
    text += alphabet[randomInt(alphabet.length)];
  }
  return text;
}

(python === undefined ? describe.skip : describe)('Fernet interop with Python cryptography', () => {
  it("should exchange 220 tokens both ways: ours decrypt in Python and Python's decrypt here", () => {
    const key = generateKey();
    const fernet = new Fernet(key);
    const texts = ['', 'Привет, мир!', '🙂 emoji 🚀', 'x'.repeat(64 * 1024), randomBytes(3000).toString('base64')];
    while (texts.length < 220) texts.push(randomText());
    const tokens = texts.map((t) => fernet.encrypt(t));

    const run = spawnSync(python!, ['-c', interop], { input: JSON.stringify({ key, tokens, texts }), encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
    expect(run.stderr).toBe('');
    const result = JSON.parse(run.stdout) as { decrypted: string[]; tokens: string[] };

    expect(result.decrypted).toEqual(texts);
    expect(result.tokens.map((t) => fernet.decryptText(t))).toEqual(texts);
  });
});
