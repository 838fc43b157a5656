import type { ServiceIdentifier } from 'inversify';
import { RateLimiterMemory, RateLimiterRes, type RateLimiterAbstract } from 'rate-limiter-flexible';
import { addressBlock } from './address-block.js';
import { usernameKey } from './policy.js';

export type ThrottleDecision = { allowed: true } | { allowed: false; retryAfterMs: number };

/**
 * Brute-force and flood protection for logins, registrations and invite
 * tokens. Addresses are counted by `addressBlock` (an IPv6 /64 is one).
 */
export interface LoginThrottle {
  /** Checks only: refuses while the account or the address is blocked, even with the right password. */
  beforeLogin(username: string, address: string): Promise<ThrottleDecision>;
  /** Counts a failure; past the limit, blocks with exponential back-off. */
  loginFailed(username: string, address: string): Promise<ThrottleDecision>;
  loginSucceeded(username: string, address: string): Promise<void>;
  /** Counts one registration from the address. */
  beforeRegister(address: string): Promise<ThrottleDecision>;
  /** Checks only: refuses while the address is blocked for bad invite tokens. */
  beforeInvite(address: string): Promise<ThrottleDecision>;
  /** Counts a bad, used or expired invite token; past the limit, blocks the address with back-off. */
  inviteFailed(address: string): Promise<ThrottleDecision>;
  /** Counts one session resume of the user (a valid token): bounds a reconnect loop. */
  beforeResume(username: string): Promise<ThrottleDecision>;
}

export const loginThrottleId: ServiceIdentifier<LoginThrottle> = Symbol.for('@enigma/auth-store/LoginThrottle');

export interface ThrottleOptions {
  /** Failed logins per account before it is blocked. */
  accountFailures: number;
  /** Failed logins per address before it is blocked. */
  addressFailures: number;
  /** Window in which failures count, seconds. */
  failureWindowSeconds: number;
  /** First block, seconds; doubles with every further block, up to `maxBlockSeconds`. */
  baseBlockSeconds: number;
  maxBlockSeconds: number;
  /** Registrations per address per window. */
  registrations: number;
  registrationWindowSeconds: number;
  /** Registrations with a bad, used or expired invite token per address per window, before it is blocked. */
  inviteFailures: number;
  inviteFailureWindowSeconds: number;
  /**
   * Session resumes per user per window. Generous: every session of a user
   * (up to 20) resumes at once after a server restart, and a flaky network
   * reconnects often.
   */
  resumes: number;
  resumeWindowSeconds: number;
}

export const DEFAULT_THROTTLE: ThrottleOptions = Object.freeze({
  accountFailures: 5,
  addressFailures: 20,
  failureWindowSeconds: 15 * 60,
  baseBlockSeconds: 30,
  maxBlockSeconds: 60 * 60,
  registrations: 10,
  registrationWindowSeconds: 60 * 60,
  inviteFailures: 5,
  inviteFailureWindowSeconds: 60 * 60,
  resumes: 60,
  resumeWindowSeconds: 60,
});

/** Builds a limiter; `rate-limiter-flexible` has Redis/Postgres twins with the same API for scale-out. */
export type LimiterFactory = (options: { keyPrefix: string; points: number; duration: number }) => RateLimiterAbstract;

const memoryLimiters: LimiterFactory = (options) => new RateLimiterMemory(options);

function refusal(result: RateLimiterRes): ThrottleDecision {
  return { allowed: false, retryAfterMs: Math.max(1, Math.ceil(result.msBeforeNext)) };
}

/** Takes one point; refused (without blocking further) once the window's points are used up. */
async function consumeOne(limiter: RateLimiterAbstract, key: string): Promise<ThrottleDecision> {
  try {
    await limiter.consume(key);
    return { allowed: true };
  } catch (error) {
    if (error instanceof RateLimiterRes) return refusal(error);
    throw error;
  }
}

