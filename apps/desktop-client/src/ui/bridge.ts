import {
  BRIDGE_PROTOCOL,
  LAUNCH_HEADER,
  SESSION_PATH,
  SESSION_PROTOCOL_PREFIX,
  type HostEvent,
  type HostMessage,
  type UiError,
  type UiRequest,
} from '../shared/bridge-protocol.js';

type Pending = { resolve: (result: unknown) => void; reject: (error: UiError) => void };
type DistributiveOmit<T, K extends PropertyKey> = T extends unknown ? Omit<T, K> : never;
export type Request = DistributiveOmit<UiRequest, 'id'>;

const SESSION_KEY = 'enigma.session';
let session: Promise<string> | undefined;

/**
 * The secret that opens the bridge. The first load carries a one-time launch
 * token in the URL fragment: it is wiped from the address bar and history at
 * once and traded for the session secret, which is kept in this origin's
 * sessionStorage (no other port or site can read it; a reload finds it
 * there). Never a cookie: cookies are shared with every port of 127.0.0.1.
 * Memoized so that a second Bridge never races the first for the token.
 */
function sessionSecret(): Promise<string> {
  session ??= (async () => {
    const token = new URLSearchParams(location.hash.slice(1)).get('token');
    if (token !== null) {
      history.replaceState(null, '', `${location.pathname}${location.search}`);
      const response = await fetch(SESSION_PATH, { method: 'POST', headers: { [LAUNCH_HEADER]: token }, cache: 'no-store' });
      if (response.ok) {
        const { secret } = (await response.json()) as { secret: string };
        sessionStorage.setItem(SESSION_KEY, secret);
        return secret;
      }
    }
    const stored = sessionStorage.getItem(SESSION_KEY);
    if (stored === null) throw new Error('no session: open Enigma from the app');
    return stored;
  })();
  return session;
}

/** The UI's end of the bridge: request/reply over one WebSocket to the app's Node side. */
export class Bridge {
  #nextId = 1;
  readonly #pending = new Map<number, Pending>();
  readonly #listeners = new Set<(event: HostEvent) => void>();
  readonly #socket: Promise<WebSocket>;
  readonly ready: Promise<void>;

  public constructor(onClosed: () => void) {
    this.#socket = sessionSecret().then(
      (secret) =>
        new Promise<WebSocket>((resolve, reject) => {
          const socket = new WebSocket(`${location.origin.replace(/^http/, 'ws')}/bridge`, [BRIDGE_PROTOCOL, `${SESSION_PROTOCOL_PREFIX}${secret}`]);
          socket.addEventListener('open', () => resolve(socket), { once: true });
          socket.addEventListener('error', () => reject(new Error('bridge unavailable')), { once: true });
          socket.addEventListener('close', onClosed);
          socket.addEventListener('message', (message: MessageEvent<string>) => this.receive(message));
        }),
    );
    this.ready = this.#socket.then(() => undefined);
    this.ready.catch(onClosed);
  }

  public request<T = unknown>(request: Request): Promise<T> {
    const id = this.#nextId++;
    return new Promise<T>((resolve, reject) => {
      this.#pending.set(id, { resolve: resolve as (result: unknown) => void, reject });
      void this.#socket.then(
        (socket) => socket.send(JSON.stringify({ ...request, id })),
        () => undefined,
      );
    });
  }

  public onEvent(listener: (event: HostEvent) => void): () => void {
    this.#listeners.add(listener);
    return () => {
      this.#listeners.delete(listener);
    };
  }

  private receive(message: MessageEvent<string>): void {
    const data = JSON.parse(message.data) as HostMessage;
    if (data.kind === 'event') {
      for (const listener of this.#listeners) listener(data);
      return;
    }
    const pending = this.#pending.get(data.id);
    this.#pending.delete(data.id);
    if (data.ok) pending?.resolve(data.result);
    else pending?.reject(data.error);
  }
}
