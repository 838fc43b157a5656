/** A minimal typed event emitter: event names and payloads checked at compile time. */
export class TypedEmitter<Events extends Record<string, unknown>> {
  readonly #handlers = new Map<keyof Events, Set<(payload: never) => void>>();

  /** Returns a function that removes the handler. */
  public on<E extends keyof Events>(event: E, handler: (payload: Events[E]) => void): () => void {
    let set = this.#handlers.get(event);
    if (set === undefined) this.#handlers.set(event, (set = new Set()));
    set.add(handler as (payload: never) => void);
    return () => set.delete(handler as (payload: never) => void);
  }

  public emit<E extends keyof Events>(event: E, payload: Events[E]): void {
    const set = this.#handlers.get(event);
    if (set === undefined) return;
    for (const handler of set) (handler as (payload: Events[E]) => void)(payload);
  }
}
