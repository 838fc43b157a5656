import { describe, expect, it } from '@jest/globals';
import fc from 'fast-check';
import { createCipheriv, createHmac, randomBytes } from 'node:crypto';
import { Fernet, generateKey } from './fernet.js';

// Fernet keeps one cipher context across tokens and builds its HMAC from
// one-shot hashes (see fernet.ts). These properties hold it to the textbook
// construction, built here per token from createCipheriv and createHmac,
// over long sequences on one instance, so state carried from one token to
// the next (including after a refused token) would show.

/** The spec's token, the plain way: a fresh cipher and HMAC per token. */
function referenceToken(key: string, plaintext: Uint8Array, iv: Uint8Array, seconds: number, options: { breakPadding?: boolean } = {}): string {
  const bytes = Buffer.from(key, 'base64url');
  const cipher = createCipheriv('aes-128-cbc', bytes.subarray(16), iv);
  let ciphertext: Buffer;
  if (options.breakPadding) {
    // A valid HMAC over a plaintext whose last byte is no PKCS7 pad (0).
    cipher.setAutoPadding(false);
    const unpadded = Buffer.alloc(plaintext.length - (plaintext.length % 16) + 16);
    unpadded.set(plaintext);
    ciphertext = Buffer.concat([cipher.update(unpadded), cipher.final()]);
  } else {
    ciphertext = Buffer.concat([cipher.update(plaintext), cipher.final()]);
  }
  const header = Buffer.alloc(25);
  header[0] = 0x80;
  header.writeBigUInt64BE(BigInt(seconds), 1);
  header.set(iv, 9);
  const signed = Buffer.concat([header, ciphertext]);
  const mac = createHmac('sha256', bytes.subarray(0, 16)).update(signed).digest();
  const unpadded = Buffer.concat([signed, mac]).toString('base64url');
  return unpadded + '='.repeat((4 - (unpadded.length % 4)) % 4);
}

const message = fc.record({
  plaintext: fc.uint8Array({ maxLength: 5000 }),
  iv: fc.uint8Array({ minLength: 16, maxLength: 16 }),
  seconds: fc.integer({ min: 0, max: 2 ** 40 }),
});

describe('Fernet against the textbook construction', () => {
  it('should write exactly the reference token for every message of a long sequence on one instance', () => {
    fc.assert(
      fc.property(fc.array(message, { minLength: 1, maxLength: 40 }), (messages) => {
        const key = generateKey();
        const fernet = new Fernet(key);
        for (const { plaintext, iv, seconds } of messages) {
          expect(fernet.encrypt(plaintext, { iv, now: new Date(seconds * 1000) })).toBe(referenceToken(key, plaintext, iv, seconds));
        }
      }),
      { numRuns: 200 },
    );
  });

  it('should read every reference token of a sequence interleaved with refused ones (bad HMAC, bad padding)', () => {
    const step = fc.record({ message, spoil: fc.constantFrom('none', 'mac', 'padding') });
    fc.assert(
      fc.property(fc.array(step, { minLength: 1, maxLength: 40 }), (steps) => {
        const key = generateKey();
        const fernet = new Fernet(key);
        for (const { message: m, spoil } of steps) {
          if (spoil === 'none') {
            expect(Buffer.from(fernet.decrypt(referenceToken(key, m.plaintext, m.iv, m.seconds)))).toEqual(Buffer.from(m.plaintext));
          } else if (spoil === 'mac') {
            const otherKey = generateKey();
            expect(() => fernet.decrypt(referenceToken(otherKey, m.plaintext, m.iv, m.seconds))).toThrow(expect.objectContaining({ kind: 'invalidToken' }));
          } else {
            expect(() => fernet.decrypt(referenceToken(key, m.plaintext, m.iv, m.seconds, { breakPadding: true }))).toThrow(
              expect.objectContaining({ kind: 'invalidToken' }),
            );
          }
        }
      }),
      { numRuns: 200 },
    );
  });

  it('should keep encryption and decryption apart on one instance (alternating, both ways)', () => {
    const key = generateKey();
    const fernet = new Fernet(key);
    for (let i = 0; i < 300; i++) {
      const text = randomBytes(1 + (i % 97) * 13);
      const iv = randomBytes(16);
      expect(Buffer.from(fernet.decrypt(fernet.encrypt(text)))).toEqual(text);
      expect(Buffer.from(fernet.decrypt(referenceToken(key, text, iv, 1_700_000_000)))).toEqual(text);
      expect(fernet.encrypt(text, { iv, now: new Date(1_700_000_000_000) })).toBe(referenceToken(key, text, iv, 1_700_000_000));
    }
  });
});
