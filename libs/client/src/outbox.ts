/** A frame waiting for `ACCEPTED`. */
export interface OutboxEntry {
  id: string;
  frame: string;
}

/**
 * Where unacknowledged frames wait. In memory by default; an app that wants
 * them to survive a restart persists them (resending is safe: the server
 * answers a known id with its original seq and relays it once).
 */
export interface OutboxStore {
  load(): Promise<OutboxEntry[]>;
  save(entries: OutboxEntry[]): Promise<void>;
}

export class MemoryOutboxStore implements OutboxStore {
  #entries: OutboxEntry[] = [];

  public async load(): Promise<OutboxEntry[]> {
    return [...this.#entries];
  }

  public async save(entries: OutboxEntry[]): Promise<void> {
    this.#entries = [...entries];
  }
}
