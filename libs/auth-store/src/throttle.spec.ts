import { describe, expect, it } from '@jest/globals';
import { DEFAULT_THROTTLE, RateLimitedLoginThrottle } from './throttle.js';

const options = { ...DEFAULT_THROTTLE, accountFailures: 3, addressFailures: 5, baseBlockSeconds: 10, registrations: 2 };

describe('RateLimitedLoginThrottle', () => {
  it('should allow logins until an account has failed too often, then refuse even the right password', async () => {
    const throttle = new RateLimitedLoginThrottle(options);
    for (let i = 0; i < 3; i++) {
      expect(await throttle.beforeLogin('Алиса', '10.0.0.1')).toEqual({ allowed: true });
      expect(await throttle.loginFailed('Алиса', '10.0.0.1')).toEqual({ allowed: true });
    }
    const blocked = await throttle.loginFailed('алиса', '10.0.0.2');
    expect(blocked).toEqual({ allowed: false, retryAfterMs: expect.any(Number) });
    expect((blocked as { retryAfterMs: number }).retryAfterMs).toBeGreaterThan(9_000);
    // The account is blocked from every address, whatever the spelling of its name.
    expect(await throttle.beforeLogin('АЛИСА', '10.0.0.9')).toMatchObject({ allowed: false });
    expect(await throttle.beforeLogin('bob', '10.0.0.9')).toEqual({ allowed: true });
  });

  it('should back off exponentially: each further block is twice as long', async () => {
    const throttle = new RateLimitedLoginThrottle({ ...options, accountFailures: 1 });
    await throttle.loginFailed('carol', 'a');
    const first = (await throttle.loginFailed('carol', 'b')) as { retryAfterMs: number };
    const second = (await throttle.loginFailed('carol', 'c')) as { retryAfterMs: number };
    expect(first.retryAfterMs).toBeGreaterThan(9_000);
    expect(second.retryAfterMs).toBeGreaterThan(19_000);
  });

  it('should block an address that guesses at many accounts', async () => {
    const throttle = new RateLimitedLoginThrottle(options);
    for (let i = 0; i < 5; i++) await throttle.loginFailed(`user${i}`, '10.9.9.9');
    expect(await throttle.loginFailed('user6', '10.9.9.9')).toMatchObject({ allowed: false });
    expect(await throttle.beforeLogin('fresh-user', '10.9.9.9')).toMatchObject({ allowed: false });
    expect(await throttle.beforeLogin('fresh-user', '10.9.9.8')).toEqual({ allowed: true });
  });

  it("should forget an account's failures after a successful login", async () => {
    const throttle = new RateLimitedLoginThrottle(options);
    await throttle.loginFailed('dave', 'x');
    await throttle.loginFailed('dave', 'x');
    await throttle.loginSucceeded('dave', 'x');
    await throttle.loginFailed('dave', 'x');
    await throttle.loginFailed('dave', 'x');
    expect(await throttle.beforeLogin('dave', 'y')).toEqual({ allowed: true });
  });

  it('should limit registrations per address', async () => {
    const throttle = new RateLimitedLoginThrottle(options);
    expect(await throttle.beforeRegister('10.1.1.1')).toEqual({ allowed: true });
    expect(await throttle.beforeRegister('10.1.1.1')).toEqual({ allowed: true });
    expect(await throttle.beforeRegister('10.1.1.1')).toMatchObject({ allowed: false, retryAfterMs: expect.any(Number) });
    expect(await throttle.beforeRegister('10.1.1.2')).toEqual({ allowed: true });
  });

  it('should block an address after too many bad invite tokens, with back-off, and leave other addresses alone', async () => {
    const throttle = new RateLimitedLoginThrottle({ ...options, inviteFailures: 2 });
    expect(await throttle.beforeInvite('10.2.2.2')).toEqual({ allowed: true });
    expect(await throttle.inviteFailed('10.2.2.2')).toEqual({ allowed: true });
    expect(await throttle.inviteFailed('10.2.2.2')).toEqual({ allowed: true });
    const blocked = await throttle.inviteFailed('10.2.2.2');
    expect(blocked).toMatchObject({ allowed: false });
    expect((blocked as { retryAfterMs: number }).retryAfterMs).toBeGreaterThan(9_000);
    expect(await throttle.beforeInvite('10.2.2.2')).toMatchObject({ allowed: false, retryAfterMs: expect.any(Number) });
    expect(((await throttle.inviteFailed('10.2.2.2')) as { retryAfterMs: number }).retryAfterMs).toBeGreaterThan(19_000);
    expect(await throttle.beforeInvite('10.2.2.3')).toEqual({ allowed: true });
    // Logins from the blocked address are another matter.
    expect(await throttle.beforeLogin('erin', '10.2.2.2')).toEqual({ allowed: true });
  });
});
