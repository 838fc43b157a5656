import { afterEach, beforeEach, describe, expect, it } from '@jest/globals';
import { createPasswordHasher } from '@enigma/crypto';
import Database from 'better-sqlite3';
import { spawn } from 'node:child_process';
import { chmod, mkdir, mkdtemp, readFile, readdir, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { LEGACY_ACCOUNTS, makeLegacyDatabase } from '../../../tools/fixtures/make-legacy-db.mjs';
import { openDatabase, type DatabaseHandle } from './database.js';
import { AuthStoreError } from './errors.js';
import { SqlMessageStore } from './message-store.js';
import { SqliteWriterThread } from './sqlite-writer.js';
import { SqlUserStore } from './user-store.js';

// Cheap argon2id parameters keep the suite fast; production uses OWASP's (see @enigma/crypto).
const hasher = createPasswordHasher({ memoryKiB: 1024, iterations: 1, parallelism: 1 });
const strong = 'correct-horse-battery-staple-42';

describe('SqlUserStore on SQLite', () => {
  let dir: string;
  let database: DatabaseHandle;
  let users: SqlUserStore;

  const open = async (file: string, sessionTtlMs = 60_000): Promise<void> => {
    database = await openDatabase(file);
    users = new SqlUserStore(database, hasher, { sessionTtlMs, minPasswordLength: 12 });
  };

  beforeEach(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'enigma-auth-'));
  });
  afterEach(async () => {
    await database?.close();
    await rm(dir, { recursive: true, force: true });
  });

  describe('when the database file is new', () => {
    beforeEach(() => open(path.join(dir, 'sub', 'accounts.db')));

    it('should create the users table with exactly id, username, password', () => {
      const db = new Database(path.join(dir, 'sub', 'accounts.db'), { readonly: true });
      const columns = db.prepare('PRAGMA table_info(users)').all() as Array<{ name: string }>;
      db.close();
      expect(columns.map((c) => c.name)).toEqual(['id', 'username', 'password']);
    });

    it('should register and then log in, Cyrillic names included, storing only an argon2id hash', async () => {
      expect(await users.register('Алиса', strong)).toEqual({ type: 'registered', user: { id: 1, username: 'Алиса' } });
      expect(await users.verify('Алиса', strong)).toEqual({ type: 'ok', user: { id: 1, username: 'Алиса' }, rehashed: false });
      const db = new Database(path.join(dir, 'sub', 'accounts.db'), { readonly: true });
      const row = db.prepare('SELECT password FROM users WHERE id = 1').get() as { password: string };
      db.close();
      expect(row.password).toMatch(/^\$argon2id\$/);
      expect(row.password).not.toContain(strong);
    });

    it('should treat names case-insensitively: one account for Alice, alice and ALICE', async () => {
      await users.register('Alice', strong);
      expect(await users.register('alice', strong)).toEqual({ type: 'usernameTaken' });
      expect(await users.register('АЛИСА', strong)).toMatchObject({ type: 'registered' });
      expect(await users.register('алиса', strong)).toEqual({ type: 'usernameTaken' });
      expect(await users.verify('ALICE', strong)).toMatchObject({ type: 'ok', user: { username: 'Alice' } });
      expect(await users.count()).toBe(2);
    });

    it('should answer unknown users, wrong passwords, bad names and weak passwords distinctly', async () => {
      await users.register('carol', strong);
      expect(await users.verify('nobody', strong)).toEqual({ type: 'unknownUser' });
      expect(await users.verify('carol', 'wrong-password-here')).toEqual({ type: 'wrongPassword' });
      expect(await users.register('bad name', strong)).toMatchObject({ type: 'invalidUsername', reason: expect.any(String) });
      expect(await users.register('dave', 'password1234')).toMatchObject({ type: 'weakPassword', reason: expect.stringMatching(/guess/) });
    });

    it('should let exactly one of two simultaneous registrations of a name win', async () => {
      const results = await Promise.all([users.register('race', strong), users.register('RACE', strong)]);
      expect(results.map((r) => r.type).sort()).toEqual(['registered', 'usernameTaken']);
    });

    it('should ban (refusing the right password and dropping sessions) and unban', async () => {
      const { user } = (await users.register('mallory', strong)) as { user: { id: number; username: string } };
      const session = await users.issueSession(user);
      expect(await users.ban('Mallory')).toBe(true);
      expect(await users.isBanned('mallory')).toBe(true);
      expect(await users.verify('mallory', strong)).toEqual({ type: 'banned' });
      expect(await users.resumeSession(session.token)).toEqual({ type: 'expired' });
      expect(await users.unban('mallory')).toBe(true);
      expect(await users.verify('mallory', strong)).toMatchObject({ type: 'ok' });
      expect(await users.ban('no-such-user')).toBe(false);
    });

    it('should refuse a name that looks like an existing one (issue 16, item 2), and keep Latin and Cyrillic names working', async () => {
      expect(await users.register('alice', strong)).toMatchObject({ type: 'registered' });
      expect(await users.register('mallory', strong)).toMatchObject({ type: 'registered' });
      expect(await users.register('bob', strong)).toMatchObject({ type: 'registered' });
      expect(await users.register('алиса', strong)).toMatchObject({ type: 'registered' });
      expect(await users.register('Анна_42', strong)).toMatchObject({ type: 'registered' });
      // Refused by the character rules, whatever exists.
      for (const impostor of ['\u0430lice', '\uff41lice', '\u03b1lice', 'alice\u034f', 'alice\ufe0f', 'alice\u180b', 'alice\u3164', '\u3164']) {
        expect(await users.register(impostor, strong)).toMatchObject({ type: 'invalidUsername', reason: expect.any(String) });
      }
      // Refused because they look like a name in use: each is one script, valid on its own.
      for (const impostor of ['AIice', 'rnallory', '\u0412\u041e\u0412']) {
        expect(await users.register(impostor, strong)).toEqual({ type: 'usernameConfusable' });
      }
      expect(await users.register('aIice', strong)).toEqual({ type: 'usernameConfusable' });
      expect(await users.register('alicia', strong)).toMatchObject({ type: 'registered' });
      expect((await users.list()).map((u) => u.username)).toEqual(['alice', 'mallory', 'bob', 'алиса', 'Анна_42', 'alicia']);
      expect(await users.lookalikes('AIice')).toEqual([{ id: 1, username: 'alice' }]);
    });

    it('should address a user by id as well as by name', async () => {
      await users.register('zoe', strong);
      expect(await users.lookup({ id: 1 })).toEqual({ id: 1, username: 'zoe' });
      expect(await users.lookup('ZOE')).toEqual({ id: 1, username: 'zoe' });
      expect(await users.lookup({ id: 2 })).toBeUndefined();
      expect(await users.ban({ id: 1 })).toBe(true);
      expect(await users.isBanned('zoe')).toBe(true);
      expect(await users.unban({ id: 1 })).toBe(true);
      expect(await users.ban({ id: 99 })).toBe(false);
    });

    it('should issue, resume and revoke sessions, storing only a hash of the token', async () => {
      const { user } = (await users.register('erin', strong)) as { user: { id: number; username: string } };
      const grant = await users.issueSession(user);
      expect(await users.resumeSession(grant.token)).toEqual({ type: 'ok', user, sessionId: grant.sessionId });
      expect(await users.resumeSession('forged-token')).toEqual({ type: 'expired' });
      await users.revokeSession(grant.token);
      expect(await users.resumeSession(grant.token)).toEqual({ type: 'expired' });

      const files = await readdir(path.join(dir, 'sub'));
      for (const file of files) {
        expect((await readFile(path.join(dir, 'sub', file))).includes(grant.token)).toBe(false);
      }
    });

    it('should list users without passwords', async () => {
      await users.register('frank', strong);
      await users.register('Грета', strong);
      expect(await users.list()).toEqual([
        { id: 1, username: 'frank' },
        { id: 2, username: 'Грета' },
      ]);
    });
  });

  it('should expire sessions after their time to live', async () => {
    await open(path.join(dir, 'accounts.db'), 1);
    const { user } = (await users.register('gina', strong)) as { user: { id: number; username: string } };
    const grant = await users.issueSession(user);
    await new Promise((resolve) => setTimeout(resolve, 5)); // the TTL is 1 ms: any later moment is past it
    expect(await users.resumeSession(grant.token)).toEqual({ type: 'expired' });
  });

  describe("when the database is the seed project's accounts.db (plaintext passwords)", () => {
    let file: string;
    beforeEach(async () => {
      file = makeLegacyDatabase(path.join(dir, 'accounts.db'));
      await open(file);
    });

    const rows = (): Array<{ id: number; username: string; password: string }> => {
      const db = new Database(file, { readonly: true });
      const all = db.prepare('SELECT id, username, password FROM users ORDER BY id').all() as Array<{ id: number; username: string; password: string }>;
      db.close();
      return all;
    };

    it('should keep every row as it was after the migrations', () => {
      expect(rows()).toEqual(LEGACY_ACCOUNTS);
    });

    it('should log in with the plaintext password, re-hash that row only, then log in against the hash', async () => {
      const [alice, bob] = LEGACY_ACCOUNTS;
      expect(await users.verify(alice!.username, alice!.password)).toEqual({ type: 'ok', user: { id: 1, username: 'алиса' }, rehashed: true });
      const [aliceRow, bobRow] = rows();
      expect(aliceRow!.password).toMatch(/^\$argon2id\$/);
      expect(aliceRow!.username).toBe('алиса');
      expect(bobRow).toEqual(bob);
      expect(await users.verify('АЛИСА', alice!.password)).toEqual({ type: 'ok', user: { id: 1, username: 'алиса' }, rehashed: false });
      expect(await users.verify('bob', 'not-hunter2')).toEqual({ type: 'wrongPassword' });
    });

    it('should not re-judge legacy passwords as weak', async () => {
      expect(await users.verify('bob', 'hunter2')).toMatchObject({ type: 'ok' });
    });

    it('should keep legacy names unique case-insensitively for new registrations', async () => {
      expect(await users.register('Bob', strong)).toEqual({ type: 'usernameTaken' });
    });
  });

  it('should keep look-alike and rule-breaking names of an existing database as they are, with skeletons filled in, and refuse a new look-alike', async () => {
    const file = path.join(dir, 'lookalikes.db');
    const seed = new Database(file);
    seed.exec('CREATE TABLE users (id INTEGER PRIMARY KEY, username TEXT, password TEXT)');
    const legacy = [
      { id: 1, username: 'alice', password: 'qwerty123' },
      { id: 2, username: '\u0430lice', password: 'hunter2' },
      { id: 3, username: 'bob\u3164', password: 'hunter3' },
    ];
    for (const row of legacy) seed.prepare('INSERT INTO users (id, username, password) VALUES (?, ?, ?)').run(row.id, row.username, row.password);
    seed.close();
    await open(file);
    const read = (): unknown[] => {
      const db = new Database(file, { readonly: true });
      const all = db.prepare('SELECT id, username, password FROM users ORDER BY id').all();
      db.close();
      return all;
    };
    expect(read()).toEqual(legacy);
    expect(await users.lookalikes('alice')).toEqual([
      { id: 1, username: 'alice' },
      { id: 2, username: '\u0430lice' },
    ]);
    expect(await users.verify('\u0430lice', 'hunter2')).toMatchObject({ type: 'ok', user: { id: 2 } });
    expect(await users.register('AIice', strong)).toEqual({ type: 'usernameConfusable' });
    // Invisible characters do not count when comparing: a new `bob` would pass for the legacy `bob` + U+3164.
    expect(await users.register('bob', strong)).toEqual({ type: 'usernameConfusable' });
    expect(await users.register('carol', strong)).toMatchObject({ type: 'registered' });
  });

  it('should add and fill the skeleton column when a database from before it is opened', async () => {
    const file = path.join(dir, 'before-skeletons.db');
    await open(file);
    await users.register('alice', strong);
    await database.close();
    // Back to the previous schema: no skeleton column, the migration not yet run.
    const db = new Database(file);
    db.exec("DROP INDEX user_names_skeleton; ALTER TABLE user_names DROP COLUMN skeleton; DELETE FROM migrations WHERE name = 'AddNameSkeletons1766000000002'");
    db.close();
    await open(file);
    const check = new Database(file, { readonly: true });
    const rows = check.prepare('SELECT name_key, user_id, skeleton FROM user_names').all();
    const users_ = check.prepare('PRAGMA table_info(users)').all() as Array<{ name: string }>;
    check.close();
    expect(rows).toEqual([{ name_key: 'alice', user_id: 1, skeleton: 'alice' }]);
    expect(users_.map((c) => c.name)).toEqual(['id', 'username', 'password']);
    expect(await users.register('\u0251lice', strong)).toEqual({ type: 'usernameConfusable' });
  });

  it('should switch databases at run time: the new one is empty, switching back finds the old users', async () => {
    await open(path.join(dir, 'a.db'));
    await users.register('henry', strong);
    await database.switchTo(path.join(dir, 'b.db'));
    expect(await users.count()).toBe(0);
    expect(await users.verify('henry', strong)).toEqual({ type: 'unknownUser' });
    await database.switchTo(path.join(dir, 'a.db'));
    expect(await users.verify('henry', strong)).toMatchObject({ type: 'ok' });
    expect(database.description).toBe(path.join(dir, 'a.db'));
  });

  it('should keep the old database when the new one cannot be opened', async () => {
    await open(path.join(dir, 'a.db'));
    await users.register('ivan', strong);
    await writeFile(path.join(dir, 'not-a-folder'), 'x');
    await expect(database.switchTo(path.join(dir, 'not-a-folder', 'x.db'))).rejects.toMatchObject({ name: 'AuthStoreError', kind: 'databaseUnavailable' });
    expect(await users.verify('ivan', strong)).toMatchObject({ type: 'ok' });
  });

  it('should let two processes open and migrate the same file at once', async () => {
    const file = path.join(dir, 'shared.db');
    const script = `import('${fileURLToPath(new URL('../dist/index.js', import.meta.url))}').then(async (m) => { const db = await m.openDatabase(process.argv[1]); await db.close(); console.log('ok'); })`;
    const runOne = (): Promise<string> =>
      new Promise((resolve, reject) => {
        const child = spawn(process.execPath, ['-e', script, file], { stdio: ['ignore', 'pipe', 'pipe'] });
        let out = '';
        let err = '';
        child.stdout.on('data', (c: Buffer) => (out += c.toString()));
        child.stderr.on('data', (c: Buffer) => (err += c.toString()));
        child.on('exit', (code) => (code === 0 ? resolve(out.trim()) : reject(new Error(err))));
      });
    expect(await Promise.all(Array.from({ length: 6 }, runOne))).toEqual(Array(6).fill('ok'));
    await open(file);
    expect(await users.register('judy', strong)).toMatchObject({ type: 'registered' });
  }, 30_000);
});

