// The relay's own limits: sessions per user, and password checks that cannot
// overtake the throttle when sent all at once.
import { afterEach, beforeEach, describe, expect, it } from '@jest/globals';
import { openDatabase, RateLimitedLoginThrottle, DEFAULT_THROTTLE, SqlMessageStore, SqlUserStore, type DatabaseHandle } from '@enigma/auth-store';
import { createPasswordHasher } from '@enigma/crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { InMemoryBroadcastPort } from './broadcast-port.js';
import { ChatRelay, DEFAULT_RELAY_OPTIONS } from './chat-relay.js';
import type { Peer } from './peer.js';

const strong = 'correct-horse-battery-staple-42';

describe('ChatRelay limits', () => {
  let dir: string;
  let database: DatabaseHandle;
  let relay: ChatRelay;
  let peers = 0;
  const peer = (address = '10.0.0.1'): Peer => ({ id: `peer-${++peers}`, address });

  beforeEach(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'enigma-relay-limits-'));
    database = await openDatabase(path.join(dir, 'accounts.db'));
    const users = new SqlUserStore(database, createPasswordHasher({ memoryKiB: 1024, iterations: 1, parallelism: 1 }), { sessionTtlMs: 60_000, minPasswordLength: 12 });
    relay = new ChatRelay(users, new SqlMessageStore(database), new RateLimitedLoginThrottle(DEFAULT_THROTTLE), new InMemoryBroadcastPort(), { ...DEFAULT_RELAY_OPTIONS, maxSessionsPerUser: 2 });
  });
  afterEach(async () => {
    await database.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('should refuse a session beyond the cap, even when the logins finish together, and allow one once a session is gone', async () => {
    const first = peer();
    const registered = await relay.register(first, { username: 'erin', password: strong });
    if (registered.type !== 'LOGIN_SUCCESSFUL') throw new Error(registered.type);
    const others = [peer(), peer(), peer()];
    const replies = await Promise.all(others.map((p) => relay.login(p, { username: 'erin', password: strong })));
    expect(replies.map((r) => r.type).sort()).toEqual(['LOGIN_SUCCESSFUL', 'RATE_LIMITED', 'RATE_LIMITED']);
    expect(replies.find((r) => r.type === 'RATE_LIMITED')).toMatchObject({ retryAfterMs: expect.any(Number), reason: expect.stringMatching(/^too many sessions/) });
    expect(await relay.resume(peer(), { session: registered.session, afterSeq: 0 })).toMatchObject({ type: 'RATE_LIMITED' });
    expect(relay.sessions()).toHaveLength(2);

    relay.disconnected(first);
    expect(await relay.resume(peer(), { session: registered.session, afterSeq: 0 })).toMatchObject({ type: 'LOGIN_SUCCESSFUL', username: 'erin' });
  });

  it('should check a burst of wrong passwords one at a time, so that the throttle stops it after its limit', async () => {
    await relay.register(peer(), { username: 'frank', password: strong });
    const replies = await Promise.all(Array.from({ length: 30 }, (_, i) => relay.login(peer(`10.0.1.${i}`), { username: 'frank', password: `wrong-guess-${i}` })));
    const count = (type: string): number => replies.filter((r) => r.type === type).length;
    expect(count('INVALID_PASSWORD')).toBe(DEFAULT_THROTTLE.accountFailures);
    expect(count('RATE_LIMITED')).toBe(30 - DEFAULT_THROTTLE.accountFailures);
  });
});
