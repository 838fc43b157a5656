import { describe, expect, it } from '@jest/globals';
import { constantTimeEqual, hashPassword, isPasswordHash, verifyPassword } from './password.js';

describe('password hashing', () => {
  it('should produce an argon2id PHC string with OWASP parameters (m=19 MiB, t=2, p=1)', async () => {
    const phc = await hashPassword('correct horse battery staple');
    const [, algorithm, version, parameters] = phc.split('$');
    expect([algorithm, version]).toEqual(['argon2id', 'v=19']);
    expect(Object.fromEntries(parameters!.split(',').map((p) => p.split('=')))).toEqual({ m: '19456', t: '2', p: '1' });
    expect(phc).not.toContain('correct horse');
    expect(isPasswordHash(phc)).toBe(true);
  });

  it('should verify the right password, Cyrillic included, and refuse a wrong one', async () => {
    const phc = await hashPassword('пароль-надёжный-42');
    await expect(verifyPassword('пароль-надёжный-42', phc)).resolves.toEqual({ ok: true, needsRehash: false });
    await expect(verifyPassword('пароль-надежный-42', phc)).resolves.toEqual({ ok: false, needsRehash: false });
  });

  it('should ask for a rehash when the stored hash is weaker than the current parameters', async () => {
    const weak = await hashPassword('secret secret', { memoryKiB: 4096, iterations: 1, parallelism: 1 });
    await expect(verifyPassword('secret secret', weak)).resolves.toEqual({ ok: true, needsRehash: true });
  });

  it('should answer not-ok, without throwing, for a stored value that is not a hash', async () => {
    await expect(verifyPassword('x', 'plaintext-from-the-seed')).resolves.toEqual({ ok: false, needsRehash: false });
    await expect(verifyPassword('x', '$argon2id$garbage')).resolves.toEqual({ ok: false, needsRehash: false });
  });

  it('should let the event loop run while hashing (work happens on the thread pool)', async () => {
    let ticks = 0;
    const timer = setInterval(() => ticks++, 1);
    await hashPassword('keep the loop free');
    clearInterval(timer);
    expect(ticks).toBeGreaterThan(0);
  });

  it('should compare secrets of any length without throwing', () => {
    expect(constantTimeEqual('abc', 'abc')).toBe(true);
    expect(constantTimeEqual('abc', 'abcd')).toBe(false);
    expect(constantTimeEqual('', '')).toBe(true);
  });
});
