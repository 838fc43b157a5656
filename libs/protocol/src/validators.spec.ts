import { describe, expect, it } from '@jest/globals';
import { readClientEventArguments, validateClientPayload } from './validators.js';

const ack = (): void => undefined;

describe('readClientEventArguments', () => {
  it('should accept a payload followed by an acknowledgement', () => {
    const read = readClientEventArguments('LOGIN_ATTEMPTING', [{ username: 'Алиса', password: 'secret' }, ack]);
    expect(read.ack).toBe(ack);
    expect(read.payload).toEqual({ ok: true, value: { username: 'Алиса', password: 'secret' } });
  });

  it('should refuse an event with no payload but still find the acknowledgement (python-socketio call(event, None))', () => {
    const read = readClientEventArguments('HISTORY', [ack]);
    expect(read.ack).toBe(ack);
    expect(read.payload).toEqual({ ok: false, reason: 'the event carries no payload' });
  });

  it('should refuse extra arguments and take the acknowledgement from the last position', () => {
    const read = readClientEventArguments('CLIENT_TO_SERVER', ['a', 'b', ack]);
    expect(read.ack).toBe(ack);
    expect(read.payload.ok).toBe(false);
  });

  it('should report a missing acknowledgement as undefined', () => {
    expect(readClientEventArguments('HISTORY', [{}]).ack).toBeUndefined();
  });
});

describe('validateClientPayload', () => {
  it.each([
    ['null', null],
    ['a number', 7],
    ['an array', [['alice', 'pw']]],
    ['a missing password', { username: 'alice' }],
    ['a numeric username', { username: 1, password: 'x' }],
    ['an empty username', { username: '', password: 'x' }],
    ['a huge username', { username: 'a'.repeat(10_000), password: 'x' }],
    ['a password over 1024 characters', { username: 'alice', password: 'p'.repeat(1025) }],
    ['a lone surrogate', { username: 'al\uD800ice', password: 'x' }],
    ['a __proto__ key', JSON.parse('{"username":"a","password":"b","__proto__":{"admin":true}}')],
    ['a constructor key', { username: 'a', password: 'b', constructor: 'x' }],
  ])('should refuse %s as credentials with a reason that does not echo the input', (_name, payload) => {
    const result = validateClientPayload('REGISTER_CLIENT_', payload);
    expect(result.ok).toBe(false);
    if (!result.ok) {
      expect(result.reason.length).toBeGreaterThan(0);
      expect(result.reason).not.toContain('aaaaaaaa');
      expect(result.reason).not.toContain('admin');
    }
  });

  it('should take an optional invite on a registration only, bounded and never echoed', () => {
    const token = 'Zm9vYmFyYmF6cXV4MTIzNDU2';
    expect(validateClientPayload('REGISTER_CLIENT_', { username: 'алиса', password: 'pw', invite: token })).toEqual({
      ok: true,
      value: { username: 'алиса', password: 'pw', invite: token },
    });
    // A v1 payload is exactly the credentials: nothing added.
    expect(validateClientPayload('REGISTER_CLIENT_', { username: 'алиса', password: 'pw' })).toEqual({
      ok: true,
      value: { username: 'алиса', password: 'pw' },
    });
    expect(validateClientPayload('LOGIN_ATTEMPTING', { username: 'алиса', password: 'pw', invite: token })).toEqual({
      ok: false,
      reason: 'the payload has fields that protocol v1 does not define',
    });
    for (const invite of ['', 'SECRET'.repeat(30), 7, null, 'SECRET\uD800']) {
      const result = validateClientPayload('REGISTER_CLIENT_', { username: 'a', password: 'b', invite });
      expect(result.ok).toBe(false);
      if (!result.ok) expect(result.reason).not.toContain('SECRET');
    }
  });

  it('should accept resume and history requests within the limits', () => {
    expect(validateClientPayload('RESUME_SESSION', { session: 'abc', afterSeq: 0 }).ok).toBe(true);
    expect(validateClientPayload('HISTORY', {}).ok).toBe(true);
    expect(validateClientPayload('HISTORY', { beforeSeq: 10, limit: 50 }).ok).toBe(true);
  });

  it.each([
    ['a negative seq', { session: 's', afterSeq: -1 }],
    ['a fractional seq', { session: 's', afterSeq: 1.5 }],
    ['a seq beyond safe integers', { session: 's', afterSeq: 2 ** 60 }],
    ['a string seq', { session: 's', afterSeq: '5' }],
  ])('should refuse a resume request with %s', (_name, payload) => {
    expect(validateClientPayload('RESUME_SESSION', payload).ok).toBe(false);
  });

  it('should refuse a history page over the limit', () => {
    expect(validateClientPayload('HISTORY', { limit: 100_000 }).ok).toBe(false);
  });

  it('should refuse a frame that is not a string', () => {
    expect(validateClientPayload('CLIENT_TO_SERVER', { frame: 'x' })).toEqual({ ok: false, reason: 'the payload must be a string' });
  });
});
