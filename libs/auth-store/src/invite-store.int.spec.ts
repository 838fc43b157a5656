import { afterEach, beforeEach, describe, expect, it } from '@jest/globals';
import { createPasswordHasher, tokenDigest } from '@enigma/crypto';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { openDatabase, type DatabaseHandle } from './database.js';
import { SqlInviteStore } from './invite-store.js';
import { SqlUserStore } from './user-store.js';

const hasher = createPasswordHasher({ memoryKiB: 1024, iterations: 1, parallelism: 1 });
const strong = 'correct-horse-battery-staple-42';
const DAY = 86_400_000;

describe('registration invites on SQLite', () => {
  let dir: string;
  let database: DatabaseHandle;
  let invites: SqlInviteStore;
  let users: SqlUserStore;
  // The one clock both stores read: expiry is tested by moving it, not by waiting.
  let now = Date.UTC(2025, 0, 1);
  const clock = (): number => now;

  beforeEach(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'enigma-invites-'));
    database = await openDatabase(path.join(dir, 'accounts.db'));
    invites = new SqlInviteStore(database, clock);
    users = new SqlUserStore(database, hasher, { sessionTtlMs: 60_000, minPasswordLength: 12, now: clock });
  });
  afterEach(async () => {
    await database.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('should make a 128-bit url-safe token, store only its hash, and list the invite without it', async () => {
    const { token, invite } = await invites.create({ uses: 1, expiresInMs: 7 * DAY });
    expect(token).toMatch(/^[A-Za-z0-9_-]{22}$/);
    expect(invite).toEqual({
      id: expect.stringMatching(/^[0-9a-f]{8}$/),
      usesLeft: 1,
      usesTotal: 1,
      createdAt: new Date(now),
      expiresAt: new Date(now + 7 * DAY),
      state: 'active',
    });
    expect(await invites.list()).toEqual([invite]);
    expect(JSON.stringify(await invites.list())).not.toContain(token);

    await database.close(); // everything on disk, WAL checkpointed
    const files = await readdir(dir);
    const bytes = Buffer.concat(await Promise.all(files.map((file) => readFile(path.join(dir, file)))));
    expect(bytes.includes(token)).toBe(false);
    expect(bytes.includes(tokenDigest(token))).toBe(true); // the scan reads what is there
    database = await openDatabase(path.join(dir, 'accounts.db'));
  });

  it('should register once with a single-use invite, then answer used', async () => {
    const { token } = await invites.create({ uses: 1, expiresInMs: undefined });
    expect(await users.register('Алиса', strong, { invite: token })).toMatchObject({ type: 'registered', user: { username: 'Алиса' } });
    expect(await users.register('bob', strong, { invite: token })).toEqual({ type: 'inviteInvalid', reason: 'used' });
    expect(await invites.list()).toEqual([expect.objectContaining({ usesLeft: 0, usesTotal: 1, state: 'used', expiresAt: undefined })]);
    expect(await users.count()).toBe(1);
  });

  it('should allow as many registrations as the invite has uses', async () => {
    const { token } = await invites.create({ uses: 2, expiresInMs: DAY });
    expect(await users.register('one', strong, { invite: token })).toMatchObject({ type: 'registered' });
    expect(await users.register('two', strong, { invite: token })).toMatchObject({ type: 'registered' });
    expect(await users.register('three', strong, { invite: token })).toEqual({ type: 'inviteInvalid', reason: 'used' });
  });

  it('should not spend a use on a registration that fails: weak password, bad or taken name', async () => {
    await users.register('carol', strong);
    const { token } = await invites.create({ uses: 1, expiresInMs: DAY });
    expect(await users.register('dave', 'short', { invite: token })).toMatchObject({ type: 'weakPassword' });
    expect(await users.register('bad name', strong, { invite: token })).toMatchObject({ type: 'invalidUsername' });
    expect(await users.register('CAROL', strong, { invite: token })).toEqual({ type: 'usernameTaken' });
    expect(await invites.check(token)).toBeUndefined();
    expect(await users.register('dave', strong, { invite: token })).toMatchObject({ type: 'registered' });
  });

  it('should check the invite before anything else: a bad one reveals no taken name', async () => {
    await users.register('carol', strong);
    expect(await users.register('carol', strong, { invite: 'no-such-token-at-all00' })).toEqual({ type: 'inviteInvalid', reason: 'unknown' });
  });

  it('should expire at its time (an injected clock, no waiting)', async () => {
    const { token } = await invites.create({ uses: 5, expiresInMs: 1000 });
    now += 999;
    expect(await users.register('early', strong, { invite: token })).toMatchObject({ type: 'registered' });
    now += 1;
    expect(await invites.check(token)).toBe('expired');
    expect(await users.register('late', strong, { invite: token })).toEqual({ type: 'inviteInvalid', reason: 'expired' });
    expect(await invites.list()).toEqual([expect.objectContaining({ usesLeft: 4, state: 'expired' })]);
  });

  it('should revoke by id or by token, after which the token reads as unknown', async () => {
    const first = await invites.create({ uses: 3, expiresInMs: DAY });
    const second = await invites.create({ uses: 3, expiresInMs: DAY });
    expect(await invites.revoke(first.invite.id)).toBe(true);
    expect(await invites.revoke(second.token)).toBe(true);
    expect(await invites.revoke(first.invite.id)).toBe(false);
    expect(await invites.revoke('')).toBe(false);
    expect(await invites.list()).toEqual([]);
    expect(await users.register('erin', strong, { invite: first.token })).toEqual({ type: 'inviteInvalid', reason: 'unknown' });
    expect(await users.register('erin', strong, { invite: second.token })).toEqual({ type: 'inviteInvalid', reason: 'unknown' });
  });

  it('should let exactly one of ten simultaneous registrations take a single-use invite', async () => {
    const { token } = await invites.create({ uses: 1, expiresInMs: DAY });
    const results = await Promise.all(Array.from({ length: 10 }, (_, i) => users.register(`racer${i}`, strong, { invite: token })));
    expect(results.filter((r) => r.type === 'registered')).toHaveLength(1);
    expect(results.filter((r) => r.type !== 'registered')).toEqual(Array(9).fill({ type: 'inviteInvalid', reason: 'used' }));
    expect(await users.count()).toBe(1);
  });

  it('should give the use back when two registrations of one name race and the name decides', async () => {
    const { token } = await invites.create({ uses: 2, expiresInMs: DAY });
    const results = await Promise.all([users.register('twin', strong, { invite: token }), users.register('TWIN', strong, { invite: token })]);
    expect(results.map((r) => r.type).sort()).toEqual(['registered', 'usernameTaken']);
    expect(await invites.list()).toEqual([expect.objectContaining({ usesLeft: 1 })]);
    expect(await users.count()).toBe(1);
  });

  it('should keep the books straight when racing registrations fail and succeed together', async () => {
    // Three spellings of one name and three other names, all at once: each use
    // spent is one account that exists, and each registration reported is one
    // that can log in. (SQLite's one shared connection once nested such
    // transactions, and one's rollback undid another's insert.)
    const { token } = await invites.create({ uses: 10, expiresInMs: DAY });
    const names = ['twin', 'TWIN', 'Twin', 'ann', 'ben', 'cat'];
    // Every hash finishes at the same moment, so the six transactions start together.
    let hashed = 0;
    let release: () => void = () => undefined;
    const together = new Promise<void>((resolve) => (release = resolve));
    const gated = {
      verify: hasher.verify,
      hash: async (password: string): Promise<string> => {
        const hash = await hasher.hash(password);
        if (++hashed === names.length) release();
        await together;
        return hash;
      },
    };
    users = new SqlUserStore(database, gated, { sessionTtlMs: 60_000, minPasswordLength: 12, now: clock });
    const results = await Promise.all(names.map((name) => users.register(name, strong, { invite: token })));
    const registered = results.flatMap((r) => (r.type === 'registered' ? [r.user.username] : []));
    expect(results.map((r) => r.type).sort()).toEqual(['registered', 'registered', 'registered', 'registered', 'usernameTaken', 'usernameTaken']);
    expect(await users.count()).toBe(4);
    expect(await invites.list()).toEqual([expect.objectContaining({ usesLeft: 6 })]);
    for (const name of registered) expect(await users.verify(name, strong)).toMatchObject({ type: 'ok' });
  });

  it('should refuse nonsense when creating', async () => {
    await expect(invites.create({ uses: 0, expiresInMs: DAY })).rejects.toThrow(RangeError);
    await expect(invites.create({ uses: 1001, expiresInMs: DAY })).rejects.toThrow(RangeError);
    await expect(invites.create({ uses: 1, expiresInMs: -5 })).rejects.toThrow(RangeError);
    expect(await invites.list()).toEqual([]);
  });
});
