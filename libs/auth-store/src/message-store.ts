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

export type AppendResult =
  | { type: 'appended'; message: StoredMessage }
  | { type: 'duplicate'; message: StoredMessage }
  /** Storing it would take the sender past `quotaBytes`: nothing was stored. */
  | { type: 'quotaExceeded' };

export interface AppendOptions {
  /**
   * The most bytes of frames the sender may have stored, this frame
   * included; unset: no limit. A known id is still answered `duplicate`
   * (its bytes are already counted).
   */
  quotaBytes?: number;
}

/**
 * A backlog read, bounded in count and in bytes. With `afterSeq`: the oldest
 * messages after it (and before `beforeSeq`); without: the newest before
 * `beforeSeq` (or at all).
 */
export interface SliceQuery {
  afterSeq?: number;
  beforeSeq?: number;
  /** At most this many messages. */
  limit: number;
  /** At most this many bytes of frames, but always at least one message when there is one. */
  maxBytes: number;
}

export interface HistorySlice {
  /** Ascending by `seq`. */
  messages: StoredMessage[];
  /** True when the slice stopped at `limit` or `maxBytes` with more stored in the direction it read. */
  more: boolean;
}

/** The relayed frames, in `seq` order. Everything returned is ascending by `seq`. */
export interface MessageStore {
  /**
   * Resolves once the frame is committed; a known id returns the original
   * message (and takes no `seq`: numbers have no gaps from resends). Appends
   * made one after another on this store are numbered in the order of the
   * calls, even when the caller does not wait in between.
   */
  append(message: { id: string; from: string; ts: number; frame: string }, options?: AppendOptions): Promise<AppendResult>;
  latest(limit: number): Promise<StoredMessage[]>;
  page(query: { beforeSeq?: number; afterSeq?: number; limit: number }): Promise<StoredMessage[]>;
  /**
   * Like `page`, bounded in bytes too. Reads the frames' sizes first (not
   * the frames), so a slice of huge frames is never loaded beyond its bound.
   */
  slice(query: SliceQuery): Promise<HistorySlice>;
  /** Bytes of frames an account has stored (what the quota counts). */
  usage(sender: string): Promise<number>;
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
  // The cut is the first message of the batch still within the retention (or
  // just past the batch); when that is the oldest message itself, nothing is
  // to go and the mark stays put (0): a young chat must not report a cut.
  const boundary =
    'SELECT CASE WHEN cut.b > cut.first THEN cut.b ELSE 0 END FROM (' +
    'SELECT COALESCE(MIN(CASE WHEN batch.ts >= ? THEN batch.seq END), MAX(batch.seq) + 1) AS b, MIN(batch.seq) AS first ' +
    'FROM (SELECT seq, ts FROM messages ORDER BY seq LIMIT ?) AS batch) AS cut';
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

/** No quota: larger than any table. */
const UNLIMITED = Number.MAX_SAFE_INTEGER;

/**
 * One statement that stores the frame unless its id is known or the sender's
 * stored bytes (`message_usage`, kept by triggers) plus this frame would pass
 * the quota. The id is checked *before* the insert: an `INSERT … ON CONFLICT
 * DO NOTHING` alone draws a number (SQLite AUTOINCREMENT, a PostgreSQL
 * sequence) before it finds the conflict, so every replayed frame left a gap
 * in `seq`, and every client waited out a gap (200 ms) and asked the history
 * for a message that never existed. Here a refused row never reaches the
 * insert. Both dialects: the SQLite writer thread and the PostgreSQL append
 * lock run appends one at a time, so nothing comes between check and insert
 * (ON CONFLICT stays as a last guard). The casts type the parameters for
 * PostgreSQL (a bare `SELECT $1` would be text).
 */
const APPEND = `INSERT INTO messages (id, sender, ts, frame)
SELECT CAST(? AS VARCHAR(32)), CAST(? AS TEXT), CAST(? AS BIGINT), CAST(? AS TEXT)
WHERE NOT EXISTS (SELECT 1 FROM messages WHERE id = ?)
  AND COALESCE((SELECT bytes FROM message_usage WHERE sender = ?), 0) + CAST(? AS BIGINT) <= CAST(? AS BIGINT)
ON CONFLICT (id) DO NOTHING RETURNING seq`;

export class SqlMessageStore implements MessageStore {
  /** PostgreSQL: the last append on this node; the next waits for it (numbers in call order). */
  #postgresTail: Promise<unknown> = Promise.resolve();

