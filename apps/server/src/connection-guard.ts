import type { IncomingMessage } from 'node:http';
import type { Socket } from 'socket.io';
import type { Logger } from './logger.js';
import type { ServerLimits } from './options.js';

/** engine.io's per-connection socket, as far as the guard uses it (its typings hide these parts). */
interface EngineConnection {
  readonly request: IncomingMessage;
  readonly remoteAddress: string;
  readonly transport: { socket?: { bufferedAmount?: number; terminate?: () => void } } | undefined;
  on(event: 'packetCreate', listener: (packet: { data?: unknown }) => void): void;
  on(event: 'flush', listener: () => void): void;
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

  public constructor(
    private readonly limits: ServerLimits,
    private readonly log: Logger,
  ) {}

  /** Open connections (and handshakes under way) from one address, or in total. */
  public connections(address?: string): number {
    if (address === undefined) return this.#total + this.#pending.size;
    return (this.#perAddress.get(address) ?? 0) + (this.#pendingPerAddress.get(address) ?? 0);
  }

  /** engine.io `allowRequest`: runs for each new handshake (not for later polls of a session). */
  public readonly allowRequest = (request: IncomingMessage, callback: AllowRequestCallback): void => {
    const origin = request.headers.origin;
    if (origin !== undefined && !this.originAllowed(origin, request.headers.host)) {
      callback(`connections from the web origin ${origin.slice(0, 100)} are not allowed`, false);
      return;
    }
    const address = request.socket.remoteAddress ?? '';
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

  /** engine.io `connection`: counts the connection until it closes and watches its buffer. */
  public track(connection: EngineConnection): void {
    this.handshakeDone(connection.request);
    const address = connection.remoteAddress;
    this.#total++;
    count(this.#perAddress, address, +1);
    connection.once('close', () => {
      this.#total--;
      count(this.#perAddress, address, -1);
    });
    this.watchBuffer(connection);
  }

  /** socket.io middleware: the refusal a client can read. */
  public readonly middleware = (socket: Socket, next: (error?: Error) => void): void => {
    const { maxConnections, maxConnectionsPerAddress } = this.limits;
    const address = socket.conn.remoteAddress;
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

  private originAllowed(origin: string, host: string | undefined): boolean {
    if (this.limits.allowedOrigins.includes(origin)) return true;
    // Same origin: a non-browser client that names the server itself (python's
    // websocket-client sends `Origin: https://<host>` by default).
    try {
      return host !== undefined && new URL(origin).host === host.toLowerCase();
    } catch {
      return false;
    }
  }

  /**
   * Data waiting for a client = what engine.io holds back while the transport
   * is busy + what the WebSocket has not handed to the kernel. Measured before
   * each new packet, without it: a single large reply (a resume with a long
   * backlog) may exceed the bound on its own; what piles up behind it may not.
   */
  private watchBuffer(connection: EngineConnection): void {
    const max = this.limits.maxBufferedBytes;
    let queued = 0;
    let dropped = false;
    connection.on('flush', () => (queued = 0));
    connection.on('packetCreate', (packet) => {
      const ws = connection.transport?.socket;
      const buffered = queued + (typeof ws?.bufferedAmount === 'number' ? ws.bufferedAmount : 0);
      queued += sizeOf(packet.data);
      if (buffered <= max || dropped) return;
      dropped = true;
      this.log.warn({ address: connection.remoteAddress, bufferedBytes: buffered, maxBufferedBytes: max }, 'slow consumer disconnected');
      // Not a polite close: that would queue a close frame behind the backlog
      // and keep it in memory for another 30 s. Drop the socket and its buffer.
      if (typeof ws?.terminate === 'function') ws.terminate();
      else connection.close(true);
    });
  }
}
