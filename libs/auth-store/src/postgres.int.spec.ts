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

  it("should let three nodes start (and migrate) at once, then see each other's accounts", async () => {
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
    const twins = await Promise.all([
      nodes[0]!.register('twin', strong, { invite: double.token }),
      nodes[1]!.register('TWIN', strong, { invite: double.token }),
    ]);
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

  it('should give a replayed frame no seq of its own on any node (a sequence value is drawn only for a row that is stored)', async () => {
    const [a, b] = await Promise.all([open(), open()]);
    const stores = [new SqlMessageStore(a!), new SqlMessageStore(b!)];
    const frame = (n: number) => ({ id: n.toString(16).padStart(32, '0'), from: 'bob', ts: n, frame: `frame-${n}` });
    expect(await stores[0]!.append(frame(1))).toMatchObject({ type: 'appended', message: { seq: 1 } });
    const replays = await Promise.all(Array.from({ length: 6 }, (_, i) => stores[i % 2]!.append(frame(1))));
    expect(replays.map((r) => r.type)).toEqual(Array(6).fill('duplicate'));
    expect(await stores[1]!.append(frame(2))).toMatchObject({ type: 'appended', message: { seq: 2 } });
    expect(await stores[0]!.append(frame(3))).toMatchObject({ type: 'appended', message: { seq: 3 } });
  });

  it('should keep the per-account quota across nodes, free it when rows are deleted, and read byte-bounded slices', async () => {
    const [a, b] = await Promise.all([open(), open()]);
    const stores = [new SqlMessageStore(a!), new SqlMessageStore(b!)];
    const frame = (n: number, size = 100) => ({ id: n.toString(16).padStart(32, '0'), from: 'Алиса', ts: n, frame: 'f'.repeat(size) });
    const quota = { quotaBytes: 500 };
    // Eight appends racing from two nodes: exactly five fit.
    const results = await Promise.all(Array.from({ length: 8 }, (_, i) => stores[i % 2]!.append(frame(i + 1), quota)));
    expect(results.filter((r) => r.type === 'appended')).toHaveLength(5);
    expect(results.filter((r) => r.type === 'quotaExceeded')).toHaveLength(3);
    expect(await stores[1]!.usage('Алиса')).toBe(500);
    const stored = results.flatMap((r) => (r.type === 'appended' ? [r.message] : []));
    expect(stored.map((m) => m.seq).sort((x, y) => x - y)).toEqual([1, 2, 3, 4, 5]);
    expect(await stores[0]!.append(stored[0]!, quota)).toMatchObject({ type: 'duplicate' });
    await a!.current().query('DELETE FROM messages WHERE seq <= 2');
    expect(await stores[0]!.usage('Алиса')).toBe(300);
    expect(await stores[1]!.append(frame(20, 200), quota)).toMatchObject({ type: 'appended', message: { seq: 6 } });

    const slice = await stores[0]!.slice({ afterSeq: 0, limit: 100, maxBytes: 250 });
    expect([slice.messages.map((m) => m.seq), slice.more]).toEqual([[3, 4], true]);
    const newest = await stores[1]!.slice({ limit: 100, maxBytes: 250 });
    expect([newest.messages.map((m) => m.seq), newest.more]).toEqual([[6], true]);
    const rest = await stores[1]!.slice({ afterSeq: 4, limit: 100, maxBytes: 1e9 });
    expect([rest.messages.map((m) => m.seq), rest.more]).toEqual([[5, 6], false]);
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

  it('should prune the oldest messages in batches from two nodes at once, keep the numbering, and refuse a server-side backup', async () => {
    const [a, b] = await Promise.all([open(), open()]);
    const stores = [new SqlMessageStore(a!), new SqlMessageStore(b!)];
    const now = Date.now();
    for (let i = 0; i < 30; i++)
      await stores[0]!.append({ id: i.toString(16).padStart(32, '0'), from: 'bob', ts: i < 25 ? now - 86_400_000 : now, frame: `frame-${i}` });
    // Both nodes prune together: one holds the lock per batch, the other skips it; together they remove exactly the 25 old ones.
    let removed = 0;
    for (let round = 0; round < 10; round++) removed += (await Promise.all(stores.map((store) => store.prune(now - 1000, 10)))).reduce((x, y) => x + y, 0);
    expect(removed).toBe(25);
    expect(await stores[1]!.prunedBefore()).toBe(26);
    expect((await stores[1]!.page({ afterSeq: 0, limit: 100 })).map((m) => m.seq)).toEqual([26, 27, 28, 29, 30]);
    expect(await stores[0]!.prune(now + 1000, 100)).toBe(5);
    expect(await stores[0]!.lastSeq()).toBe(30);
    expect((await stores[1]!.append({ id: 'f'.repeat(32), from: 'bob', ts: now, frame: 'frame-new' })).message.seq).toBe(31);
    await expect(a!.backup('/tmp/never-written.db')).rejects.toMatchObject({ kind: 'notSupported' });
  });
});