  public constructor(private readonly database: DatabaseHandle) {}

  public async append(message: { id: string; from: string; ts: number; frame: string }, options: AppendOptions = {}): Promise<AppendResult> {
    const db = this.database.current();
    // Frames are ASCII (hex and base64url), so their length is their size in bytes.
    const parameters = [message.id, message.from, message.ts, message.frame, message.id, message.from, message.frame.length, options.quotaBytes ?? UNLIMITED];
    const writer = this.database.writer();
    const row =
      writer !== undefined
        ? // SQLite: committed (and fsync'd) on the writer thread, off the event loop.
          await writer.run<{ seq: number | string }>(APPEND, parameters)
        : await this.database.timeWrite(() => this.afterPreviousAppend(() => appendOnPostgres(db, APPEND, parameters)));
    if (row !== undefined) return { type: 'appended', message: { ...message, seq: Number(row.seq) } };
    // Not stored: its id was known, or it did not fit the quota.
    const existing = await sql<MessageRow>(db, `SELECT ${COLUMNS} FROM messages WHERE id = ?`, [message.id]);
    const known = existing.records[0];
    return known === undefined ? { type: 'quotaExceeded' } : { type: 'duplicate', message: toMessage(known) };
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
      const { records } = await sql<MessageRow>(db, `SELECT ${COLUMNS} FROM messages WHERE seq > ? AND seq < ? ORDER BY seq ASC LIMIT ?`, [
        query.afterSeq,
        before,
        query.limit,
      ]);
      return records.map(toMessage);
    }
    const { records } = await sql<MessageRow>(db, `SELECT ${COLUMNS} FROM messages WHERE seq < ? ORDER BY seq DESC LIMIT ?`, [before, query.limit]);
    return records.map(toMessage).reverse();
  }

  public async slice(query: SliceQuery): Promise<HistorySlice> {
    const db = this.database.current();
    const ascending = query.afterSeq !== undefined;
    const after = query.afterSeq ?? -1;
    const before = query.beforeSeq ?? Number.MAX_SAFE_INTEGER;
    // Sizes first, one more than asked for (is there more?): octet_length
    // reads a value's length without its content on SQLite (3.43+) and
    // PostgreSQL, so this stays cheap however large the frames are.
    const { records: sizes } = await sql<{ seq: number | string; size: number | string }>(
      db,
      `SELECT seq, octet_length(frame) AS size FROM messages WHERE seq > ? AND seq < ? ORDER BY seq ${ascending ? 'ASC' : 'DESC'} LIMIT ?`,
      [after, before, query.limit + 1],
    );
    let taken = 0;
    let bytes = 0;
    for (const row of sizes) {
      const size = Number(row.size);
      if (taken === query.limit || (taken > 0 && bytes + size > query.maxBytes)) break;
      taken++;
      bytes += size;
    }
    if (taken === 0) return { messages: [], more: false };
    const ends = [Number(sizes[0]!.seq), Number(sizes[taken - 1]!.seq)];
    const { records } = await sql<MessageRow>(db, `SELECT ${COLUMNS} FROM messages WHERE seq >= ? AND seq <= ? ORDER BY seq ASC`, [
      Math.min(...ends),
      Math.max(...ends),
    ]);
    return { messages: records.map(toMessage), more: taken < sizes.length };
  }

  public async usage(sender: string): Promise<number> {
    const { records } = await sql<{ bytes: number | string }>(this.database.current(), 'SELECT bytes FROM message_usage WHERE sender = ?', [sender]);
    return Number(records[0]?.bytes ?? 0);
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
