// The same entities, migrations and stores on a real PostgreSQL server (a
// private instance started for this suite from Debian's binaries).
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from '@jest/globals';
import { createPasswordHasher } from '@enigma/crypto';
import pg from 'pg';
import { serviceOrSkip, startPostgres, type PostgresService } from '../../../tools/testing/services.mjs';
import { openDatabase, type DatabaseHandle } from './database.js';
import { SqlInviteStore } from './invite-store.js';
import { SqlMessageStore } from './message-store.js';
import { SqlUserStore } from './user-store.js';

const hasher = createPasswordHasher({ memoryKiB: 1024, iterations: 1, parallelism: 1 });
const strong = 'correct-horse-battery-staple-42';
const runs = serviceOrSkip('postgres');

(runs ? describe : describe.skip)('auth-store on PostgreSQL', () => {
  let server: PostgresService;
  let url: string;
  const handles: DatabaseHandle[] = [];

  beforeAll(async () => {
    server = await startPostgres();
  }, 60_000);
  afterAll(() => server?.stop());

  // A fresh database per test, created on the shared server.
  beforeEach(async () => {
    url = await server.createDatabase();
  });
  afterEach(async () => {
    for (const handle of handles.splice(0)) await handle.close();
  });

  const open = async (): Promise<DatabaseHandle> => {
    const handle = await openDatabase(url);
    handles.push(handle);
    return handle;
  };

  it('should create users(id, username, password) and register, log in and resume, Cyrillic included', async () => {
    const database = await open();
    const users = new SqlUserStore(database, hasher, { sessionTtlMs: 60_000, minPasswordLength: 12 });
    expect(await users.register('Алиса', strong)).toMatchObject({ type: 'registered', user: { username: 'Алиса' } });
    expect(await users.register('алиса', strong)).toEqual({ type: 'usernameTaken' });
    expect(await users.verify('АЛИСА', strong)).toMatchObject({ type: 'ok', user: { username: 'Алиса' } });
    expect(await users.verify('Алиса', 'wrong-password-000')).toEqual({ type: 'wrongPassword' });
    const grant = await users.issueSession({ id: 1, username: 'Алиса' });
    expect(await users.resumeSession(grant.token)).toMatchObject({ type: 'ok', user: { username: 'Алиса' } });

    const client = new pg.Client(url);
    await client.connect();
    const columns = await client.query("SELECT column_name FROM information_schema.columns WHERE table_name = 'users' ORDER BY ordinal_position");
    const passwords = await client.query('SELECT password FROM users');
    await client.end();
    expect(columns.rows.map((r: { column_name: string }) => r.column_name)).toEqual(['id', 'username', 'password']);
    expect(passwords.rows[0].password).toMatch(/^\$argon2id\$/);
  });

  it('should keep a legacy look-alike name, fill its skeleton on open, and refuse a new look-alike (issue 16, item 2)', async () => {
    const client = new pg.Client(url);
    await client.connect();
    await client.query('CREATE TABLE users (id SERIAL PRIMARY KEY, username TEXT NOT NULL, password TEXT NOT NULL)');
    await client.query("INSERT INTO users (username, password) VALUES ('alice', 'legacy-one'), ($1, 'legacy-two')", ['\u0430lice']);
    const database = await open();
    const users = new SqlUserStore(database, hasher, { sessionTtlMs: 60_000, minPasswordLength: 12 });
    const rows = await client.query('SELECT u.username, n.skeleton FROM users u JOIN user_names n ON n.user_id = u.id ORDER BY u.id');
    await client.end();
    expect(rows.rows).toEqual([
      { username: 'alice', skeleton: 'alice' },
      { username: '\u0430lice', skeleton: 'alice' },
    ]);
    expect(await users.lookalikes('Alice')).toEqual([
      { id: 1, username: 'alice' },
      { id: 2, username: '\u0430lice' },
    ]);
    expect(await users.register('AIice', strong)).toEqual({ type: 'usernameConfusable' });
    expect(await users.register('alicia', strong)).toMatchObject({ type: 'registered' });
  });

  it('should let three nodes start (and migrate) at once, then see each other\'s accounts', async () => {
    const [a, b, c] = await Promise.all([open(), open(), open()]);
    const options = { sessionTtlMs: 60_000, minPasswordLength: 12 };
    await new SqlUserStore(a!, hasher, options).register('bob', strong);
    expect(await new SqlUserStore(b!, hasher, options).verify('bob', strong)).toMatchObject({ type: 'ok' });
    expect(await new SqlUserStore(c!, hasher, options).count()).toBe(1);
  });

  it('should let exactly one registration on any node take a single-use invite, and give back a use when the name decides', async () => {
    const [a, b] = await Promise.all([open(), open()]);
    let now = Date.UTC(2025, 0, 1);
    const clock = (): number => now;
    const options = { sessionTtlMs: 60_000, minPasswordLength: 12, now: clock };
    const nodes = [new SqlUserStore(a!, hasher, options), new SqlUserStore(b!, hasher, options)];
    const invites = new SqlInviteStore(a!, clock);

    const single = await invites.create({ uses: 1, expiresInMs: 60_000 });
    const results = await Promise.all(Array.from({ length: 8 }, (_, i) => nodes[i % 2]!.register(`racer${i}`, strong, { invite: single.token })));
    expect(results.filter((r) => r.type === 'registered')).toHaveLength(1);
    expect(results.filter((r) => r.type !== 'registered')).toEqual(Array(7).fill({ type: 'inviteInvalid', reason: 'used' }));

    const double = await invites.create({ uses: 2, expiresInMs: 60_000 });
    const twins = await Promise.all([nodes[0]!.register('twin', strong, { invite: double.token }), nodes[1]!.register('TWIN', strong, { invite: double.token })]);
    expect(twins.map((r) => r.type).sort()).toEqual(['registered', 'usernameTaken']);
    expect(await invites.check(double.token)).toBeUndefined();
    expect(await nodes[1]!.count()).toBe(2);

    now += 60_000;
    expect(await nodes[1]!.register('late', strong, { invite: double.token })).toEqual({ type: 'inviteInvalid', reason: 'expired' });
    expect(await invites.revoke(double.invite.id)).toBe(true);
    expect(await nodes[0]!.register('late', strong, { invite: double.token })).toEqual({ type: 'inviteInvalid', reason: 'unknown' });
    expect((await invites.list()).map((i) => [i.usesLeft, i.state])).toEqual([[0, 'used']]);
  });

  it('should give one increasing seq order to messages appended from several nodes, and de-duplicate ids', async () => {
    const [a, b] = await Promise.all([open(), open()]);
    const stores = [new SqlMessageStore(a!), new SqlMessageStore(b!)];
    const appended = await Promise.all(
      Array.from({ length: 40 }, (_, i) => stores[i % 2]!.append({ id: i.toString(16).padStart(32, '0'), from: 'bob', ts: i, frame: `frame-${i}` })),
    );
    const seqs = appended.map((r) => r.message.seq);
    expect(new Set(seqs).size).toBe(40);
    const again = await stores[1]!.append({ id: (7).toString(16).padStart(32, '0'), from: 'bob', ts: 0, frame: 'frame-7' });
    expect(again).toEqual({ type: 'duplicate', message: appended[7]!.message });
    const page = await stores[0]!.page({ afterSeq: 0, limit: 100 });
    expect(page.map((m) => m.seq)).toEqual([...seqs].sort((x, y) => x - y));
    expect(await stores[1]!.lastSeq()).toBe(Math.max(...seqs));
  });

  it('should tell the write observer each message append and user-store write, not a refused one', async () => {
    const database = await open();
    const seen: number[] = [];
    database.observeWrites((seconds) => seen.push(seconds));
    const messages = new SqlMessageStore(database);
    await messages.append({ id: 'a'.repeat(32), from: 'bob', ts: 1, frame: 'frame' });
    expect(seen).toHaveLength(1);
    // A duplicate session id: refused by the primary key, and not reported.
    await expect(database.timeWrite(() => database.current().query("INSERT INTO sessions VALUES ('s', 'h1', 1, 0), ('s', 'h2', 1, 0)"))).rejects.toThrow();
    expect(seen).toHaveLength(1);
    const users = new SqlUserStore(database, hasher, { sessionTtlMs: 60_000, minPasswordLength: 12 });
    await users.register('bob', strong);
    await users.issueSession({ id: 1, username: 'bob' });
    expect(seen).toHaveLength(2);
    expect(seen.every((seconds) => seconds > 0 && seconds < 60)).toBe(true);
  });
});
