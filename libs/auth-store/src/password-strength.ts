import { createRequire } from 'node:module';
import { Worker } from 'node:worker_threads';
import { AuthStoreError } from './errors.js';
import { passwordLengthProblem, strengthVerdict, type PasswordCheck } from './policy.js';

/**
 * The worker's code: zxcvbn with its common dictionaries, scoring one
 * password per message. A string run with `eval` (CommonJS) rather than a file,
 * so it works the same from `dist` and from the TypeScript sources the tests
 * load (as the SQLite writer does). Replies never echo the password.
 */
const WORKER_SOURCE = `
const { parentPort, workerData } = require('node:worker_threads');
const { ZxcvbnFactory } = require(workerData.core);
const common = require(workerData.common);
const checker = new ZxcvbnFactory({ dictionary: { ...common.dictionary }, graphs: common.adjacencyGraphs });
checker.check('warm-up', []); // indexes the dictionaries (about half a second) before the first real check
parentPort.postMessage({ ready: true });
parentPort.on('message', (job) => {
  try {
    const result = checker.check(job.password, job.userInputs);
    parentPort.postMessage({ score: result.score, warning: result.feedback.warning || '' });
  } catch {
    // Not the message: it could quote the password.
    parentPort.postMessage({ error: true });
  }
});
`;

export interface PasswordStrengthOptions {
  /** Threads scoring passwords at once. */
  workers: number;
  /** Checks that may wait for a thread; one more is refused at once (`busy`). */
  maxWaiting: number;
}

export const DEFAULT_PASSWORD_STRENGTH: PasswordStrengthOptions = Object.freeze({ workers: 1, maxWaiting: 16 });

interface Job {
  password: string;
  userInputs: string[];
  resolve: (reply: { score: number; warning: string }) => void;
  reject: (error: Error) => void;
}

interface Thread {
  worker: Worker;
  job: Job | undefined;
  /** Resolves once the thread has loaded zxcvbn and indexed its dictionaries. */
  ready: Promise<void>;
}

/**
 * Judges new passwords (`checkNewPassword`'s rules) off the event loop.
 * zxcvbn takes 150–200 ms of CPU per password, refused or not: on the loop,
 * 40 registrations from rotating addresses stalled every connection for
 * seconds (issue 16, item 6). Here a small pool of threads does it; the loop
 * only posts and waits. The queue is bounded: when every thread is busy and
 * `maxWaiting` checks already wait, a check is answered `busy` at once (the
 * relay replies RATE_LIMITED "server busy") instead of piling up work.
 * Idle threads do not keep the process alive.
 */
export class PasswordStrengthPool {
  readonly #threads: Thread[] = [];
  readonly #waiting: Job[] = [];
  readonly #options: PasswordStrengthOptions;
  #closed = false;

  public constructor(options: Partial<PasswordStrengthOptions> = {}) {
    this.#options = { ...DEFAULT_PASSWORD_STRENGTH, ...options };
    if (!(this.#options.workers >= 1) || !(this.#options.maxWaiting >= 0)) throw new RangeError('password strength pool: at least 1 worker and 0 waiting');
  }

  /** Checks waiting for a thread, and checks being scored. For tests and metrics. */
  public get load(): { running: number; waiting: number } {
    return { running: this.#threads.filter((thread) => thread.job !== undefined).length, waiting: this.#waiting.length };
  }

  /** The verdict on a new password, or `busy` when the queue is full. The length rules are checked here, first (they cost nothing). */
  public async check(password: string, options: { minLength: number; username?: string }): Promise<PasswordCheck | 'busy'> {
    const length = passwordLengthProblem(password, options.minLength);
    if (length !== undefined) return length;
    if (this.#closed) throw new AuthStoreError('passwordCheckFailed', 'the password checker is closed');
    const idle = this.#threads.find((thread) => thread.job === undefined);
    if (idle === undefined && this.#threads.length >= this.#options.workers && this.#waiting.length >= this.#options.maxWaiting) return 'busy';
    const scored = await new Promise<{ score: number; warning: string }>((resolve, reject) => {
      // zxcvbn is costly on very long inputs; its verdict on the first 100 characters is what matters.
      const job: Job = { password: password.slice(0, 100), userInputs: options.username === undefined ? [] : [options.username], resolve, reject };
      const thread = idle ?? (this.#threads.length < this.#options.workers ? this.start() : undefined);
      if (thread === undefined) this.#waiting.push(job);
      else this.post(thread, job);
    });
    return strengthVerdict(scored.score, scored.warning);
  }

  /**
   * Starts the threads now and resolves once they are ready, so the first
   * registrations do not wait the half second a thread needs to load (the
   * server calls it while starting). Idempotent.
   */
  public async warm(): Promise<void> {
    while (!this.#closed && this.#threads.length < this.#options.workers) this.start();
    await Promise.all(this.#threads.map((thread) => thread.ready));
  }

  /** Stops the threads; checks in flight fail. */
  public async close(): Promise<void> {
    this.#closed = true;
    const error = new AuthStoreError('passwordCheckFailed', 'the password checker is closed');
    for (const job of this.#waiting.splice(0)) job.reject(error);
    const threads = this.#threads.splice(0);
    // A thread out of the pool no longer fails its job on exit: fail it here.
    for (const thread of threads) {
      thread.job?.reject(error);
      thread.job = undefined;
    }
    await Promise.all(threads.map((thread) => thread.worker.terminate()));
  }

  private post(thread: Thread, job: Job): void {
    thread.job = job;
    thread.worker.ref();
    thread.worker.postMessage({ password: job.password, userInputs: job.userInputs });
  }

  /** The thread finished a job: it takes the next waiting one, or sleeps unreferenced. */
  private next(thread: Thread): void {
    thread.job = undefined;
    const job = this.#waiting.shift();
    if (job !== undefined) this.post(thread, job);
    else thread.worker.unref();
  }

  private start(): Thread {
    const require = createRequire(import.meta.url);
    const worker = new Worker(WORKER_SOURCE, {
      eval: true,
      workerData: { core: require.resolve('@zxcvbn-ts/core'), common: require.resolve('@zxcvbn-ts/language-common') },
    });
    let readied: () => void = () => undefined;
    const thread: Thread = { worker, job: undefined, ready: new Promise<void>((resolve) => (readied = resolve)) };
    // Idle (and while loading) it must not keep a process that is done alive.
    worker.unref();
    worker.on('message', (reply: { ready?: true; score?: number; warning?: string; error?: true }) => {
      if (reply.ready === true) return readied();
      const job = thread.job;
      this.next(thread);
      if (job === undefined) return;
      if (reply.error !== undefined || reply.score === undefined) job.reject(new AuthStoreError('passwordCheckFailed', 'the password checker failed'));
      else job.resolve({ score: reply.score, warning: reply.warning ?? '' });
    });
    // A thread that dies fails its job and leaves the pool; the next check starts another.
    const fail = (cause: unknown): void => {
      readied();
      const index = this.#threads.indexOf(thread);
      if (index === -1) return;
      this.#threads.splice(index, 1);
      thread.job?.reject(new AuthStoreError('passwordCheckFailed', 'the password checker thread stopped', { cause }));
      thread.job = undefined;
      const waiting = this.#waiting.shift();
      if (waiting !== undefined && !this.#closed) this.post(this.start(), waiting);
    };
    worker.on('error', fail);
    worker.on('exit', (code) => fail(new Error(`exit code ${code}`)));
    this.#threads.push(thread);
    return thread;
  }
}
