import { createRequire } from 'node:module';
import { Worker } from 'node:worker_threads';
import { AuthStoreError } from './errors.js';

/**
 * Every SQLite connection's settings, the main one's and the writer's: a 5 s
 * busy timeout (set first), WAL, and FULL sync (a commit is fsync'd before it returns,
 * so ACCEPTED means stored even if the machine loses power right after).
 */
export const SQLITE_PRAGMAS: readonly string[] = ['busy_timeout = 5000', 'journal_mode = WAL', 'synchronous = FULL', 'foreign_keys = ON'];

/**
 * The worker's code. It is a string run with `eval` (CommonJS) rather than a
 * file, so it works the same from `dist` and from the TypeScript sources the
 * tests load. It opens its own connection with the main one's settings
 * (`SQLITE_PRAGMAS`) and runs the jobs in the order they were posted.
 */
const WORKER_SOURCE = `
const { parentPort, workerData } = require('node:worker_threads');
const Database = require(workerData.driver);
const db = new Database(workerData.file);
for (const pragma of workerData.pragmas) db.pragma(pragma);
const statements = new Map();
let queue = [];

function runOne(job) {
  let statement = statements.get(job.text);
  if (statement === undefined) statements.set(job.text, (statement = db.prepare(job.text)));
  if (statement.reader) return statement.get(...job.parameters);
  const info = statement.run(...job.parameters);
  return job.changes ? info.changes : undefined;
}

const failure = (error) => ({ message: String(error && error.message), code: error && error.code });

// Group commit: the jobs that arrived while the last commit was being
// written go into one transaction, so a burst costs one fsync, not one each.
// A statement that fails (a constraint) is undone on its own; a commit that
// fails fails every job in it.
function flush() {
  const jobs = queue;
  queue = [];
  if (jobs.length === 0) return;
  let replies;
  try {
    db.exec('BEGIN IMMEDIATE');
    replies = jobs.map((job) => {
      try {
        return { ticket: job.ticket, row: runOne(job) };
      } catch (error) {
        return { ticket: job.ticket, error: failure(error) };
      }
    });
    db.exec('COMMIT');
  } catch (error) {
    if (db.inTransaction) db.exec('ROLLBACK');
    replies = jobs.map((job) => ({ ticket: job.ticket, error: failure(error) }));
  }
  parentPort.postMessage(replies);
}

// Online backups in progress. SQLite's backup API copies the file a few
// pages at a time from this connection; the group commits above keep running
// between the steps (better-sqlite3 yields with setImmediate), and a page
// this connection changes meanwhile is copied again, so the copy is the
// database as of the backup's last step: every commit before it, none half.
const backups = new Set();
const BACKUP_PAGES_PER_STEP = 1000;

function backup(job) {
  flush(); // statements posted before the backup are in the copy
  const running = db
    .backup(job.backup, { progress: () => BACKUP_PAGES_PER_STEP })
    .then(
      (progress) => parentPort.postMessage([{ ticket: job.ticket, row: { pages: progress.totalPages } }]),
      (error) => parentPort.postMessage([{ ticket: job.ticket, error: failure(error) }]),
    )
    .finally(() => backups.delete(running));
  backups.add(running);
}

parentPort.on('message', (job) => {
  if (job.close) {
    // A backup in progress finishes first (closing under it would fail it).
    Promise.allSettled([...backups]).then(() => {
      flush();
      db.close();
      parentPort.close();
    });
    return;
  }
  if (job.backup !== undefined) return backup(job);
  queue.push(job);
  if (queue.length === 1) setImmediate(flush);
});
`;

interface Reply {
  ticket: number;
  row?: unknown;
  error?: { message: string; code?: string };
}

/**
 * Runs single SQL statements on a SQLite file from a worker thread, in call
 * order; statements that queue up while a commit is being written share the
 * next commit (group commit). Why: with `synchronous = FULL` every commit waits for
 * an fsync, and better-sqlite3 waits on the calling thread. On the event loop
 * that stopped every connection for the length of the fsync (about 1–2 ms per
 * chat message here, several percent of the server's time in a busy room);
 * here the loop keeps relaying while the disk works, and a resolved promise
 * still means the row is on disk. Readers on the main connection see each
 * commit as soon as it is made (WAL).
 */
