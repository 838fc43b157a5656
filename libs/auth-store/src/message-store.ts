import type { ServiceIdentifier } from 'inversify';
import type { DataSource } from 'typeorm';
import { sql, transaction, type DatabaseHandle } from './database.js';

export interface StoredMessage {
  id: string;
  seq: number;
  from: string;
  ts: number;
  frame: string;
}

export type AppendResult = { type: 'appended'; message: StoredMessage } | { type: 'duplicate'; message: StoredMessage };

/** The relayed frames, in `seq` order. Everything returned is ascending by `seq`. */
export interface MessageStore {
  /**
   * Resolves once the frame is committed; a known id returns the original
   * message. Appends made one after another on this store are numbered in
   * the order of the calls, even when the caller does not wait in between.
   */
  append(message: { id: string; from: string; ts: number; frame: string }): Promise<AppendResult>;
  latest(limit: number): Promise<StoredMessage[]>;
  page(query: { beforeSeq?: number; afterSeq?: number; limit: number }): Promise<StoredMessage[]>;
  /** The highest seq ever handed out (0 when none): it does not go down when retention prunes. */
  lastSeq(): Promise<number>;
  /**
   * Every message with a seq below this was removed by retention (0: none
   * was); every message from it on is kept. What was pruned is always a
   * prefix of the chat, never a hole in the middle.
   */
  prunedBefore(): Promise<number>;
  /**
   * Removes, oldest first, up to `limit` messages accepted before `cutoffTs`
   * (ms since the epoch), stopping at the first one that is not: a message
   * is kept at least until it is older than the cutoff. Resolves with how
   * many were removed; fewer than `limit` means none older is left for now
   * (or, on PostgreSQL, another node is pruning at this moment). Small
   * batches keep each statement short, so appends queued beside it wait
   * for one batch at most.
   */
  prune(cutoffTs: number, limit: number): Promise<number>;
}

export const messageStoreId: ServiceIdentifier<MessageStore> = Symbol.for('@enigma/auth-store/MessageStore');

interface MessageRow {
  seq: number | string;
  id: string;
  sender: string;
  ts: number | string;
  frame: string;
}

const COLUMNS = 'seq, id, sender, ts, frame';
/** The advisory lock key that serialises appends across nodes (an arbitrary constant: "ENIG"). */
const APPEND_LOCK = 0x454e4947;
/** The advisory lock a node holds while it prunes a batch: one node prunes at a time ("PRUN"). */
const PRUNE_LOCK = 0x5052554e;

/**
 * Pruning, as two statements run in this order. The first moves the
 * watermark past the oldest `limit` messages, or to the first of them that is
 * still within the retention; the second deletes what lies below the
 * watermark. The watermark moves first, so a crash between the two leaves
 * rows the marker already calls pruned (removed by the next batch), never
 * rows gone without it. Both walk `seq`, the primary key.
 */
function pruneStatements(dialect: 'sqlite' | 'postgres'): { mark: string; remove: string } {
  const greatest = dialect === 'postgres' ? 'GREATEST' : 'MAX';
  const boundary =
    'SELECT COALESCE(MIN(CASE WHEN batch.ts >= ? THEN batch.seq END), MAX(batch.seq) + 1) FROM (SELECT seq, ts FROM messages ORDER BY seq LIMIT ?) AS batch';
  return {
    mark: `UPDATE message_retention SET pruned_before = ${greatest}(pruned_before, COALESCE((${boundary}), 0)) WHERE id = 1`,
    remove: 'DELETE FROM messages WHERE seq < (SELECT pruned_before FROM message_retention WHERE id = 1)',
  };
}

// PostgreSQL returns BIGINT as strings; seq and ts fit safely in a JS number.
const toMessage = (row: MessageRow): StoredMessage => ({ id: row.id, seq: Number(row.seq), from: row.sender, ts: Number(row.ts), frame: row.frame });

/**
 * On PostgreSQL several nodes append at once. A sequence hands out numbers in
 * call order but transactions commit in any order, so a reader could see seq
 * N+1 before N exists and skip N for good. A transaction-scoped advisory
 * lock, taken before the number is drawn and held to the commit, makes
 * commits happen in seq order across every node.
 */
async function appendOnPostgres(db: DataSource, insert: string, parameters: unknown[]): Promise<{ seq: number | string } | undefined> {
  const inserted = await transaction(db, async (query) => {
    await query('SELECT pg_advisory_xact_lock(?)', [APPEND_LOCK]);
    return query<{ seq: number | string }>(insert, parameters);
  });
  return inserted.records[0];
}

