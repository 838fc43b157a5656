import { describe, expect, it } from '@jest/globals';
import { createCipheriv, createHash, createHmac, randomBytes } from 'node:crypto';
import fc from 'fast-check';
import { encodeFrame, parseFrame } from './frame.js';
import { ProtocolError } from './errors.js';
import { MAX_FRAME_LENGTH } from './limits.js';

// A real Fernet token built here with node:crypto, so protocol's tests need no
// other Enigma package (protocol imports nothing of ours).
function fernetToken(plaintext: Uint8Array): string {
  const key = randomBytes(32);
  const iv = randomBytes(16);
  const cipher = createCipheriv('aes-128-cbc', key.subarray(16), iv);
  const body = Buffer.concat([Buffer.from([0x80]), Buffer.alloc(8), iv, cipher.update(plaintext), cipher.final()]);
  const mac = createHmac('sha256', key.subarray(0, 16)).update(body).digest();
  const b64 = Buffer.concat([body, mac]).toString('base64url');
  return b64 + '='.repeat((4 - (b64.length % 4)) % 4);
}

function reasonOf(frame: unknown): string {
  try {
    parseFrame(frame);
  } catch (error) {
    if (ProtocolError.is(error, 'malformedFrame')) return error.reason;
    throw error;
  }
  return 'accepted';
}

describe('parseFrame', () => {
  const token = fernetToken(Buffer.from('привет, мир! '.repeat(5)));

  it('should accept md5hex(token) + token and return both parts', () => {
    const frame = encodeFrame(token);
    expect(frame.slice(0, 32)).toBe(createHash('md5').update(token).digest('hex'));
    expect(parseFrame(frame)).toEqual({ id: frame.slice(0, 32), token });
  });

  it.each([
    ['a number', 42, /must be a string/],
    ['null', null, /must be a string/],
    ['an object', { frame: 'x' }, /must be a string/],
    ['an empty string', '', /too short/],
    ['a bare token with no id', token, /32 lowercase hex|md5/],
    ['an uppercase id', encodeFrame(token).slice(0, 32).toUpperCase() + token, /lowercase hex/],
    ['an id of another token', encodeFrame(fernetToken(Buffer.from('x'))).slice(0, 32) + token, /does not match the md5/],
    ['a token that is not base64url', encodeFrame(token.replace(/^g.../, 'g+/=')), /not padded base64url/],
    ['a token without its padding', encodeFrame(token.replace(/=+$/, '')), /not padded base64url|length/],
    ['a token with the wrong version byte', encodeFrame('h' + token.slice(1)), /version byte/],
    ['a token three bytes short', encodeFrame(token.slice(0, 40) + token.slice(44)), /57 \+ 16k/],
    ['a frame over the limit', encodeFrame(fernetToken(new Uint8Array(MAX_FRAME_LENGTH))), /at most 65536/],
  ])('should refuse %s with a reason', (_name, frame, reason) => {
    expect(reasonOf(frame)).toMatch(reason);
  });

  it('should refuse a token with no ciphertext block (57 bytes)', () => {
    const shortToken = Buffer.concat([Buffer.from([0x80]), Buffer.alloc(56)]).toString('base64url') + '';
    expect(reasonOf(encodeFrame(shortToken))).toMatch(/too short|57 \+ 16k/);
  });

  it('should refuse a non-canonical spelling of a valid token', () => {
    // Flip an unused low bit of the last data character: same bytes, other string.
    const padded = token.endsWith('==') ? token : fernetToken(Buffer.alloc(16));
    const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
    const i = padded.length - 3;
    const twisted = padded.slice(0, i) + alphabet[alphabet.indexOf(padded[i]!) ^ 1] + padded.slice(i + 1);
    if (padded.endsWith('==')) expect(reasonOf(encodeFrame(twisted))).toMatch(/canonical/);
  });

  it('should round-trip any well-formed token (property)', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 2048 }), (plaintext) => {
        const t = fernetToken(plaintext);
        expect(parseFrame(encodeFrame(t))).toEqual({ id: createHash('md5').update(t).digest('hex'), token: t });
      }),
      { numRuns: 300 },
    );
  });

  it('should reject, or give another id to, a frame with any one character changed (property)', () => {
    const frame = encodeFrame(token);
    const chars = '0123456789abcdefABCDEFghijklmnopqrstuvwxyzGHIJKLMNOPQRSTUVWXYZ-_=+/ \u0000é';
    fc.assert(
      fc.property(fc.nat({ max: frame.length - 1 }), fc.constantFrom(...chars), (position, replacement) => {
        fc.pre(frame[position] !== replacement);
        const changed = frame.slice(0, position) + replacement + frame.slice(position + 1);
        let parsed;
        try {
          parsed = parseFrame(changed);
        } catch (error) {
          expect(ProtocolError.is(error, 'malformedFrame')).toBe(true);
          return;
        }
        expect(parsed.id).not.toBe(frame.slice(0, 32));
      }),
      { numRuns: 2000 },
    );
  });
});
