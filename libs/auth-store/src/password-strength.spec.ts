import { afterEach, describe, expect, it } from '@jest/globals';
import { PasswordStrengthPool } from './password-strength.js';
import { checkNewPassword } from './policy.js';

describe('PasswordStrengthPool', () => {
  let pool: PasswordStrengthPool | undefined;
  afterEach(() => pool?.close());

  it('should give the verdicts checkNewPassword gives, from a worker thread', async () => {
    pool = new PasswordStrengthPool({ workers: 1, maxWaiting: 8 });
    const cases = [
      ['correct-horse-battery-staple-42', undefined],
      ['password1234', undefined],
      ['qwertyuiopasdf', undefined],
      ['tiny', undefined],
      ['mallory-mallory-1', 'mallory'],
      ['съешь же ещё этих булок', undefined],
    ] as const;
    const verdicts = await Promise.all(cases.map(([password, username]) => pool!.check(password, { minLength: 12, username })));
    expect(verdicts).toEqual(cases.map(([password, username]) => checkNewPassword(password, { minLength: 12, username })));
  });

  it('should answer busy at once when every thread works and the queue is full, and take checks again afterwards', async () => {
    pool = new PasswordStrengthPool({ workers: 1, maxWaiting: 1 });
    const running = pool.check('first-long-password-1', { minLength: 12 });
    const waiting = pool.check('second-long-password-2', { minLength: 12 });
    expect(pool.load).toEqual({ running: 1, waiting: 1 });
    expect(await pool.check('third-long-password-3', { minLength: 12 })).toBe('busy');
    // The length rules need no thread: answered even when busy.
    expect(await pool.check('short', { minLength: 12 })).toEqual({ ok: false, reason: 'use at least 12 characters' });
    expect(await running).toHaveProperty('ok');
    expect(await waiting).toHaveProperty('ok');
    expect(pool.load).toEqual({ running: 0, waiting: 0 });
    expect(await pool.check('correct-horse-battery-staple-42', { minLength: 12 })).toEqual({ ok: true });
  });

  it('should start its threads on warm() and still judge afterwards; closed, it refuses', async () => {
    pool = new PasswordStrengthPool({ workers: 2, maxWaiting: 0 });
    await pool.warm();
    expect(pool.load).toEqual({ running: 0, waiting: 0 });
    const both = await Promise.all([pool.check('password1234', { minLength: 12 }), pool.check('correct-horse-battery-staple-42', { minLength: 12 })]);
    expect(both).toEqual([checkNewPassword('password1234'), { ok: true }]);
    await pool.close();
    await expect(pool.check('correct-horse-battery-staple-42', { minLength: 12 })).rejects.toMatchObject({ kind: 'passwordCheckFailed' });
  });

  it('should fail a check still running when it is closed, not leave it pending for ever (a registration during shutdown)', async () => {
    pool = new PasswordStrengthPool({ workers: 1, maxWaiting: 1 });
    await pool.warm();
    const running = pool.check('correct-horse-battery-staple-42', { minLength: 12 });
    const waiting = pool.check('another-long-passphrase-77', { minLength: 12 });
    expect(pool.load).toEqual({ running: 1, waiting: 1 });
    const settled = Promise.allSettled([running, waiting]);
    await pool.close();
    expect(await settled).toEqual([
      { status: 'rejected', reason: expect.objectContaining({ kind: 'passwordCheckFailed' }) },
      { status: 'rejected', reason: expect.objectContaining({ kind: 'passwordCheckFailed' }) },
    ]);
  });
});