/** `posted`: when the job was posted, for the write-latency observer; undefined for a backup (not a write a client waits for). */
type Pending = Map<number, { resolve: (row: unknown) => void; reject: (error: Error) => void; posted: number | undefined }>;

export class SqliteWriterThread {
  /** The running thread and the statements it owes an answer for. */
  #thread: { worker: Worker; pending: Pending } | undefined;
  #nextTicket = 0;
  #closed = false;

  /**
   * @param committed told each committed statement's round trip in seconds,
   *   from the call to the commit (waiting for a group commit included: what
   *   the caller waited). For metrics: cheap, and must not throw.
   */
  public constructor(
    private readonly file: string,
    private readonly committed?: (seconds: number) => void,
  ) {}

  /**
   * Runs `text` with `parameters`; resolves with the first row it returns
   * (`RETURNING`, `SELECT`), if any, once committed. Statements run in the
   * order of the calls.
   */
  public run<Row>(text: string, parameters: unknown[]): Promise<Row | undefined> {
    return this.post<Row | undefined>({ text, parameters });
  }

  /** Runs a statement that returns no rows (`DELETE`, `UPDATE`); resolves with how many rows it changed, once committed. */
  public runForChanges(text: string, parameters: unknown[]): Promise<number> {
    return this.post<number>({ text, parameters, changes: true });
  }

  /**
   * Writes an online copy of the database to `file` (which must exist empty
   * or not at all; SQLite's backup API on this thread's connection, so it is
   * consistent with the writes going on: it holds every statement committed
   * before it finished). Statements posted before it are in the copy.
   * Resolves with the number of pages copied.
   */
  public backup(file: string): Promise<{ pages: number }> {
    return this.post<{ pages: number }>({ backup: file });
  }

  private post<Result>(job: { text: string; parameters: unknown[]; changes?: true } | { backup: string }): Promise<Result> {
    // After close() a statement must fail, not quietly start a new thread on a file being let go.
    if (this.#closed) return Promise.reject(new AuthStoreError('databaseUnavailable', 'the database is closed'));
    const { worker, pending } = this.#thread ?? this.start();
    const ticket = this.#nextTicket++;
    // Referenced only while statements are in flight: an idle writer must not
    // keep a process that is done alive, a busy one must.
    if (pending.size === 0) worker.ref();
    return new Promise<Result>((resolve, reject) => {
      pending.set(ticket, { resolve: resolve as (row: unknown) => void, reject, posted: 'backup' in job ? undefined : performance.now() });
      worker.postMessage({ ticket, ...job });
    });
  }

  /** Finishes the statements already posted, then closes the connection and the thread. */
  public async close(): Promise<void> {
    this.#closed = true;
    const thread = this.#thread;
    if (thread === undefined) return;
    this.#thread = undefined;
    const exited = new Promise<void>((resolve) => thread.worker.once('exit', () => resolve()));
    thread.worker.postMessage({ close: true });
    await exited;
  }

  private start(): { worker: Worker; pending: Pending } {
    const driver = createRequire(import.meta.url).resolve('better-sqlite3');
    const worker = new Worker(WORKER_SOURCE, { eval: true, workerData: { file: this.file, driver, pragmas: SQLITE_PRAGMAS } });
    const thread = { worker, pending: new Map() as Pending };
    worker.on('message', (replies: Reply[]) => {
      const now = performance.now();
      for (const reply of replies) {
        const waiting = thread.pending.get(reply.ticket);
        if (waiting === undefined) continue;
        thread.pending.delete(reply.ticket);
        if (reply.error === undefined) {
          if (waiting.posted !== undefined) this.committed?.((now - waiting.posted) / 1000);
          waiting.resolve(reply.row);
        } else {
          waiting.reject(Object.assign(new Error(reply.error.message), { code: reply.error.code }));
        }
      }
      if (thread.pending.size === 0) worker.unref();
    });
    // A thread that dies fails what it owed; the next statement starts a new one.
    const fail = (cause: unknown): void => {
      if (this.#thread === thread) this.#thread = undefined;
      const error = new AuthStoreError('databaseUnavailable', 'the database writer thread stopped', { cause });
      for (const waiting of thread.pending.values()) waiting.reject(error);
      thread.pending.clear();
    };
    worker.on('error', fail);
    worker.on('exit', (code) => fail(new Error(`exit code ${code}`)));
    this.#thread = thread;
    return thread;
  }
}
