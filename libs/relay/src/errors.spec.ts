import { describe, expect, it } from '@jest/globals';
import { RelayError } from './errors.js';

describe('RelayError', () => {
  it('should be recognised by is() with and without a kind, and keep its cause', () => {
    const cause = new Error('low-level');
    const error = new RelayError('notLoggedIn', 'explained', { cause });
    expect(RelayError.is(error)).toBe(true);
    expect(RelayError.is(error, 'notLoggedIn')).toBe(true);
    expect(RelayError.is(error, 'rateLimited')).toBe(false);
    expect(RelayError.is(new Error('other'))).toBe(false);
    expect(error.cause).toBe(cause);
  });
});
