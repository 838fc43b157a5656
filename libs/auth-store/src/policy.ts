import { ZxcvbnFactory } from '@zxcvbn-ts/core';
import * as common from '@zxcvbn-ts/language-common';
import { lookalikeProblem, nameSkeleton } from './names.js';

export const MAX_USERNAME_LENGTH = 32;
export const DEFAULT_MIN_PASSWORD_LENGTH = 12;
export const MAX_PASSWORD_LENGTH = 1024;

// Letters (with their combining marks), digits, and _ . - ; nothing else.
const USERNAME_PATTERN = /^[\p{L}\p{M}\p{N}_.-]+$/u;

export type UsernameCheck = { ok: true; username: string; key: string; skeleton: string } | { ok: false; reason: string };

/**
 * NFC-normalises a username and checks it. `key` is the case-folded form
 * that makes `Alice` and `alice` (and `АЛИСА` and `алиса`) one account;
 * `skeleton` (TR39, case-folded) is what a name looks like: a new name whose
 * skeleton is an existing name's is refused. Names that could only imitate
 * another (invisible or filler characters, full-width or styled letters,
 * scripts mixed beyond TR39's "highly restrictive" profile) are refused here.
 *
 * NFC, not NFKC: the name is kept as the user typed it; a name that NFKC would
 * change is refused instead of silently rewritten (see docs/accounts.md).
 */
export function normalizeUsername(raw: string): UsernameCheck {
  if (typeof raw !== 'string' || !raw.isWellFormed()) return { ok: false, reason: 'a username must be text' };
  const username = raw.normalize('NFC');
  const length = [...username].length;
  if (length === 0) return { ok: false, reason: 'a username must not be empty' };
  if (length > MAX_USERNAME_LENGTH) return { ok: false, reason: `a username must be at most ${MAX_USERNAME_LENGTH} characters` };
  if (!USERNAME_PATTERN.test(username)) return { ok: false, reason: 'a username may contain only letters, digits, _ . and -' };
  if (/^\p{M}/u.test(username)) return { ok: false, reason: 'a username must not start with a combining mark' };
  const lookalike = lookalikeProblem(username);
  if (lookalike !== undefined) return { ok: false, reason: lookalike };
  return { ok: true, username, key: usernameKey(username), skeleton: nameSkeleton(username) };
}

/** The case-insensitive key of an already valid username. */
export function usernameKey(username: string): string {
  return username.normalize('NFC').toLowerCase().normalize('NFC');
}

let strength: ZxcvbnFactory | undefined;

/** Built on first use: the dictionaries take a moment to index. */
function strengthChecker(): ZxcvbnFactory {
  strength ??= new ZxcvbnFactory({ dictionary: { ...common.dictionary }, graphs: common.adjacencyGraphs });
  return strength;
}

export type PasswordCheck = { ok: true } | { ok: false; reason: string };

/** The length rules of a new password; undefined when they are met. */
export function passwordLengthProblem(password: string, minLength: number): PasswordCheck | undefined {
  const length = [...password].length;
  if (length < minLength) return { ok: false, reason: `use at least ${minLength} characters` };
  if (length > MAX_PASSWORD_LENGTH) return { ok: false, reason: `use at most ${MAX_PASSWORD_LENGTH} characters` };
  return undefined;
}

/** zxcvbn's score (0–4) and warning as the verdict on a new password: 3 or better passes. */
export function strengthVerdict(score: number, warning: string): PasswordCheck {
  if (score >= 3) return { ok: true };
  const hint = warning ? `: ${warning.replace(/\.$/, '').toLowerCase()}` : '';
  return { ok: false, reason: `this password is too easy to guess${hint}` };
}

/**
 * Rules for a *new* password (legacy passwords are never re-judged): length,
 * and not a common or easily guessed one (zxcvbn's common-password dictionary
 * of ~30,000 entries plus its pattern matchers; score 3 of 4 or better).
 * Synchronous, on the calling thread (150–200 ms): the server judges
 * registrations with `PasswordStrengthPool`, off the event loop.
 */
export function checkNewPassword(password: string, options: { minLength?: number; username?: string } = {}): PasswordCheck {
  const length = passwordLengthProblem(password, options.minLength ?? DEFAULT_MIN_PASSWORD_LENGTH);
  if (length !== undefined) return length;
  // zxcvbn is costly on very long inputs; its verdict on the first 100 characters is what matters.
  const result = strengthChecker().check(password.slice(0, 100), options.username === undefined ? [] : [options.username]);
  return strengthVerdict(result.score, result.feedback.warning ?? '');
}