describe('SqlMessageStore on SQLite', () => {
  let dir: string;
  let database: DatabaseHandle;
  let messages: SqlMessageStore;
  const message = (n: number) => ({ id: n.toString(16).padStart(32, '0'), from: 'алиса', ts: 1_700_000_000_000 + n, frame: `frame-${n}` });

  beforeEach(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'enigma-messages-'));
    database = await openDatabase(path.join(dir, 'accounts.db'));
    messages = new SqlMessageStore(database);
  });
  afterEach(async () => {
    await database.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('should keep the database and its WAL files readable by the owner only, even in a folder others may read', async () => {
    const shared = path.join(dir, 'shared');
    await mkdir(shared, { mode: 0o755 });
    await chmod(shared, 0o755);
    const file = path.join(shared, 'accounts.db');
    const other = await openDatabase(file);
    try {
      await new SqlMessageStore(other).append(message(1));
      const reader = new Database(file, { readonly: true }); // makes SQLite create the -shm file if it had not
      reader.close();
      for (const name of ['accounts.db', 'accounts.db-wal', 'accounts.db-shm']) {
        expect({ name, mode: ((await stat(path.join(shared, name))).mode & 0o777).toString(8) }).toEqual({ name, mode: '600' });
      }
    } finally {
      await other.close();
    }
  });

  it('should number messages in increasing seq and return a duplicate id with its original seq', async () => {
    const first = await messages.append(message(1));
    const second = await messages.append(message(2));
    expect(first).toEqual({ type: 'appended', message: { ...message(1), seq: 1 } });
    expect(second).toMatchObject({ type: 'appended', message: { seq: 2 } });
    expect(await messages.append({ ...message(1), ts: 5 })).toEqual({ type: 'duplicate', message: { ...message(1), seq: 1 } });
    expect(await messages.lastSeq()).toBe(2);
  });

  it('should serve the latest messages and pages in ascending seq', async () => {
    for (let n = 1; n <= 10; n++) await messages.append(message(n));
    expect((await messages.latest(3)).map((m) => m.seq)).toEqual([8, 9, 10]);
    expect((await messages.page({ afterSeq: 4, limit: 3 })).map((m) => m.seq)).toEqual([5, 6, 7]);
    expect((await messages.page({ beforeSeq: 4, limit: 10 })).map((m) => m.seq)).toEqual([1, 2, 3]);
    expect((await messages.page({ afterSeq: 2, beforeSeq: 5, limit: 10 })).map((m) => m.seq)).toEqual([3, 4]);
    expect(await messages.page({ afterSeq: 10, limit: 10 })).toEqual([]);
  });

  it('should give a replayed frame no seq of its own, so the next message follows on without a gap', async () => {
    expect(await messages.append(message(1))).toMatchObject({ type: 'appended', message: { seq: 1 } });
    for (let i = 0; i < 3; i++) expect(await messages.append(message(1))).toMatchObject({ type: 'duplicate', message: { seq: 1 } });
    // Replays sent together with a new frame (one group commit) take no number either.
    const [replay, fresh] = await Promise.all([messages.append(message(1)), messages.append(message(2))]);
    expect(replay.type).toBe('duplicate');
    expect(fresh).toMatchObject({ type: 'appended', message: { seq: 2 } });
    expect(await messages.append(message(3))).toMatchObject({ type: 'appended', message: { seq: 3 } });
    expect((await messages.page({ afterSeq: 0, limit: 10 })).map((m) => m.seq)).toEqual([1, 2, 3]);
  });

  it('should refuse a frame that would take its sender past the quota, still answer its resends, and count deleted rows back', async () => {
    const quota = { quotaBytes: 3 * 'frame-1'.length };
    for (let n = 1; n <= 3; n++) expect(await messages.append(message(n), quota)).toMatchObject({ type: 'appended' });
    expect(await messages.usage('алиса')).toBe(21);
    expect(await messages.append(message(4), quota)).toEqual({ type: 'quotaExceeded' });
    // A resend of a stored frame is not new storage: its original seq, as ever.
    expect(await messages.append(message(2), quota)).toMatchObject({ type: 'duplicate', message: { seq: 2 } });
    // Another account has its own quota.
    expect(await messages.append({ ...message(5), from: 'bob' }, quota)).toMatchObject({ type: 'appended', message: { seq: 4 } });
    // Whatever deletes rows (an operator, a retention job) frees quota: the triggers keep the count.
    await database.current().query('DELETE FROM messages WHERE seq = 1');
    expect(await messages.usage('алиса')).toBe(14);
    expect(await messages.append(message(4), quota)).toMatchObject({ type: 'appended', message: { seq: 5 } });
    expect(await messages.usage('bob')).toBe(7);
  });

  it('should count, when upgrading, the bytes each account stored before the quota existed', async () => {
    for (let n = 1; n <= 4; n++) await messages.append({ ...message(n), from: n % 2 === 0 ? 'bob' : 'алиса' });
    await database.close();
    // The database as the previous version left it: no usage table, no triggers, migration not run.
    const file = path.join(dir, 'accounts.db');
    const raw = new Database(file);
    raw.exec(
      "DROP TRIGGER messages_usage_insert; DROP TRIGGER messages_usage_delete; DROP TABLE message_usage; DELETE FROM migrations WHERE name = 'CreateMessageUsage1766000000001'",
    );
    raw.close();
    database = await openDatabase(file);
    messages = new SqlMessageStore(database);
    expect([await messages.usage('алиса'), await messages.usage('bob'), await messages.usage('nobody')]).toEqual([14, 14, 0]);
    await messages.append(message(5));
    expect(await messages.usage('алиса')).toBe(21);
  });

  it('should read slices bounded in count and in bytes, at least one message each, saying whether more is stored', async () => {
    // Frames of 100, 200, ... 1,000 bytes (seq 1..10).
    for (let n = 1; n <= 10; n++) await messages.append({ ...message(n), frame: 'f'.repeat(100 * n) });
    const seqs = (slice: { messages: Array<{ seq: number }>; more: boolean }): [number[], boolean] => [slice.messages.map((m) => m.seq), slice.more];
    expect(seqs(await messages.slice({ afterSeq: 0, limit: 100, maxBytes: 1000 }))).toEqual([[1, 2, 3, 4], true]);
    expect(seqs(await messages.slice({ afterSeq: 4, limit: 100, maxBytes: 1000 }))).toEqual([[5], true]);
    expect(seqs(await messages.slice({ afterSeq: 8, limit: 100, maxBytes: 1000 }))).toEqual([[9], true]);
    // One frame larger than the bound still comes (alone): paging always moves on.
    expect(seqs(await messages.slice({ afterSeq: 8, limit: 100, maxBytes: 10 }))).toEqual([[9], true]);
    expect(seqs(await messages.slice({ afterSeq: 9, limit: 100, maxBytes: 1000 }))).toEqual([[10], false]);
    expect(seqs(await messages.slice({ afterSeq: 0, limit: 2, maxBytes: 1e9 }))).toEqual([[1, 2], true]);
    expect(seqs(await messages.slice({ afterSeq: 0, beforeSeq: 3, limit: 2, maxBytes: 1e9 }))).toEqual([[1, 2], false]);
    expect(seqs(await messages.slice({ afterSeq: 10, limit: 5, maxBytes: 1e9 }))).toEqual([[], false]);
    // Without afterSeq: the newest first, returned ascending; `more` means older ones.
    expect(seqs(await messages.slice({ limit: 100, maxBytes: 2000 }))).toEqual([[9, 10], true]);
    expect(seqs(await messages.slice({ beforeSeq: 4, limit: 100, maxBytes: 500 }))).toEqual([[2, 3], true]);
    expect(seqs(await messages.slice({ beforeSeq: 3, limit: 100, maxBytes: 1e9 }))).toEqual([[1, 2], false]);
    expect((await messages.slice({ afterSeq: 0, limit: 1, maxBytes: 1e9 })).messages[0]).toEqual({ ...message(1), frame: 'f'.repeat(100), seq: 1 });
  });

  it('should report 0 as the last seq of an empty history', async () => {
    expect(await messages.lastSeq()).toBe(0);
  });

  // Appends are committed on a writer thread (SqliteWriterThread), the reads on the main connection.
  it('should number appends made without waiting in call order, each readable once it resolves', async () => {
    const appends = Array.from({ length: 200 }, (_, i) => messages.append(message(i + 1)));
    const seen: number[] = [];
    for (const [i, append] of appends.entries()) {
      const result = await append;
      expect(result).toEqual({ type: 'appended', message: { ...message(i + 1), seq: i + 1 } });
      // Resolved means committed: the main connection already reads it.
      seen.push((await messages.page({ afterSeq: i, limit: 1 }))[0]!.seq);
    }
    expect(seen).toEqual(Array.from({ length: 200 }, (_, i) => i + 1));
  });

  it('should finish the appends already made before close() resolves, so none is lost on shutdown', async () => {
    const appends = Array.from({ length: 50 }, (_, i) => messages.append(message(i + 1)));
    await database.close();
    expect((await Promise.all(appends)).every((result) => result.type === 'appended')).toBe(true);
    const db = new Database(path.join(dir, 'accounts.db'), { readonly: true });
    const { count } = db.prepare('SELECT COUNT(*) AS count FROM messages').get() as { count: number };
    db.close();
    expect(count).toBe(50);
    database = await openDatabase(path.join(dir, 'accounts.db')); // for afterEach
  });

  it('should refuse an append that comes after close() instead of starting a new writer on a closed database', async () => {
    await messages.append(message(1));
    await database.close();
    await expect(messages.append(message(2))).rejects.toMatchObject({ kind: 'databaseUnavailable' });
    database = await openDatabase(path.join(dir, 'accounts.db')); // for afterEach
    expect((await new SqlMessageStore(database).latest(10)).map((m) => m.seq)).toEqual([1]);
  });

  it('should append to the new file after a database switch, and keep the old file as it was', async () => {
    await messages.append(message(1));
    await database.switchTo(path.join(dir, 'other.db'));
    expect(await messages.append(message(2))).toMatchObject({ type: 'appended', message: { seq: 1 } });
    expect((await messages.latest(10)).map((m) => m.id)).toEqual([message(2).id]);
    const old = new Database(path.join(dir, 'accounts.db'), { readonly: true });
    const ids = (old.prepare('SELECT id FROM messages').all() as Array<{ id: string }>).map((row) => row.id);
    old.close();
    expect(ids).toEqual([message(1).id]);
  });

  it('should refuse a write the database rejects with its error, and commit the writes queued with it', async () => {
    const writer = database.writer()!;
    // Posted together: one group commit holds all three.
    const before = messages.append(message(1));
    const refused = writer.run('INSERT INTO messages (id, sender, ts, frame) VALUES (?, ?, ?, NULL)', ['x', 'a', 1]);
    const after = messages.append(message(2));
    await expect(refused).rejects.toMatchObject({ code: 'SQLITE_CONSTRAINT_NOTNULL' });
    expect(await before).toMatchObject({ type: 'appended', message: { seq: 1 } });
    expect(await after).toMatchObject({ type: 'appended', message: { seq: 2 } });
    expect((await messages.latest(10)).map((m) => m.seq)).toEqual([1, 2]);
  });

  it('should tell the write observer each committed write (not a refused one), on the new file after a switch too, until it is removed', async () => {
    const seen: number[] = [];
    database.observeWrites((seconds) => seen.push(seconds));
    await messages.append(message(1));
    await expect(database.writer()!.run('INSERT INTO messages (id, sender, ts, frame) VALUES (?, ?, ?, NULL)', ['x', 'a', 1])).rejects.toThrow();
    expect(seen).toHaveLength(1);
    await database.switchTo(path.join(dir, 'other.db'));
    await messages.append(message(2));
    expect(seen).toHaveLength(2);
    expect(seen.every((seconds) => seconds > 0 && seconds < 60)).toBe(true);
    database.observeWrites(undefined);
    await messages.append(message(3));
    expect(seen).toHaveLength(2);
  });

  it('should fail writes with databaseUnavailable when the writer thread cannot open the file, and try again on the next write', async () => {
    const file = path.join(dir, 'missing-folder', 'x.db');
    const writer = new SqliteWriterThread(file);
    const first = writer.run('SELECT 1 AS one', []);
    await expect(first).rejects.toBeInstanceOf(AuthStoreError);
    await expect(first).rejects.toMatchObject({ kind: 'databaseUnavailable' });
    await mkdir(path.dirname(file));
    expect(await writer.run<{ one: number }>('SELECT 1 AS one', [])).toEqual({ one: 1 });
    await writer.close();
  });
});
