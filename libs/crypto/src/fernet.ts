import { createCipheriv, createDecipheriv, hash, randomBytes, randomFillSync, timingSafeEqual } from 'node:crypto';
import type { Cipher, Decipher } from 'node:crypto';
import { CryptoError } from './errors.js';

// Fernet spec: https://github.com/fernet/spec/blob/master/Spec.md
// token = base64url(0x80 | timestamp(8, BE seconds) | IV(16) | AES-128-CBC(PKCS7) | HMAC-SHA256(32))
const VERSION = 0x80;
const IV_OFFSET = 1 + 8;
const HEADER_BYTES = IV_OFFSET + 16;
const HMAC_BYTES = 32;
const BLOCK_BYTES = 16;
const MAX_SCRATCH_BYTES = 128 * 1024;
/** SHA-256's block size: the HMAC key pads are this long. */
const SHA256_BLOCK_BYTES = 64;
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
 * than the rest of a small message's encryption. Every IV is used once and
 * wiped from the pool as it is taken.
 */
const ivPool = Buffer.alloc(4096);
let ivPoolOffset = ivPool.length;

function takeIv(into: Buffer, at: number): void {
  if (ivPoolOffset === ivPool.length) {
    randomFillSync(ivPool);
    ivPoolOffset = 0;
  }
  ivPool.copy(into, at, ivPoolOffset, ivPoolOffset + 16);
  ivPool.fill(0, ivPoolOffset, ivPoolOffset + 16);
  ivPoolOffset += 16;
}

/** `target[0, 16) ^= a[0, 16) ^ b[0, 16)`, a 32-bit word at a time. */
function xorBlock(target: Buffer, a: Buffer, b?: Buffer): void {
  for (let at = 0; at < BLOCK_BYTES; at += 4) {
    target.writeInt32LE(target.readInt32LE(at) ^ a.readInt32LE(at) ^ (b === undefined ? 0 : b.readInt32LE(at)), at);
  }
}

function invalidToken(cause?: unknown): never {
  throw new CryptoError('invalidToken', 'the token is not a valid Fernet token for this key', cause === undefined ? undefined : { cause });
}

/**
 * HMAC-SHA256 (RFC 2104) for a key shorter than a block, from two one-shot
 * `crypto.hash` calls. Why not `createHmac`: building an OpenSSL HMAC
 * context per token cost as much as hashing a 4 KiB message. The message is
 * hashed where it lies: the caller leaves the 64 bytes before it free for the
 * inner key pad, so nothing is copied. Checked against `createHmac` in the
 * tests.
 */
class PrefixedHmacSha256 {
  readonly #innerPad = Buffer.alloc(SHA256_BLOCK_BYTES, 0x36);
  /** The outer key pad followed by room for the inner digest. */
  readonly #outer = Buffer.alloc(SHA256_BLOCK_BYTES + 32, 0x5c);