export class SqlMessageStore implements MessageStore {
  /** PostgreSQL: the last append on this node; the next waits for it (numbers in call order). */
  #postgresTail: Promise<unknown> = Promise.resolve();

  public constructor(private readonly database: DatabaseHandle) {}

  public async append(message: { id: string; from: string; ts: number; frame: string }): Promise<AppendResult> {
    const db = this.database.current();
    // ON CONFLICT DO NOTHING + RETURNING: no exception on a resend.
    const insert = 'INSERT INTO messages (id, sender, ts, frame) VALUES (?, ?, ?, ?) ON CONFLICT (id) DO NOTHING RETURNING seq';
    const parameters = [message.id, message.from, message.ts, message.frame];
    const writer = this.database.writer();
    const row =
      writer !== undefined
        ? // SQLite: committed (and fsync'd) on the writer thread, off the event loop.
          await writer.run<{ seq: number | string }>(insert, parameters)
        : await this.database.timeWrite(() => this.afterPreviousAppend(() => appendOnPostgres(db, insert, parameters)));
    if (row !== undefined) return { type: 'appended', message: { ...message, seq: Number(row.seq) } };
    const existing = await sql<MessageRow>(db, `SELECT ${COLUMNS} FROM messages WHERE id = ?`, [message.id]);
    return { type: 'duplicate', message: toMessage(existing.records[0]!) };
  }

  /** The writer thread keeps SQLite appends in call order; a PostgreSQL pool would not. */
  private afterPreviousAppend<T>(append: () => Promise<T>): Promise<T> {
    const result = this.#postgresTail.then(append);
    this.#postgresTail = result.catch(() => undefined);
    return result;
  }

  public async latest(limit: number): Promise<StoredMessage[]> {
    const { records } = await sql<MessageRow>(this.database.current(), `SELECT ${COLUMNS} FROM messages ORDER BY seq DESC LIMIT ?`, [limit]);
    return records.map(toMessage).reverse();
  }

  public async page(query: { beforeSeq?: number; afterSeq?: number; limit: number }): Promise<StoredMessage[]> {
    const db = this.database.current();
    const before = query.beforeSeq ?? Number.MAX_SAFE_INTEGER;
    if (query.afterSeq !== undefined) {
      const { records } = await sql<MessageRow>(db, `SELECT ${COLUMNS} FROM messages WHERE seq > ? AND seq < ? ORDER BY seq ASC LIMIT ?`, [query.afterSeq, before, query.limit]);
      return records.map(toMessage);
    }
    const { records } = await sql<MessageRow>(db, `SELECT ${COLUMNS} FROM messages WHERE seq < ? ORDER BY seq DESC LIMIT ?`, [before, query.limit]);
    return records.map(toMessage).reverse();
  }

  public async lastSeq(): Promise<number> {
    // Once retention has emptied the table, the watermark still says how far the numbering went.
    const { records } = await sql<{ last: number | string | null; pruned: number | string | null }>(
      this.database.current(),
      'SELECT (SELECT MAX(seq) FROM messages) AS last, (SELECT pruned_before FROM message_retention WHERE id = 1) AS pruned',
    );
    return Math.max(Number(records[0]?.last ?? 0), Number(records[0]?.pruned ?? 0) - 1);
  }

  public async prunedBefore(): Promise<number> {
    const { records } = await sql<{ pruned: number | string }>(this.database.current(), 'SELECT pruned_before AS pruned FROM message_retention WHERE id = 1');
    return Number(records[0]?.pruned ?? 0);
  }

  public async prune(cutoffTs: number, limit: number): Promise<number> {
    const { mark, remove } = pruneStatements(this.database.dialect);
    const writer = this.database.writer();
    if (writer !== undefined) {
      // SQLite: on the writer thread, in order, each in whichever group commit it lands in.
      const [, removed] = await Promise.all([writer.runForChanges(mark, [cutoffTs, limit]), writer.runForChanges(remove, [])]);
      return removed;
    }
    return this.database.timeWrite(() =>
      transaction(this.database.current(), async (query) => {
        const { records } = await query<{ locked: boolean }>('SELECT pg_try_advisory_xact_lock(?) AS locked', [PRUNE_LOCK]);
        if (records[0]?.locked !== true) return 0; // another node is pruning: its batches cover ours
        await query(mark, [cutoffTs, limit]);
        return (await query(remove)).affected ?? 0;
      }),
    );
  }
}
