import type { HostEvent, HostMessage, UiError, UiRequest } from '../shared/bridge-protocol.js';

type Pending = { resolve: (result: unknown) => void; reject: (error: UiError) => void };
type DistributiveOmit<T, K extends PropertyKey> = T extends unknown ? Omit<T, K> : never;
export type Request = DistributiveOmit<UiRequest, 'id'>;

/** The UI's end of the bridge: request/reply over one WebSocket to the app's Node side. */
export class Bridge {
  #nextId = 1;
  readonly #pending = new Map<number, Pending>();
  readonly #listeners = new Set<(event: HostEvent) => void>();
  readonly #socket: WebSocket;
  readonly ready: Promise<void>;

  public constructor(onClosed: () => void) {
    this.#socket = new WebSocket(`${location.origin.replace(/^http/, 'ws')}/bridge`);
    this.ready = new Promise((resolve, reject) => {
      this.#socket.addEventListener('open', () => resolve(), { once: true });
      this.#socket.addEventListener('error', () => reject(new Error('bridge unavailable')), { once: true });
    });
    this.#socket.addEventListener('close', onClosed);
    this.#socket.addEventListener('message', (message: MessageEvent<string>) => {
      const data = JSON.parse(message.data) as HostMessage;
      if (data.kind === 'event') {
        for (const listener of this.#listeners) listener(data);
        return;
      }
      const pending = this.#pending.get(data.id);
      this.#pending.delete(data.id);
      if (data.ok) pending?.resolve(data.result);
      else pending?.reject(data.error);
    });
  }

  public request<T = unknown>(request: Request): Promise<T> {
    const id = this.#nextId++;
    return new Promise<T>((resolve, reject) => {
      this.#pending.set(id, { resolve: resolve as (result: unknown) => void, reject });
      this.#socket.send(JSON.stringify({ ...request, id }));
    });
  }

  public onEvent(listener: (event: HostEvent) => void): () => void {
    this.#listeners.add(listener);
    return () => {
      this.#listeners.delete(listener);
    };
  }
}
