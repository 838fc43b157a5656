import { createHash, randomBytes } from 'node:crypto';

/** md5 hex of a Fernet token: the message id carried in front of every frame. */
export function messageId(token: string): string {
  return createHash('md5').update(token, 'latin1').digest('hex');
}

/** A random opaque token (e.g. a resume session), 32 bytes in base64url. */
export function randomToken(bytes = 32): string {
  return randomBytes(bytes).toString('base64url');
}

/** SHA-256 hex of a token, for storing session tokens without storing them. */
export function tokenDigest(token: string): string {
  return createHash('sha256').update(token, 'utf8').digest('hex');
}
