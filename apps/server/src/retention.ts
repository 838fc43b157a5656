import { performance } from 'node:perf_hooks';
import type { MessageStore } from '@enigma/auth-store';
import { formatDuration } from './duration.js';
import type { Logger } from './logger.js';

/**
 * Messages removed per statement. On SQLite each batch is one statement on
 * the writer thread, sharing a group commit with the appends queued beside
 * it: a frame sent while pruning runs waits for one batch at most (a few ms),
 * not for the whole backlog.
 */
const PRUNE_BATCH = 1000;

/**
 * How often a round starts: every minute, or more often for a short
 * retention (a tenth of it, at least a second), so a message is gone at most
 * ~10% after its time is up.
 */
function pruneIntervalMs(retentionMs: number): number {
  return Math.min(60_000, Math.max(1000, Math.floor(retentionMs / 10)));
}

export interface RetentionStatus {
  retentionMs: number;
  intervalMs: number;
  /** Every seq below this is gone (0: nothing pruned yet). */
  prunedBefore: number;
  removedSinceStart: number;
  /** A round is deleting batches right now. */
  pruning: boolean;
}

/**
 * Deletes messages older than the retention, at start and then on a timer,
 * in batches of `PRUNE_BATCH` with a turn of the event loop between them.
 * The deleting itself runs off the event loop (SQLite: the writer thread;
 * PostgreSQL: the server), so relaying goes on while a large backlog goes.
 */
export class RetentionPruner {
  #timer: NodeJS.Timeout | undefined;
  #round: Promise<void> | undefined;
  #stopped = false;
  #removed = 0;
  readonly #intervalMs: number;

  public constructor(
    private readonly store: MessageStore,
    private readonly retentionMs: number,
    private readonly log: Logger,
    private readonly batch = PRUNE_BATCH,
  ) {
    this.#intervalMs = pruneIntervalMs(retentionMs);
  }

  public start(): void {
    this.#timer = setInterval(() => void this.runRound(), this.#intervalMs);
    // The timer must not keep a server that is otherwise done alive.
    this.#timer.unref();
    void this.runRound();
  }

  /** One round now (or the one already running): every batch older than the retention, as of the round's start. */
  public runRound(): Promise<void> {
    if (this.#stopped) return Promise.resolve();
    this.#round ??= this.prune().finally(() => (this.#round = undefined));
    return this.#round;
  }

  public async status(): Promise<RetentionStatus> {
    return {
      retentionMs: this.retentionMs,
      intervalMs: this.#intervalMs,
      prunedBefore: await this.store.prunedBefore(),
      removedSinceStart: this.#removed,
      pruning: this.#round !== undefined,
    };
  }

  /** Stops the timer and waits for the batch in progress (before the database closes). */
  public async stop(): Promise<void> {
    this.#stopped = true;
    clearInterval(this.#timer);
    await this.#round;
  }

  private async prune(): Promise<void> {
    // One cutoff per round: a round ends even while new messages keep aging past a moving one.
    const cutoff = Date.now() - this.retentionMs;
    const started = performance.now();
    let removed = 0;
    try {
      while (!this.#stopped) {
        const batch = await this.store.prune(cutoff, this.batch);
        removed += batch;
        this.#removed += batch;
        if (batch < this.batch) break;
        // A turn of the event loop between batches: replies, broadcasts and the appends queued meanwhile go first.
        await new Promise<void>((resolve) => setImmediate(resolve));
      }
      if (removed > 0) {
        const prunedBefore = await this.store.prunedBefore();
        this.log.info(
          { removed, prunedBefore, retention: formatDuration(this.retentionMs), ms: Math.round(performance.now() - started) },
          'retention: old messages deleted',
        );
      }
    } catch (error) {
      // The database may be switching or closing; the next round tries again.
      this.log.warn({ err: error, removed }, 'retention: pruning failed; retrying at the next round');
    }
  }
}