  public constructor(key: Buffer) {
    xorBlock(this.#innerPad, key);
    xorBlock(this.#outer, key);
  }

  /** The MAC of `frame[64, end)`; overwrites `frame[0, 64)`. */
  public sign(frame: Buffer, end: number): Buffer {
    this.#innerPad.copy(frame, 0);
    const inner = hash('sha256', frame.subarray(0, end), 'buffer');
    inner.copy(this.#outer, SHA256_BLOCK_BYTES);
    return hash('sha256', this.#outer, 'buffer');
  }
}

/**
 * AES-128-CBC over one OpenSSL context for every message, so no cipher is
 * built per token (that cost more than encrypting 100 bytes). CBC feeds each
 * block's ciphertext into the next; a context that already encrypted earlier
 * messages therefore XORs the next message's first block with the last block
 * it wrote (`#chain`) where a fresh one would use the IV. Feeding it
 * `P1 ^ IV ^ chain` instead of `P1` cancels that and yields exactly the
 * standard CBC ciphertext under `IV` (decryption undoes it the same way).
 * Padding is done here, so every call is whole blocks and OpenSSL keeps
 * nothing back between calls. Proven against one-shot `createCipheriv` in
 * the tests, in both directions and with interleaved failures.
 */
class ChainedCbc {
  readonly #cipher: Cipher;
  readonly #decipher: Decipher;
  #encryptChain = Buffer.alloc(BLOCK_BYTES);
  #decryptChain = Buffer.alloc(BLOCK_BYTES);

  public constructor(key: Buffer) {
    const zeroIv = Buffer.alloc(BLOCK_BYTES);
    this.#cipher = createCipheriv('aes-128-cbc', key, zeroIv).setAutoPadding(false);
    this.#decipher = createDecipheriv('aes-128-cbc', key, zeroIv).setAutoPadding(false);
  }

  /** Encrypts whole blocks; the first block of `plaintext` is changed in place. */
  public encrypt(plaintext: Buffer, iv: Buffer): Buffer {
    xorBlock(plaintext, iv, this.#encryptChain);
    const ciphertext = this.#cipher.update(plaintext);
    this.#encryptChain = ciphertext.subarray(ciphertext.length - BLOCK_BYTES);
    return ciphertext;
  }

  /** Decrypts whole blocks (padding is the caller's). */
  public decrypt(ciphertext: Buffer, iv: Buffer): Buffer {
    const plaintext = this.#decipher.update(ciphertext);
    xorBlock(plaintext, iv, this.#decryptChain);
    this.#decryptChain = Buffer.from(ciphertext.subarray(ciphertext.length - BLOCK_BYTES));
    return plaintext;
  }
}

/**
 * A buffer reused from one token to the next: a fresh buffer over 4 KiB is a
 * fresh ArrayBuffer each time (about 2 µs, a tenth of a 4 KiB encryption).
 * Sizes over 128 KiB (a chat frame is at most 64 KiB) get a one-off buffer, so
 * one huge token does not stay in memory.
 */
class ScratchBuffer {
  #buffer = Buffer.alloc(8192);

  /** `length` bytes, valid until the next `take`; contents undefined. */
  public take(length: number): Buffer {
    if (length > MAX_SCRATCH_BYTES) return Buffer.allocUnsafe(length);
    if (this.#buffer.length < length) this.#buffer = Buffer.alloc(length);
    return this.#buffer.subarray(0, length);
  }
}

/** Fernet (symmetric, authenticated) on node:crypto, exact to the spec. */
export class Fernet {
  readonly #mac: PrefixedHmacSha256;
  readonly #cbc: ChainedCbc;
  /** Plaintext is padded here before encryption, then wiped. */
  readonly #padded = new ScratchBuffer();
  /** Where a token is assembled (encrypt) or decoded (decrypt) before it becomes a string or plaintext. */
  readonly #frame = new ScratchBuffer();

  /** @param key a Fernet key: 32 bytes in (url-safe) base64, 44 characters. */
  public constructor(key: string) {
    if (typeof key !== 'string' || !KEY_PATTERN.test(key)) {
      throw new CryptoError('invalidKey', 'a Fernet key is 32 bytes in url-safe base64 (44 characters)');
    }
    const bytes = Buffer.from(key, 'base64');
    if (bytes.length !== 32) throw new CryptoError('invalidKey', 'a Fernet key is 32 bytes in url-safe base64 (44 characters)');
    this.#mac = new PrefixedHmacSha256(bytes.subarray(0, 16));
    this.#cbc = new ChainedCbc(bytes.subarray(16, 32));
    bytes.fill(0);
  }

  public encrypt(plaintext: string | Uint8Array, options: EncryptOptions = {}): string {
    if (options.iv !== undefined && options.iv.length !== 16) throw new RangeError('the IV must be 16 bytes');
    const length = typeof plaintext === 'string' ? Buffer.byteLength(plaintext, 'utf8') : plaintext.length;
    // PKCS7: 1 to 16 bytes of padding, each holding the pad's length.
    const paddedLength = length - (length % BLOCK_BYTES) + BLOCK_BYTES;
    const padded = this.#padded.take(paddedLength);
    if (typeof plaintext === 'string') padded.write(plaintext, 0, 'utf8');
    else padded.set(plaintext, 0);
    padded.fill(paddedLength - length, length);

    // [room for the HMAC's key pad | version | timestamp | IV | ciphertext | HMAC]
    const start = SHA256_BLOCK_BYTES;
    const signedEnd = start + HEADER_BYTES + paddedLength;
    const frame = this.#frame.take(signedEnd + HMAC_BYTES);
    frame[start] = VERSION;
    const seconds = Math.floor((options.now?.getTime() ?? Date.now()) / 1000);
    // 8-byte big-endian seconds, without a BigInt.
    frame.writeUInt32BE(Math.floor(seconds / 2 ** 32), start + 1);
    frame.writeUInt32BE(seconds >>> 0, start + 5);
    if (options.iv === undefined) takeIv(frame, start + IV_OFFSET);
    else frame.set(options.iv, start + IV_OFFSET);
    const iv = frame.subarray(start + IV_OFFSET, start + HEADER_BYTES);

    this.#cbc.encrypt(padded, iv).copy(frame, start + HEADER_BYTES);
    padded.fill(0);
    this.#mac.sign(frame, signedEnd).copy(frame, signedEnd);
    // Padded url-safe base64, as Python's cryptography writes and expects it.
    const unpadded = frame.toString('base64url', start);
    return unpadded + '='.repeat((4 - (unpadded.length % 4)) % 4);
  }

  /** Returns the plaintext bytes; throws `CryptoError` (`invalidToken` or `expired`). */
  public decrypt(token: string, options: DecryptOptions = {}): Uint8Array {
    if (typeof token !== 'string') invalidToken();
    const frame = decodeToken(token, this.#frame.take(SHA256_BLOCK_BYTES + Math.floor((token.length * 3) / 4)));
    const bytes = frame.subarray(SHA256_BLOCK_BYTES);
    const signed = bytes.length - HMAC_BYTES;
    const expectedMac = this.#mac.sign(frame, SHA256_BLOCK_BYTES + signed);
    if (!timingSafeEqual(expectedMac, bytes.subarray(signed))) invalidToken();

    if (options.ttlSeconds !== undefined) {
      const issuedAt = Number(bytes.readBigUInt64BE(1));
      const now = Math.floor((options.now?.getTime() ?? Date.now()) / 1000);
      if (issuedAt + options.ttlSeconds < now) throw new CryptoError('expired', 'the token is older than its time to live');
      if (issuedAt > now + MAX_CLOCK_SKEW_SECONDS) invalidToken();
    }

    const padded = this.#cbc.decrypt(bytes.subarray(HEADER_BYTES, signed), bytes.subarray(IV_OFFSET, HEADER_BYTES));
    // A bad PKCS7 pad behind a valid HMAC: the key is right but the sender is
    // broken. (The HMAC is checked first, so this is no padding oracle.)
    const pad = padded.readUInt8(padded.length - 1);
    if (pad < 1 || pad > BLOCK_BYTES) invalidToken();
    for (let i = padded.length - pad; i < padded.length; i++) if (padded[i] !== pad) invalidToken();
    return padded.subarray(0, padded.length - pad);
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

/** The token's bytes, decoded into `frame` after 64 free bytes for the HMAC's key pad. */
function decodeToken(token: string, frame: Buffer): Buffer {
  if (token.length % 4 !== 0) invalidToken();
  const unpadded = token.endsWith('==') ? token.slice(0, -2) : token.endsWith('=') ? token.slice(0, -1) : token;
  const length = frame.write(unpadded, SHA256_BLOCK_BYTES, 'base64url');
  const bytes = frame.subarray(SHA256_BLOCK_BYTES, SHA256_BLOCK_BYTES + length);
  // Node's decoder skips characters outside the alphabet; encoding the bytes
  // again must give back exactly the token (a regex pass costs more on large
  // tokens). This also refuses non-canonical trailing bits.
  if (bytes.toString('base64url') !== unpadded) invalidToken();
  const ciphertextBytes = length - HEADER_BYTES - HMAC_BYTES;
  if (bytes[0] !== VERSION || ciphertextBytes < BLOCK_BYTES || ciphertextBytes % BLOCK_BYTES !== 0) invalidToken();
  return frame.subarray(0, SHA256_BLOCK_BYTES + length);
}

/** A fresh random Fernet key (32 bytes, url-safe base64 with padding, 44 characters). */
export function generateKey(): string {
  const unpadded = randomBytes(32).toString('base64url');
  return `${unpadded}=`;
}
