import type { IncomingMessage } from 'node:http';
import { addressBlock } from '@enigma/auth-store';
import type { Socket } from 'socket.io';
import type { Logger } from './logger.js';
import type { ServerLimits } from './options.js';

/** engine.io's per-connection socket, as far as the guard uses it (its typings hide these parts). */
interface EngineConnection {
  readonly request: IncomingMessage;
  readonly remoteAddress: string;
  readonly transport: { socket?: { bufferedAmount?: number; terminate?: () => void } } | undefined;
  /** Packets engine.io holds back while the transport is still writing earlier ones. */
  readonly writeBuffer: ReadonlyArray<{ data?: unknown }>;
  once(event: 'close', listener: () => void): void;
  close(discard?: boolean): void;
}

type AllowRequestCallback = (message: string | null | undefined, success: boolean) => void;

function count(counts: Map<string, number>, key: string, delta: number): void {
  const value = (counts.get(key) ?? 0) + delta;
  if (value <= 0) counts.delete(key);
  else counts.set(key, value);
}

const sizeOf = (data: unknown): number => (typeof data === 'string' ? data.length : Buffer.isBuffer(data) ? data.length : 0);

/** How often every connection's backlog is looked at. */
export const BUFFER_SWEEP_INTERVAL_MS = 250;

/** Data waiting for a client: what engine.io holds back + what the WebSocket has not handed to the kernel. */
export function bufferedBytes(connection: Pick<EngineConnection, 'transport' | 'writeBuffer'>): number {
  let queued = 0;
  for (const packet of connection.writeBuffer) queued += sizeOf(packet.data);
  const bufferedAmount = connection.transport?.socket?.bufferedAmount;
  return queued + (typeof bufferedAmount === 'number' ? bufferedAmount : 0);
}

/**
 * The server's connection limits, at the two levels socket.io offers:
 *
 * - engine.io `allowRequest` refuses a handshake from a foreign browser
 *   origin, and is the hard cap: it refuses (with a bare HTTP 400/403) once an
 *   address, or the server, already holds one connection *more* than its cap.
 * - the socket.io middleware refuses the connection that goes over a cap with
 *   a message the client sees as its `connect_error` ("too many connections
 *   from your address ..."), then closes it. That one extra connection is what
 *   lets an ordinary client learn why it was refused.
 *
 * It also watches every connection's outgoing buffer: a client that stops
 * reading is cut off once the data waiting for it passes `maxBufferedBytes`,
 * so it cannot make the server hold an unbounded backlog (the others are not
 * affected either way: each connection has its own buffer).
 */
export class ConnectionGuard {
  #total = 0;
  readonly #perAddress = new Map<string, number>();
  /** Handshakes that passed `allowRequest` and are not connections yet, with what releases them. */
  readonly #pending = new Map<IncomingMessage, { address: string; release: () => void }>();
  readonly #pendingPerAddress = new Map<string, number>();
  readonly #connections = new Set<EngineConnection>();
  /** Connections found over the buffer bound at the last sweep, with the backlog seen then. */
  readonly #overBound = new Map<EngineConnection, number>();
  #sweeper: NodeJS.Timeout | undefined;

  readonly #ownHostNames: ReadonlySet<string>;

  /** @param ownHostNames the names a same-origin client may use (`ownHostNames()` in addresses.ts). */
  public constructor(
    private readonly limits: ServerLimits,
    private readonly log: Logger,
    ownHostNames: readonly string[],
  ) {
    this.#ownHostNames = new Set(ownHostNames);
  }

