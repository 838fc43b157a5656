import type { ServerNotice, ServerToClientEvents } from '@enigma/protocol';
import type { ServiceIdentifier } from 'inversify';

/**
 * Fan-out, as the relay needs it. The server implements it over socket.io
 * rooms; `InMemoryBroadcastPort` serves tests and embedding. Only admitted
 * (logged-in) peers receive broadcasts.
 */
export interface BroadcastPort {
  /** From now on the peer receives broadcasts. */
  admit(peerId: string): void;
  /** To every admitted peer. */
  broadcast<E extends keyof ServerToClientEvents>(event: E, ...args: Parameters<ServerToClientEvents[E]>): void;
  /** Sends the notice to that peer (if any), then closes its connection. */
  disconnect(peerId: string, notice?: ServerNotice): void;
  /**
   * Bytes sent to the peer that it has not read yet (held by the transport);
   * optional. The relay builds no backlog reply for a peer with more than a
   * page unread.
   */
  unread?(peerId: string): number;
}

export const broadcastPortId: ServiceIdentifier<BroadcastPort> = Symbol.for('@enigma/relay/BroadcastPort');

export interface Delivery {
  peerId: string;
  event: keyof ServerToClientEvents;
  payload: unknown;
}

/** A `BroadcastPort` that records every delivery per peer, in order. */
export class InMemoryBroadcastPort implements BroadcastPort {
  readonly #admitted = new Set<string>();
  public readonly deliveries: Delivery[] = [];
  public readonly disconnected: Array<{ peerId: string; notice?: ServerNotice }> = [];

  public admit(peerId: string): void {
    this.#admitted.add(peerId);
  }

  public broadcast<E extends keyof ServerToClientEvents>(event: E, ...args: Parameters<ServerToClientEvents[E]>): void {
    for (const peerId of this.#admitted) this.deliveries.push({ peerId, event, payload: args[0] });
  }

  public disconnect(peerId: string, notice?: ServerNotice): void {
    if (notice !== undefined) this.deliveries.push({ peerId, event: 'SERVER_NOTICE', payload: notice });
    this.#admitted.delete(peerId);
    this.disconnected.push({ peerId, notice });
  }

  /** What one peer received of one event. */
  public received<E extends keyof ServerToClientEvents>(peerId: string, event: E): Array<Parameters<ServerToClientEvents[E]>[0]> {
    return this.deliveries.filter((d) => d.peerId === peerId && d.event === event).map((d) => d.payload as Parameters<ServerToClientEvents[E]>[0]);
  }
}
