// What the delivery and cluster suites share: SDK client processes driven
// over IPC, the server as a real process that can be killed and restarted,
// accounts seeded straight into the database, and the delivery checks.
import { expect } from '@jest/globals';
import { openDatabase, SqlMessageStore, SqlUserStore } from '@enigma/auth-store';
import { createPasswordHasher } from '@enigma/crypto';
import { fork, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { startServerProcess, type Program } from '../../../tools/testing/processes.mjs';

const workerEntry = fileURLToPath(new URL('./chat-worker.mjs', import.meta.url));
export const password = 'delivery-suite-passphrase-7';

/** A reproducible random sequence (mulberry32): the seed is printed, so a failure can be replayed. */
export function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
export { setTimeout as pause } from 'node:timers/promises';

export interface Received {
  id: string;
  seq: number;
  from: string;
  text?: string;
  locked: boolean;
}
export interface MemberReport {
  username: string;
  received: Received[];
  accepted: Array<{ n: number; id: string; seq: number }>;
  states: string[];
  errors: string[];
}

/** A process of SDK clients (chat-worker.mjs), driven by request/reply over IPC. */
export class Workers {
  readonly #child: ChildProcess;
  readonly #waiting = new Map<number, { resolve(reply: Record<string, unknown>): void; reject(error: Error): void }>();
  #next = 0;
  readonly ready: Promise<void>;

  public constructor() {
    this.#child = fork(workerEntry, [], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
    this.ready = new Promise((resolve) => this.#child.once('message', () => resolve()));
    this.#child.on('message', (message: Record<string, unknown>) => {
      const waiter = this.#waiting.get(message['request'] as number);
      if (waiter === undefined) return;
      this.#waiting.delete(message['request'] as number);
      if (message['type'] === 'failed') waiter.reject(new Error(String(message['error'])));
      else waiter.resolve(message);
    });
    this.#child.once('exit', (code) => {
      for (const waiter of this.#waiting.values()) waiter.reject(new Error(`chat worker exited with ${code}`));
    });
  }

  public async request(command: Record<string, unknown>): Promise<Record<string, unknown>> {
    await this.ready;
    const request = this.#next++;
    return new Promise((resolve, reject) => {
      this.#waiting.set(request, { resolve, reject });
      this.#child.send({ ...command, request });
    });
  }

  public async report(): Promise<MemberReport[]> {
    return (await this.request({ type: 'report' }))['members'] as MemberReport[];
  }

  public async exit(): Promise<void> {
    if (this.#child.exitCode !== null) return;
    const exited = new Promise((resolve) => this.#child.once('exit', resolve));
    await this.request({ type: 'exit' }).catch(() => undefined);
    await exited;
  }
}

/** The server as a real process on a fixed port, which can be killed and started again. */
export class ServerProcess {
  #program: Program | undefined;
  public port = 0;
  public fingerprint = '';

  public constructor(
    public readonly dataDir: string,
    private readonly extraArgs: string[] = [],
  ) {}

  /** The SQLite file in its data dir (when it was not given another database). */
  public get database(): string {
    return path.join(this.dataDir, 'accounts.db');
  }

  /** Sends a console command and resolves with the first line of output matching `answer`. */
  public async ask(command: string, answer: RegExp): Promise<RegExpExecArray> {
    const program = this.#program;
    if (program === undefined) throw new Error('the server is not running');
    const seen = program.lines.length;
    program.command(command);
    return program.waitFor(answer, seen);
  }

  /** On a free port the first time, then on the same port again (the later --port wins). */
  public async start(): Promise<void> {
    const { program, url, fingerprint } = await startServerProcess(this.dataDir, ['--port', String(this.port), ...this.extraArgs]);
    this.#program = program;
    this.port = Number(new URL(url).port);
    this.fingerprint = fingerprint!;
  }

  public get url(): string {
    return `https://127.0.0.1:${this.port}`;
  }

  public async kill(): Promise<void> {
    const program = this.#program;
    this.#program = undefined;
    program?.child.kill('SIGKILL');
    await program?.exited;
  }

  public async stop(): Promise<void> {
    await this.#program?.stop();
    this.#program = undefined;
  }
}

/**
 * Accounts are written straight into the database (a SQLite file or a
 * postgres:// URL): the registration throttle is not what is tested here.
 */
export async function seedAccounts(databaseName: string, usernames: string[]): Promise<void> {
  const database = await openDatabase(databaseName);
  const users = new SqlUserStore(database, createPasswordHasher({ memoryKiB: 1024, iterations: 1, parallelism: 1 }), {
    sessionTtlMs: 3_600_000,
    minPasswordLength: 12,
  });
  for (const username of usernames) expect((await users.register(username, password)).type).toBe('registered');
  await database.close();
}

export async function storedMessages(databaseName: string): Promise<Array<{ id: string; seq: number }>> {
  const database = await openDatabase(databaseName);
  try {
    return await new SqlMessageStore(database).page({ afterSeq: 0, limit: 1_000_000 });
  } finally {
    await database.close();
  }
}

/**
 * The guarantees, checked for every member against every acknowledgement.
 * Returns the counts it checked, for the log.
 */
export function checkDelivery(reports: MemberReport[], sent: Record<string, number>, stored: Array<{ id: string; seq: number }>): Record<string, number> {
  const accepted = new Map<string, { from: string; n: number; seq: number }>();
  for (const report of reports.filter((r) => sent[r.username] !== undefined)) {
    // No sender's message is missing, and a sender's messages got seqs in the order written.
    expect(report.accepted.map((a) => a.n).sort((a, b) => a - b)).toEqual([...Array(sent[report.username]).keys()]);
    const bySendOrder = [...report.accepted].sort((a, b) => a.n - b.n).map((a) => a.seq);
    expect(bySendOrder).toEqual([...bySendOrder].sort((a, b) => a - b));
    for (const a of report.accepted) accepted.set(a.id, { from: report.username, n: a.n, seq: a.seq });
  }
  expect(accepted.size).toBe(Object.values(sent).reduce((a, b) => a + b, 0));

  // Nothing acknowledged is lost from the store, and nothing is stored twice.
  const storedIds = new Set(stored.map((m) => m.id));
  expect(storedIds.size).toBe(stored.length);
  for (const id of accepted.keys()) expect(storedIds.has(id)).toBe(true);

  let deliveries = 0;
  for (const report of reports) {
    const ids = report.received.map((m) => m.id);
    expect(new Set(ids).size).toBe(ids.length); // exactly once
    const seqs = report.received.map((m) => m.seq);
    expect(seqs).toEqual([...seqs].sort((a, b) => a - b)); // in seq order
    const byId = new Map(report.received.map((m) => [m.id, m]));
    for (const [id, expected] of accepted) {
      const got = byId.get(id);
      if (got === undefined) throw new Error(`${report.username} never got ${expected.from} #${expected.n} (seq ${expected.seq})`);
      expect({ from: got.from, seq: got.seq, text: got.text }).toEqual({ from: expected.from, seq: expected.seq, text: `${expected.from} #${expected.n}` });
    }
    deliveries += report.received.length;
  }
  return { members: reports.length, senders: Object.keys(sent).length, accepted: accepted.size, stored: stored.length, deliveries };
}