  /** Open connections (and handshakes under way) from one address block (`addressBlock`: an IPv6 /64 counts as one), or in total. */
  public connections(address?: string): number {
    if (address === undefined) return this.#total + this.#pending.size;
    return (this.#perAddress.get(address) ?? 0) + (this.#pendingPerAddress.get(address) ?? 0);
  }

  /** engine.io `allowRequest`: runs for each new handshake (not for later polls of a session). */
  public readonly allowRequest = (request: IncomingMessage, callback: AllowRequestCallback): void => {
    const origin = request.headers.origin;
    if (origin !== undefined && !this.originAllowed(origin, request.socket.localPort)) {
      callback(`connections from the web origin ${origin.slice(0, 100)} are not allowed`, false);
      return;
    }
    const address = addressBlock(request.socket.remoteAddress ?? '');
    const { maxConnections, maxConnectionsPerAddress } = this.limits;
    if (maxConnectionsPerAddress > 0 && this.connections(address) > maxConnectionsPerAddress) {
      callback(`too many connections from your address (at most ${maxConnectionsPerAddress})`, false);
      return;
    }
    if (maxConnections > 0 && this.connections() > maxConnections) {
      callback(`the server is full (at most ${maxConnections} connections); try again later`, false);
      return;
    }
    // A handshake that fails after this point must not hold its place.
    const release = (): void => this.handshakeDone(request);
    this.#pending.set(request, { address, release });
    count(this.#pendingPerAddress, address, +1);
    request.socket.once('close', release);
    callback(null, true);
  };

  /** engine.io `connection` or `connection_error`: the handshake is over either way. */
  public handshakeDone(request: IncomingMessage): void {
    const pending = this.#pending.get(request);
    if (pending === undefined) return;
    this.#pending.delete(request);
    count(this.#pendingPerAddress, pending.address, -1);
    request.socket.off('close', pending.release);
  }

  /** engine.io `connection`: counts the connection until it closes and watches its buffer (see `sweepBuffers`). */
  public track(connection: EngineConnection): void {
    this.handshakeDone(connection.request);
    const address = addressBlock(connection.remoteAddress);
    this.#total++;
    count(this.#perAddress, address, +1);
    this.#connections.add(connection);
    this.#sweeper ??= setInterval(() => this.sweepBuffers(), BUFFER_SWEEP_INTERVAL_MS).unref();
    connection.once('close', () => {
      this.#total--;
      count(this.#perAddress, address, -1);
      this.#connections.delete(connection);
      this.#overBound.delete(connection);
      if (this.#connections.size === 0) {
        clearInterval(this.#sweeper);
        this.#sweeper = undefined;
      }
    });
  }

  /** socket.io middleware: the refusal a client can read. */
  public readonly middleware = (socket: Socket, next: (error?: Error) => void): void => {
    const { maxConnections, maxConnectionsPerAddress } = this.limits;
    const address = addressBlock(socket.conn.remoteAddress);
    let refusal: string | undefined;
    if (maxConnectionsPerAddress > 0 && (this.#perAddress.get(address) ?? 0) > maxConnectionsPerAddress) {
      refusal = `too many connections from your address (at most ${maxConnectionsPerAddress}); close some and try again`;
    } else if (maxConnections > 0 && this.#total > maxConnections) {
      refusal = `the server is full (at most ${maxConnections} connections); try again later`;
    }
    if (refusal === undefined) {
      next();
      return;
    }
    this.log.info({ address, connections: this.#perAddress.get(address), total: this.#total }, 'connection refused: over the connection cap');
    next(new Error(refusal));
    // socket.io sends the refusal on the next tick; close once it is written.
    setImmediate(() => socket.conn.close());
  };

  private originAllowed(origin: string, localPort: number | undefined): boolean {
    if (this.limits.allowedOrigins.includes(origin)) return true;
    // Same origin: a non-browser client that names the server itself (python's
    // websocket-client sends `Origin: https://<host>` by default). "Itself"
    // means one of the server's own names and the port the connection came
    // in on, never what the `Host` header says: a DNS-rebinding page at
    // http://evil.example:7777, resolved to this machine, sends
    // `evil.example:7777` as both its Origin and its Host.
    let url: URL;
    try {
      url = new URL(origin);
    } catch {
      return false;
    }
    const port = url.port === '' ? (url.protocol === 'https:' ? 443 : 80) : Number(url.port);
    return port === localPort && this.#ownHostNames.has(url.hostname.toLowerCase().replace(/^\[|\]$/g, ''));
  }

  /**
   * Every connection's backlog is checked on a timer rather than at each
   * packet: a listener on every packet of every connection cost about 5% of
   * the server's time in a 1,000-client fan-out. A connection is dropped when
   * its backlog is over the bound at two sweeps in a row and has not shrunk in
   * between: one large reply (a resume with a long backlog) may pass the
   * bound on its own, but a client that is reading it drains it.
   */
  private sweepBuffers(): void {
    const max = this.limits.maxBufferedBytes;
    const slow: Array<{ connection: EngineConnection; buffered: number }> = [];
    for (const connection of this.#connections) {
      // engine.io holds packets back only while the transport has not
      // finished writing earlier ones: with none held, the client keeps up.
      const buffered = connection.writeBuffer.length === 0 ? 0 : bufferedBytes(connection);
      const before = this.#overBound.get(connection);
      if (buffered <= max) {
        if (before !== undefined) this.#overBound.delete(connection);
      } else if (before === undefined || buffered < before) {
        this.#overBound.set(connection, buffered);
      } else {
        slow.push({ connection, buffered });
      }
    }
    // One drop per turn of the event loop: clients that stalled together
    // (a network outage) are found in the same sweep, and ending them all at
    // once (freeing their backlogs, announcing their departures) would stall
    // the relay for everyone else.
    const dropNext = (): void => {
      const next = slow.shift();
      if (next === undefined) return;
      this.drop(next.connection, next.buffered);
      setImmediate(dropNext);
    };
    dropNext();
  }

  private drop(connection: EngineConnection, buffered: number): void {
    this.#connections.delete(connection);
    this.#overBound.delete(connection);
    this.log.warn({ address: connection.remoteAddress, bufferedBytes: buffered, maxBufferedBytes: this.limits.maxBufferedBytes }, 'slow consumer disconnected');
    // Not a polite close: that would queue a close frame behind the backlog
    // and keep it in memory for another 30 s. Drop the socket and its buffer.
    const ws = connection.transport?.socket;
    if (typeof ws?.terminate === 'function') ws.terminate();
    else connection.close(true);
  }
}
