// The parent side of the load generator: forks the worker processes, splits
// clients and send rate between them and merges what they measured.
import { fork } from 'node:child_process';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import * as hdr from 'hdr-histogram-js';
import { children } from './servers.mjs';

const workerEntry = fileURLToPath(new URL('./load-worker.mjs', import.meta.url));
export const now = () => performance.timeOrigin + performance.now();

/**
 * Source addresses for the clients. Linux routes all of 127/8 to loopback;
 * spreading clients over several source IPs gives each its own ~28k
 * ephemeral ports (10,000 connections would fit in one, but not by much).
 */
export const LOCAL_ADDRESSES = Array.from({ length: 8 }, (_, i) => `127.0.0.${i + 2}`);

/** Splits `total` into `parts` near-equal whole shares. */
export const split = (total, parts) => Array.from({ length: parts }, (_, i) => Math.floor(total / parts) + (i < total % parts ? 1 : 0));

export class LoadGenerator {
  #workers;
  #nextId = 0;
  #pending = new Map();

  /** @param {number} workers @param {string[]} execArgv e.g. ['--cpu-prof'] to profile the load itself */
  constructor(workers = 2, execArgv = []) {
    this.#workers = Array.from({ length: workers }, (_, i) => {
      const env = { ...process.env, BENCH_WORKER_ID: String(i) };
      const child = fork(workerEntry, [], { env, execArgv, stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
      children.add(child);
      child.once('exit', () => children.delete(child));
      child.on('message', ({ id, result, error }) => {
        const pending = this.#pending.get(id);
        this.#pending.delete(id);
        if (error !== undefined) pending?.reject(new Error(`load worker ${i}: ${error}`));
        else pending?.resolve(result);
      });
      child.on('exit', (code) => {
        for (const [id, pending] of this.#pending) {
          this.#pending.delete(id);
          pending.reject(new Error(`load worker ${i} exited (${code})`));
        }
      });
      return child;
    });
  }

  get size() {
    return this.#workers.length;
  }

  /** Runs a command on every worker; `args` is one object or one per worker. */
  call(cmd, args) {
    return Promise.all(
      this.#workers.map(
        (child, i) =>
          new Promise((resolve, reject) => {
            const id = ++this.#nextId;
            this.#pending.set(id, { resolve, reject });
            child.send({ id, cmd, args: Array.isArray(args) ? args[i] : args });
          }),
      ),
    );
  }

  /** Clients per worker, by group. */
  #shares = new Map();

  /**
   * Connects `count` clients (a group, split over the workers) and, when
   * `auth` says so, logs each in: { kind: 'resume', tokens } or
   * { kind: 'login', usernames, password }.
   */
  async connect(group, url, count, auth = { kind: 'none' }) {
    this.#shares.set(group, split(count, this.size));
    const replies = await this.call(
      'connect',
      this.#slices(group, auth).map((slice, i) => ({
        group,
        url,
        count: this.#shares.get(group)[i],
        // Each worker takes its own addresses so no two share a source port range.
        localAddresses: LOCAL_ADDRESSES.filter((_, a) => a % this.size === i),
        auth: slice,
      })),
    );
    return {
      connected: replies.reduce((a, r) => a + r.connected, 0),
      failed: replies.reduce((a, r) => a + r.failed, 0),
      firstError: replies.find((r) => r.firstError)?.firstError,
      ms: Math.max(...replies.map((r) => r.ms)),
    };
  }

  /** `connect`, failing when any client could not connect or log in. */
  async connectAll(group, url, count, auth) {
    const connection = await this.connect(group, url, count, auth);
    if (connection.failed > 0) throw new Error(`${group}: ${connection.failed} clients failed to connect: ${connection.firstError}`);
    return connection;
  }

  /** Every connected client logs in at the same instant; returns per-client results. */
  async burst(group, auth) {
    const at = now() + 300; // time for the command to reach both workers
    const replies = await this.call(
      'burst',
      this.#slices(group, auth).map((slice) => ({ group, auth: slice, at })),
    );
    return replies.flatMap((r) => r.results);
  }

  /** Each worker's part of the per-client credential lists. */
  #slices(group, auth) {
    let offset = 0;
    return this.#shares.get(group).map((count) => {
      const slice = { ...auth };
      for (const key of ['tokens', 'usernames']) if (auth[key]) slice[key] = auth[key].slice(offset, offset + count);
      offset += count;
      return slice;
    });
  }

  /** Closes a group's clients, or every client (the workers stay). */
  async disconnect(group) {
    await this.call('close', { group });
  }

  /** Ends the worker processes: politely, then by force. */
  async close() {
    const exited = this.#workers.map((child) => (child.exitCode === null ? new Promise((r) => child.once('exit', r)) : undefined));
    void this.call('exit').catch(() => undefined);
    await Promise.race([Promise.all(exited), new Promise((r) => setTimeout(r, 5000))]);
    for (const child of this.#workers) if (child.exitCode === null) child.kill();
  }
}

/** Merges the workers' compressed histograms into one (µs). */
export function mergeHistograms(encoded) {
  const total = hdr.build({ lowestDiscernibleValue: 1, highestTrackableValue: 60_000_000, numberOfSignificantValueDigits: 3 });
  for (const text of encoded) total.add(hdr.decodeFromCompressedBase64(text));
  return total;
}
