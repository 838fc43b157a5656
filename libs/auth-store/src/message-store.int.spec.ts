// Retention (pruning the oldest messages) and the online backup, on real SQLite files.
import { afterEach, beforeEach, describe, expect, it } from '@jest/globals';
import Database from 'better-sqlite3';
import { mkdtemp, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { openDatabase, type DatabaseHandle } from './database.js';
import { AuthStoreError } from './errors.js';
import { SqlMessageStore } from './message-store.js';

const DAY = 86_400_000;
const now = Date.now();
let counter = 0;
/** Distinct 32-hex ids; the store does not check frames. */
const message = (ts: number): { id: string; from: string; ts: number; frame: string } => {
  const id = (++counter).toString(16).padStart(32, '0');
  return { id, from: 'alice', ts, frame: `${id}gAAAAA-frame-${counter}` };
};

describe('SqlMessageStore retention on SQLite', () => {
  let dir: string;
  let database: DatabaseHandle;
  let store: SqlMessageStore;

  beforeEach(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'enigma-retention-'));
    database = await openDatabase(path.join(dir, 'accounts.db'));
    store = new SqlMessageStore(database);
  });
  afterEach(async () => {
    await database.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('should prune the oldest messages in batches of at most the limit, keep the young ones and mark where it cut', async () => {
    for (let i = 0; i < 25; i++) await store.append(message(now - 30 * DAY + i));
    for (let i = 0; i < 5; i++) await store.append(message(now - 1000 + i));
    expect(await store.prunedBefore()).toBe(0);

    const cutoff = now - DAY;
    expect(await store.prune(cutoff, 10)).toBe(10);
    expect(await store.prunedBefore()).toBe(11);
    expect(await store.prune(cutoff, 10)).toBe(10);
    // The last batch holds 5 old and 5 young messages: it stops at the first young one.
    expect(await store.prune(cutoff, 10)).toBe(5);
    expect(await store.prune(cutoff, 10)).toBe(0);

    expect(await store.prunedBefore()).toBe(26);
    expect((await store.page({ afterSeq: 0, limit: 100 })).map((m) => m.seq)).toEqual([26, 27, 28, 29, 30]);
    expect((await store.latest(100)).map((m) => m.seq)).toEqual([26, 27, 28, 29, 30]);
    expect(await store.lastSeq()).toBe(30);
  });

  it('should stop at the first message inside the retention even when older ones follow it (a clock set back)', async () => {
    await store.append(message(now - 30 * DAY));
    await store.append(message(now));
    await store.append(message(now - 30 * DAY));
    expect(await store.prune(now - DAY, 1000)).toBe(1);
    // Kept: everything from the cut on, with no hole in the middle.
    expect((await store.page({ afterSeq: 0, limit: 10 })).map((m) => m.seq)).toEqual([2, 3]);
    expect(await store.prunedBefore()).toBe(2);
  });

  it('should keep numbering after everything was pruned, across a reopen (the last seq never goes back)', async () => {
    for (let i = 0; i < 3; i++) await store.append(message(now - 30 * DAY));
    expect(await store.prune(now, 1000)).toBe(3);
    expect(await store.latest(10)).toEqual([]);
    expect(await store.lastSeq()).toBe(3);
    expect(await store.prunedBefore()).toBe(4);

    await database.close();
    database = await openDatabase(path.join(dir, 'accounts.db'));
    store = new SqlMessageStore(database);
    expect(await store.lastSeq()).toBe(3);
    const next = await store.append(message(now));
    expect(next.message.seq).toBe(4);
  });

  it('should report no cut while every message is within the retention (a young chat says nothing was removed)', async () => {
    for (let i = 0; i < 3; i++) await store.append(message(now - 1000 + i));
    expect(await store.prune(now - DAY, 1000)).toBe(0);
    expect(await store.prune(now - DAY, 1000)).toBe(0);
    expect(await store.prunedBefore()).toBe(0);
    expect((await store.page({ afterSeq: 0, limit: 10 })).map((m) => m.seq)).toEqual([1, 2, 3]);
  });

  it('should do nothing on an empty chat', async () => {
    expect(await store.prune(now, 1000)).toBe(0);
    expect(await store.prunedBefore()).toBe(0);
    expect(await store.lastSeq()).toBe(0);
  });

  describe('backup', () => {
    it('should write a consistent, owner-only copy while appends keep coming, holding every append finished before it started', async () => {
      for (let i = 0; i < 2000; i++) void store.append(message(now));
      const before = await store.append(message(now)); // committed, so the 2,000 before it are too
      let stop = false;
      const during: Promise<unknown>[] = [];
      const writing = (async () => {
        while (!stop) {
          during.push(store.append(message(now)));
          await new Promise((resolve) => setImmediate(resolve));
        }
      })();
      const result = await database.backup(path.join(dir, 'copy.db'));
      stop = true;
      await writing;
      await Promise.all(during);

      expect(result.file).toBe(path.join(dir, 'copy.db'));
      expect(result.bytes).toBeGreaterThan(0);
      expect((await stat(result.file)).mode & 0o777).toBe(0o600);
      const copy = new Database(result.file, { readonly: true });
      try {
        expect(copy.pragma('integrity_check')).toEqual([{ integrity_check: 'ok' }]);
        const seqs = (copy.prepare('SELECT seq FROM messages ORDER BY seq').all() as Array<{ seq: number }>).map((row) => row.seq);
        // Every append acknowledged before the backup, then a contiguous run: no half-written commit.
        expect(seqs.length).toBeGreaterThanOrEqual(before.message.seq);
        expect(seqs).toEqual(Array.from({ length: seqs.length }, (_, i) => i + 1));
      } finally {
        copy.close();
      }
    });

    it('should refuse an existing file unless told to overwrite, and refuse the live database itself', async () => {
      await store.append(message(now));
      const target = path.join(dir, 'taken.db');
      await writeFile(target, 'precious');
      const kindOf = (promise: Promise<unknown>): Promise<unknown> =>
        promise.then(
          () => 'written',
          (error: unknown) => (AuthStoreError.is(error) ? error.kind : error),
        );
      expect(await kindOf(database.backup(target))).toBe('backupExists');
      expect((await stat(target)).size).toBe('precious'.length);
      expect(await kindOf(database.backup(path.join(dir, 'accounts.db'), { overwrite: true }))).toBe('backupFailed');

      const replaced = await database.backup(target, { overwrite: true });
      const copy = new Database(replaced.file, { readonly: true });
      expect(copy.prepare('SELECT COUNT(*) AS n FROM messages').get()).toEqual({ n: 1 });
      copy.close();
    });
  });
});
