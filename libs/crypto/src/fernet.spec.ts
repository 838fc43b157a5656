import { describe, expect, it } from '@jest/globals';
import { readFileSync } from 'node:fs';
import { Fernet, generateKey } from './fernet.js';
import { CryptoError } from './errors.js';

// The Fernet spec's own vectors (github.com/fernet/spec), kept in this
// repository: test-vectors/fernet/README.md says where they come from.
const vectors = new URL('../test-vectors/fernet/', import.meta.url);
interface Vector {
  token: string;
  now: string;
  secret: string;
  src?: string;
  iv?: number[];
  ttl_sec?: number;
  desc?: string;
}
const load = (name: string): Vector[] => JSON.parse(readFileSync(new URL(name, vectors), 'utf8')) as Vector[];

describe('Fernet', () => {
  describe('with the spec vectors', () => {
    it.each(load('generate.json'))('should generate the exact token for "$src"', (v) => {
      const token = new Fernet(v.secret).encrypt(v.src!, { now: new Date(v.now), iv: Uint8Array.from(v.iv!) });
      expect(token).toBe(v.token);
    });

    it.each(load('verify.json'))('should verify and decrypt "$src"', (v) => {
      expect(new Fernet(v.secret).decryptText(v.token, { ttlSeconds: v.ttl_sec!, now: new Date(v.now) })).toBe(v.src);
    });

    const invalid = load('invalid.json');
    it('should hold all eight invalid vectors', () => expect(invalid).toHaveLength(8));
    it.each(invalid)('should reject the invalid token: $desc', (v) => {
      const attempt = (): Uint8Array => new Fernet(v.secret).decrypt(v.token, { ttlSeconds: v.ttl_sec!, now: new Date(v.now) });
      expect(attempt).toThrow(CryptoError);
      try {
        attempt();
      } catch (error) {
        expect(CryptoError.is(error)).toBe(true);
        expect(['invalidToken', 'expired']).toContain((error as CryptoError).kind);
      }
    });
  });

  it('should round-trip Cyrillic, emoji and empty text with a fresh key', () => {
    const fernet = new Fernet(generateKey());
    for (const text of ['', 'Привет, мир!', '👩‍👩‍👧 ok', 'x'.repeat(70_000), 'я'.repeat(100_000), 'ok']) {
      expect(fernet.decryptText(fernet.encrypt(text))).toBe(text);
    }
  });

  it('should give every encryption of the same text a different token (random IV)', () => {
    const fernet = new Fernet(generateKey());
    expect(fernet.encrypt('same')).not.toBe(fernet.encrypt('same'));
  });

  it('should write padded url-safe base64, as Python expects', () => {
    const token = new Fernet(generateKey()).encrypt('abc');
    expect(token).toMatch(/^gAAAAA[A-Za-z0-9_-]+={0,2}$/);
    expect(token.length % 4).toBe(0);
  });

  it('should refuse a token made with another key as invalidToken', () => {
    const token = new Fernet(generateKey()).encrypt('secret');
    expect(() => new Fernet(generateKey()).decrypt(token)).toThrow(expect.objectContaining({ kind: 'invalidToken' }));
  });

  it('should not expire tokens unless a TTL is asked for', () => {
    const fernet = new Fernet(generateKey());
    const old = fernet.encrypt('from 2001', { now: new Date('2001-01-01T00:00:00Z') });
    expect(fernet.decryptText(old)).toBe('from 2001');
    expect(() => fernet.decrypt(old, { ttlSeconds: 60 })).toThrow(expect.objectContaining({ kind: 'expired' }));
  });

  it('should reject a token more than 60 s in the future when a TTL is given, and accept one within 60 s', () => {
    const fernet = new Fernet(generateKey());
    const now = new Date('2026-01-01T00:00:00Z');
    const soon = fernet.encrypt('a', { now: new Date(now.getTime() + 59_000) });
    const later = fernet.encrypt('b', { now: new Date(now.getTime() + 61_000) });
    expect(fernet.decryptText(soon, { ttlSeconds: 10, now })).toBe('a');
    expect(() => fernet.decrypt(later, { ttlSeconds: 10, now })).toThrow(expect.objectContaining({ kind: 'invalidToken' }));
  });

  it('should refuse plaintext that is not UTF-8 in decryptText but return it from decrypt', () => {
    const fernet = new Fernet(generateKey());
    const token = fernet.encrypt(Uint8Array.from([0xff, 0xfe]));
    expect(Array.from(fernet.decrypt(token))).toEqual([0xff, 0xfe]);
    expect(() => fernet.decryptText(token)).toThrow(expect.objectContaining({ kind: 'invalidToken' }));
  });

  it.each([
    ['too short', 'abc'],
    ['33 bytes', Buffer.alloc(33).toString('base64url')],
    ['not base64', '!'.repeat(44)],
    ['not a string', 42 as unknown as string],
  ])('should refuse a key that is %s as invalidKey without echoing it', (_name, key) => {
    try {
      new Fernet(key);
      throw new Error('accepted a bad key');
    } catch (error) {
      expect(CryptoError.is(error, 'invalidKey')).toBe(true);
      expect((error as Error).message).not.toContain(String(key));
    }
  });

  it('should accept keys from generateKey: 44 url-safe characters', () => {
    const key = generateKey();
    expect(key).toMatch(/^[A-Za-z0-9_-]{43}=$/);
    expect(() => new Fernet(key)).not.toThrow();
  });
});
