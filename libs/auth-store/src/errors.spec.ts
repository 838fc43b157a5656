import { describe, expect, it } from '@jest/globals';
import { AuthStoreError } from './errors.js';

describe('AuthStoreError', () => {
  it('should be recognised by is() with and without a kind, and keep its cause', () => {
    const cause = new Error('low-level');
    const error = new AuthStoreError('databaseUnavailable', 'explained', { cause });
    expect(AuthStoreError.is(error)).toBe(true);
    expect(AuthStoreError.is(error, 'databaseUnavailable')).toBe(true);
    expect(AuthStoreError.is(error, 'migrationFailed')).toBe(false);
    expect(AuthStoreError.is(new Error('other'))).toBe(false);
    expect(error.cause).toBe(cause);
  });
});