/** Refused while any of these counters is used up and blocking; the longest wait wins. */
function blockedBy(results: Array<RateLimiterRes | null>): ThrottleDecision {
  const blocked = results.filter((r): r is RateLimiterRes => r !== null && r.remainingPoints <= 0 && r.msBeforeNext > 0);
  if (blocked.length === 0) return { allowed: true };
  return refusal(blocked.reduce((a, b) => (a.msBeforeNext >= b.msBeforeNext ? a : b)));
}

export class RateLimitedLoginThrottle implements LoginThrottle {
  readonly #account: RateLimiterAbstract;
  readonly #address: RateLimiterAbstract;
  /** How many times a key was blocked recently: the exponent of the back-off. */
  readonly #strikes: RateLimiterAbstract;
  readonly #registrations: RateLimiterAbstract;
  readonly #invites: RateLimiterAbstract;
  readonly #resumes: RateLimiterAbstract;

  public constructor(
    private readonly options: ThrottleOptions = DEFAULT_THROTTLE,
    limiters: LimiterFactory = memoryLimiters,
  ) {
    this.#account = limiters({ keyPrefix: 'login-account', points: options.accountFailures, duration: options.failureWindowSeconds });
    this.#address = limiters({ keyPrefix: 'login-address', points: options.addressFailures, duration: options.failureWindowSeconds });
    this.#strikes = limiters({ keyPrefix: 'login-strikes', points: 1_000_000, duration: 24 * 3600 });
    this.#registrations = limiters({ keyPrefix: 'register-address', points: options.registrations, duration: options.registrationWindowSeconds });
    this.#invites = limiters({ keyPrefix: 'invite-address', points: options.inviteFailures, duration: options.inviteFailureWindowSeconds });
    this.#resumes = limiters({ keyPrefix: 'resume-account', points: options.resumes, duration: options.resumeWindowSeconds });
  }

  public async beforeLogin(username: string, address: string): Promise<ThrottleDecision> {
    return blockedBy(await Promise.all([this.#account.get(this.accountKey(username)), this.#address.get(addressBlock(address))]));
  }

  public async loginFailed(username: string, address: string): Promise<ThrottleDecision> {
    const decisions = await Promise.all([this.fail(this.#account, this.accountKey(username)), this.fail(this.#address, addressBlock(address))]);
    const refused = decisions.filter((d): d is { allowed: false; retryAfterMs: number } => !d.allowed);
    if (refused.length === 0) return { allowed: true };
    return { allowed: false, retryAfterMs: Math.max(...refused.map((d) => d.retryAfterMs)) };
  }

  public async loginSucceeded(username: string, _address: string): Promise<void> {
    await this.#account.delete(this.accountKey(username));
  }

  public beforeRegister(address: string): Promise<ThrottleDecision> {
    return consumeOne(this.#registrations, addressBlock(address));
  }

  public beforeResume(username: string): Promise<ThrottleDecision> {
    return consumeOne(this.#resumes, this.accountKey(username));
  }

  public async beforeInvite(address: string): Promise<ThrottleDecision> {
    return blockedBy([await this.#invites.get(addressBlock(address))]);
  }

  public inviteFailed(address: string): Promise<ThrottleDecision> {
    return this.fail(this.#invites, addressBlock(address));
  }

  private accountKey(username: string): string {
    return usernameKey(String(username).slice(0, 256));
  }

  private async fail(limiter: RateLimiterAbstract, key: string): Promise<ThrottleDecision> {
    try {
      await limiter.consume(key);
      return { allowed: true };
    } catch (error) {
      if (!(error instanceof RateLimiterRes)) throw error;
      const strikes = await this.#strikes.consume(`${limiter.keyPrefix}:${key}`);
      const seconds = Math.min(this.options.maxBlockSeconds, this.options.baseBlockSeconds * 2 ** (strikes.consumedPoints - 1));
      const block = await limiter.block(key, seconds);
      return refusal(block);
    }
  }
}
