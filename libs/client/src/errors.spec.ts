import { describe, expect, it } from '@jest/globals';
import { ClientError } from './errors.js';

describe('ClientError', () => {
  it('should be recognised by is() with and without a kind, and keep its cause', () => {
    const cause = new Error('low-level');
    const error = new ClientError('unreachable', 'explained', { cause });
    expect(ClientError.is(error)).toBe(true);
    expect(ClientError.is(error, 'unreachable')).toBe(true);
    expect(ClientError.is(error, 'closed')).toBe(false);
    expect(ClientError.is(new Error('other'))).toBe(false);
    expect(error.cause).toBe(cause);
  });
});
