import { createHash, timingSafeEqual } from 'node:crypto';
import * as argon2 from 'argon2';

/** argon2id parameters; the defaults are OWASP's minimum (m = 19 MiB, t = 2, p = 1). */
export interface PasswordHashParameters {
  memoryKiB: number;
  iterations: number;
  parallelism: number;
}

export const OWASP_ARGON2ID: PasswordHashParameters = Object.freeze({ memoryKiB: 19 * 1024, iterations: 2, parallelism: 1 });

export interface PasswordCheck {
  ok: boolean;
  /** True when the stored hash uses weaker parameters than the current ones. */
  needsRehash: boolean;
}

const ARGON2ID_PREFIX = '$argon2id$';

/** True when `stored` is a PHC string this module can verify (argon2id). */
export function isPasswordHash(stored: string): boolean {
  return stored.startsWith(ARGON2ID_PREFIX);
}

/**
 * Hashes a password into a PHC string. argon2 runs on libuv's thread pool, so
 * the event loop stays free while it works.
 */
export async function hashPassword(plain: string, parameters: PasswordHashParameters = OWASP_ARGON2ID): Promise<string> {
  return argon2.hash(plain, {
    type: argon2.argon2id,
    memoryCost: parameters.memoryKiB,
    timeCost: parameters.iterations,
    parallelism: parameters.parallelism,
  });
}

/** Checks a password against a PHC string (constant time inside argon2). Never throws on a bad hash. */
export async function verifyPassword(plain: string, phc: string, parameters: PasswordHashParameters = OWASP_ARGON2ID): Promise<PasswordCheck> {
  if (!isPasswordHash(phc)) return { ok: false, needsRehash: false };
  let ok: boolean;
  try {
    ok = await argon2.verify(phc, plain);
  } catch {
    return { ok: false, needsRehash: false };
  }
  const needsRehash = ok && argon2.needsRehash(phc, { memoryCost: parameters.memoryKiB, timeCost: parameters.iterations, parallelism: parameters.parallelism });
  return { ok, needsRehash };
}

/**
 * Compares two secrets in time independent of where they differ (and of their
 * lengths, by comparing SHA-256 digests). For legacy plaintext passwords.
 */
export function constantTimeEqual(a: string, b: string): boolean {
  const digestA = createHash('sha256').update(a, 'utf8').digest();
  const digestB = createHash('sha256').update(b, 'utf8').digest();
  return timingSafeEqual(digestA, digestB);
}
