import { createHash } from 'node:crypto';
import { ProtocolError } from './errors.js';
import { MAX_FRAME_LENGTH } from './limits.js';

/** A frame split into its id (md5 hex of the token) and its Fernet token. */
export interface ParsedFrame {
  id: string;
  token: string;
}

/** Length of the md5 hex prefix. */
export const FRAME_ID_LENGTH = 32;

// Fernet token layout: version (1) | timestamp (8) | IV (16) | ciphertext (16k, k >= 1) | HMAC (32).
const TOKEN_OVERHEAD_BYTES = 1 + 8 + 16 + 32;
const AES_BLOCK_BYTES = 16;
const BASE64URL_PADDED = /^[A-Za-z0-9_-]+={0,2}$/;
const LOWER_HEX_32 = /^[0-9a-f]{32}$/;
const BASE64URL_ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';

/** md5 hex of a token: the message id. Not a security property, only a name. */
export function frameId(token: string): string {
  return createHash('md5').update(token, 'latin1').digest('hex');
}

/** `md5hex(token) + token`. The token is not checked here; `parseFrame` does that. */
export function encodeFrame(token: string): string {
  return frameId(token) + token;
}

function malformed(reason: string): never {
  throw new ProtocolError('malformedFrame', reason);
}

/**
 * Checks everything about a frame that can be checked without the chat key and
 * returns its parts. Throws `ProtocolError` (kind `malformedFrame`) with a
 * reason that never quotes the input.
 *
 * The token must be canonical padded base64url (as Python's `cryptography`
 * writes it), so that one token has exactly one spelling and so one id.
 */
export function parseFrame(frame: unknown, maxLength: number = MAX_FRAME_LENGTH): ParsedFrame {
  if (typeof frame !== 'string') malformed('a frame must be a string');
  if (frame.length > maxLength) malformed(`a frame must be at most ${maxLength} characters`);
  const minimumTokenChars = Math.ceil((TOKEN_OVERHEAD_BYTES + AES_BLOCK_BYTES) / 3) * 4;
  if (frame.length < FRAME_ID_LENGTH + minimumTokenChars) malformed('the frame is too short to hold an id and a Fernet token');

  const id = frame.slice(0, FRAME_ID_LENGTH);
  const token = frame.slice(FRAME_ID_LENGTH);
  if (!LOWER_HEX_32.test(id)) malformed('a frame must start with 32 lowercase hex characters (the md5 of the token)');
  if (token.length % 4 !== 0 || !BASE64URL_PADDED.test(token)) malformed('the token is not padded base64url');

  const padding = token.endsWith('==') ? 2 : token.endsWith('=') ? 1 : 0;
  const byteLength = (token.length / 4) * 3 - padding;
  const ciphertextBytes = byteLength - TOKEN_OVERHEAD_BYTES;
  if (ciphertextBytes < AES_BLOCK_BYTES || ciphertextBytes % AES_BLOCK_BYTES !== 0) {
    malformed('the token length is not 57 + 16k bytes (k >= 1)');
  }
  // 0x80 in the first byte means the first base64 character is 'g'.
  if (token.charCodeAt(0) !== 0x67) malformed('the token does not start with the Fernet version byte 0x80');
  if (padding > 0) {
    // Canonical base64 leaves the bits after the last byte zero.
    const lastValue = BASE64URL_ALPHABET.indexOf(token.charAt(token.length - padding - 1));
    const unusedBitsMask = padding === 1 ? 0b11 : 0b1111;
    if ((lastValue & unusedBitsMask) !== 0) malformed('the token is not canonical base64url');
  }
  if (frameId(token) !== id) malformed('the frame id does not match the md5 of the token');
  return { id, token };
}

/** True when `parseFrame` would accept the value. */
export function isWellFormedFrame(frame: unknown, maxLength?: number): frame is string {
  try {
    parseFrame(frame, maxLength);
    return true;
  } catch {
    return false;
  }
}
