import type { ServiceIdentifier } from 'inversify';

/**
 * Who is online across every node that shares one chat. The relay tells it
 * when a user gets their first session on this node (`arrive`) and loses
 * their last one here (`depart`); the registry answers whether that was the
 * user's first (or last) node anywhere, so `CLIENT_CONNECTED` and
 * `CLIENT_LEFT_CHAT` are announced once for the whole cluster.
 * One node: `LocalPresence`. Several: a shared store (the server's Redis one).
 */
export interface PresenceRegistry {
  /** True when no other node had the user online. */
  arrive(username: string): Promise<boolean>;
  /** True when no node has the user online any more. */
  depart(username: string): Promise<boolean>;
  /** Everyone online on any node, sorted. */
  online(): Promise<string[]>;
  /**
   * Users who went offline because the node holding them died without saying
   * so (found by another node); the relay announces them as left.
   */
  onVanished(listener: (usernames: string[]) => void): void;
}

export const presenceRegistryId: ServiceIdentifier<PresenceRegistry> = Symbol.for('@enigma/relay/PresenceRegistry');

/** Presence for a single node: the relay's own sessions are the whole truth. */
export class LocalPresence implements PresenceRegistry {
  readonly #online = new Set<string>();

  public async arrive(username: string): Promise<boolean> {
    const first = !this.#online.has(username);
    this.#online.add(username);
    return first;
  }

  public async depart(username: string): Promise<boolean> {
    return this.#online.delete(username);
  }

  public async online(): Promise<string[]> {
    return [...this.#online].sort();
  }

  public onVanished(): void {
    // A single node cannot lose a node.
  }
}
