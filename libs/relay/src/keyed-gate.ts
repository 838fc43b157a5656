/**
 * Lets at most `concurrency` tasks per key run at once; the others wait their
 * turn in arrival order, and past `maxWaiting` waiters a key refuses new work.
 *
 * The relay runs password checks through it: the login throttle counts a
 * failure only after the (slow, deliberately) hash comparison, so without a
 * gate a burst of guesses sent together would all pass the throttle's check
 * before the first failure is counted.
 */
export class KeyedGate {
  readonly #slots = new Map<string, { running: number; waiting: Array<() => void> }>();

  public constructor(
    private readonly concurrency: number,
    private readonly maxWaiting: number,
  ) {}

  /** Runs the task once a slot is free, or returns `undefined` at once when too many already wait. */
  public async run<T>(key: string, task: () => Promise<T>): Promise<T | undefined> {
    let slot = this.#slots.get(key);
    if (slot === undefined) this.#slots.set(key, (slot = { running: 0, waiting: [] }));
    if (slot.running >= this.concurrency) {
      if (slot.waiting.length >= this.maxWaiting) return undefined;
      const { waiting } = slot;
      await new Promise<void>((resolve) => waiting.push(resolve));
    } else {
      slot.running++;
    }
    try {
      return await task();
    } finally {
      // The slot passes straight to the next waiter (running stays the same).
      const next = slot.waiting.shift();
      if (next !== undefined) next();
      else if (--slot.running === 0) this.#slots.delete(key);
    }
  }

  /** Keys with work running or waiting (for tests and metrics). */
  public get size(): number {
    return this.#slots.size;
  }
}
