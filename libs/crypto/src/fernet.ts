import { createCipheriv, createDecipheriv, createHmac, randomBytes, randomFillSync, timingSafeEqual } from 'node:crypto';
import { CryptoError } from './errors.js';

// Fernet spec: https://github.com/fernet/spec/blob/master/Spec.md
// token = base64url(0x80 | timestamp(8, BE seconds) | IV(16) | AES-128-CBC(PKCS7) | HMAC-SHA256(32))
const VERSION = 0x80;
const HEADER_BYTES = 1 + 8 + 16;
const HMAC_BYTES = 32;
const BLOCK_BYTES = 16;
/** The spec's allowance for clocks that run ahead, applied when a TTL is given. */
export const MAX_CLOCK_SKEW_SECONDS = 60;
const KEY_PATTERN = /^[A-Za-z0-9_\-+/]{43}=?$/;

export interface EncryptOptions {
  /** The token's timestamp; defaults to the current time. */
  now?: Date;
  /** A fixed IV, for test vectors only; defaults to 16 random bytes. */
  iv?: Uint8Array;
}

export interface DecryptOptions {
  /** Reject tokens older than this. No TTL unless asked: chat history must stay readable. */
  ttlSeconds?: number;
  now?: Date;
}

const utf8Decoder = new TextDecoder('utf-8', { fatal: true });

/**
 * IVs come from the CSPRNG in batches: one `randomBytes(16)` call costs more
 * than the rest of a small message's encryption. Every IV is a fresh slice,
 * used once.
 */
const ivPool = Buffer.alloc(4096);
let ivPoolOffset = ivPool.length;

function nextIv(): Buffer {
  if (ivPoolOffset === ivPool.length) {
    randomFillSync(ivPool);
    ivPoolOffset = 0;
  }
  const iv = Buffer.from(ivPool.subarray(ivPoolOffset, ivPoolOffset + 16));
  ivPool.fill(0, ivPoolOffset, ivPoolOffset + 16);
  ivPoolOffset += 16;
  return iv;
}

function invalidToken(cause?: unknown): never {
  throw new CryptoError('invalidToken', 'the token is not a valid Fernet token for this key', cause === undefined ? undefined : { cause });
}

/** Fernet (symmetric, authenticated) on node:crypto, exact to the spec. */
export class Fernet {
  readonly #signingKey: Buffer;
  readonly #encryptionKey: Buffer;

  /** @param key a Fernet key: 32 bytes in (url-safe) base64, 44 characters. */
  public constructor(key: string) {
    if (typeof key !== 'string' || !KEY_PATTERN.test(key)) {
      throw new CryptoError('invalidKey', 'a Fernet key is 32 bytes in url-safe base64 (44 characters)');
    }
    const bytes = Buffer.from(key, 'base64');
    if (bytes.length !== 32) throw new CryptoError('invalidKey', 'a Fernet key is 32 bytes in url-safe base64 (44 characters)');
    this.#signingKey = bytes.subarray(0, 16);
    this.#encryptionKey = bytes.subarray(16, 32);
  }

  public encrypt(plaintext: string | Uint8Array, options: EncryptOptions = {}): string {
    const iv = options.iv ?? nextIv();
    if (iv.length !== 16) throw new RangeError('the IV must be 16 bytes');
    const data = typeof plaintext === 'string' ? Buffer.from(plaintext, 'utf8') : plaintext;
    const seconds = Math.floor((options.now?.getTime() ?? Date.now()) / 1000);

    const cipher = createCipheriv('aes-128-cbc', this.#encryptionKey, iv);
    const head = cipher.update(data);
    const tail = cipher.final();
    const token = Buffer.allocUnsafe(HEADER_BYTES + head.length + tail.length + HMAC_BYTES);
    token[0] = VERSION;
    // 8-byte big-endian seconds, without a BigInt.
    token.writeUInt32BE(Math.floor(seconds / 2 ** 32), 1);
    token.writeUInt32BE(seconds >>> 0, 5);
    token.set(iv, 9);
    head.copy(token, HEADER_BYTES);
    tail.copy(token, HEADER_BYTES + head.length);
    const signed = token.length - HMAC_BYTES;
    createHmac('sha256', this.#signingKey).update(token.subarray(0, signed)).digest().copy(token, signed);
    // Padded url-safe base64, as Python's cryptography writes and expects it.
    return toPaddedBase64Url(token);
  }

  /** Returns the plaintext bytes; throws `CryptoError` (`invalidToken` or `expired`). */
  public decrypt(token: string, options: DecryptOptions = {}): Uint8Array {
    const bytes = decodeToken(token);
    const signed = bytes.length - HMAC_BYTES;
    const expectedMac = createHmac('sha256', this.#signingKey).update(bytes.subarray(0, signed)).digest();
    if (!timingSafeEqual(expectedMac, bytes.subarray(signed))) invalidToken();

    if (options.ttlSeconds !== undefined) {
      const issuedAt = Number(bytes.readBigUInt64BE(1));
      const now = Math.floor((options.now?.getTime() ?? Date.now()) / 1000);
      if (issuedAt + options.ttlSeconds < now) throw new CryptoError('expired', 'the token is older than its time to live');
      if (issuedAt > now + MAX_CLOCK_SKEW_SECONDS) invalidToken();
    }

    const decipher = createDecipheriv('aes-128-cbc', this.#encryptionKey, bytes.subarray(9, HEADER_BYTES));
    try {
      const head = decipher.update(bytes.subarray(HEADER_BYTES, signed));
      const tail = decipher.final();
      return tail.length === 0 ? head : Buffer.concat([head, tail]);
    } catch (error) {
      // A bad PKCS7 pad behind a valid HMAC: the key is right but the sender is broken.
      invalidToken(error);
    }
  }

  /** `decrypt`, then UTF-8; a token whose plaintext is not valid UTF-8 is invalid. */
  public decryptText(token: string, options?: DecryptOptions): string {
    const bytes = this.decrypt(token, options);
    try {
      return utf8Decoder.decode(bytes);
    } catch (error) {
      invalidToken(error);
    }
  }
}

function toPaddedBase64Url(bytes: Buffer): string {
  const unpadded = bytes.toString('base64url');
  return unpadded + '='.repeat((4 - (unpadded.length % 4)) % 4);
}

function decodeToken(token: string): Buffer {
  if (typeof token !== 'string' || token.length % 4 !== 0) invalidToken();
  const unpadded = token.endsWith('==') ? token.slice(0, -2) : token.endsWith('=') ? token.slice(0, -1) : token;
  const bytes = Buffer.from(unpadded, 'base64url');
  // Node's decoder skips characters outside the alphabet; encoding the bytes
  // again must give back exactly the token (a regex pass costs more on large
  // tokens). This also refuses non-canonical trailing bits.
  if (bytes.toString('base64url') !== unpadded) invalidToken();
  const ciphertextBytes = bytes.length - HEADER_BYTES - HMAC_BYTES;
  if (bytes[0] !== VERSION || ciphertextBytes < BLOCK_BYTES || ciphertextBytes % BLOCK_BYTES !== 0) invalidToken();
  return bytes;
}

/** A fresh random Fernet key (32 bytes, url-safe base64 with padding, 44 characters). */
export function generateKey(): string {
  return toPaddedBase64Url(randomBytes(32));
}
