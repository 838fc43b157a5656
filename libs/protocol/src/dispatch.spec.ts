import { beforeEach, describe, expect, it } from '@jest/globals';
import type { ClientEventHandlers } from './client-events.js';
import { dispatchClientEvent } from './validators.js';

// What a server built on the table answers before any handler runs.
describe('dispatchClientEvent', () => {
  const seen: Array<[string, unknown]> = [];
  const handlers: ClientEventHandlers<{ loggedIn: boolean }> = {
    LOGIN_ATTEMPTING: async (_context, payload) => (seen.push(['LOGIN_ATTEMPTING', payload]), { type: 'BANNED' }),
    REGISTER_CLIENT_: async (_context, payload) => (seen.push(['REGISTER_CLIENT_', payload]), { type: 'USER_IN_DATABASE' }),
    RESUME_SESSION: async (_context, payload) => (seen.push(['RESUME_SESSION', payload]), { type: 'SESSION_EXPIRED' }),
    CLIENT_TO_SERVER: async (_context, frame) => (seen.push(['CLIENT_TO_SERVER', frame]), { type: 'MALFORMED_FRAME', reason: 'test' }),
    HISTORY: async (_context, payload) => (seen.push(['HISTORY', payload]), { type: 'HISTORY', messages: [] }),
  };
  const dispatch = dispatchClientEvent(handlers, (context) => context.loggedIn);
  beforeEach(() => {
    seen.length = 0;
  });

  it('answers NOT_LOGGED_IN to an event that needs a session before looking at its payload', async () => {
    await expect(dispatch('HISTORY', { loggedIn: false }, 'not an object')).resolves.toEqual({ type: 'NOT_LOGGED_IN' });
    await expect(dispatch('CLIENT_TO_SERVER', { loggedIn: false }, 42)).resolves.toEqual({ type: 'NOT_LOGGED_IN' });
    expect(seen).toEqual([]);
  });

  it("answers a refused payload with the event's malformed reply and a reason, without calling the handler", async () => {
    await expect(dispatch('LOGIN_ATTEMPTING', { loggedIn: false }, { username: 'alice' })).resolves.toEqual({
      type: 'MALFORMED_REQUEST',
      reason: 'password must be a string',
    });
    await expect(dispatch('CLIENT_TO_SERVER', { loggedIn: true }, { frame: 'x' })).resolves.toEqual({
      type: 'MALFORMED_FRAME',
      reason: 'the payload must be a string',
    });
    expect(seen).toEqual([]);
  });

  it('hands a valid payload to its handler and returns its reply', async () => {
    await expect(dispatch('HISTORY', { loggedIn: true }, { limit: 5 })).resolves.toEqual({ type: 'HISTORY', messages: [] });
    await expect(dispatch('LOGIN_ATTEMPTING', { loggedIn: false }, { username: 'alice', password: 'pw' })).resolves.toEqual({ type: 'BANNED' });
    expect(seen).toEqual([
      ['HISTORY', { limit: 5 }],
      ['LOGIN_ATTEMPTING', { username: 'alice', password: 'pw' }],
    ]);
  });
});
