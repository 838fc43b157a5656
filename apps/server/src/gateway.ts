import type { Server as HttpServer } from 'node:http';
import {
  clientEventNames,
  clientEvents,
  type ClientEventName,
  type ClientToServerEvents,
  type InterServerEvents,
  type ServerNotice,
  type ServerToClientEvents,
  type SocketData,
} from '@enigma/protocol';
import type { BroadcastPort, ChatRelay, Peer } from '@enigma/relay';
import { Server, type Socket } from 'socket.io';
import { bufferedBytes, ConnectionGuard } from './connection-guard.js';
import type { Logger } from './logger.js';
import type { ServerLimits } from './options.js';

type EnigmaServer = Server<ClientToServerEvents, ServerToClientEvents, InterServerEvents, SocketData>;
type EnigmaSocket = Socket<ClientToServerEvents, ServerToClientEvents, InterServerEvents, SocketData>;

/** The socket.io room every logged-in socket is in: broadcasts go only there. */
const CHAT_ROOM = 'chat';

export interface GatewayOptions {
  maxFrameLength: number;
  /** How often the server pings, and how long it waits for the pong, before it drops a silent connection. */
  pingIntervalMs: number;
  pingTimeoutMs: number;
  limits: ServerLimits;
  /** The server's own host names (`ownHostNames()`): a browser origin naming one of them, on this port, is the server itself. */
  ownHostNames: readonly string[];
}

/** Told the type of every reply to a client event, or `SERVER_ERROR` when its handler failed (metrics). Runs per frame: keep it cheap. */
export interface ReplyObserver {
  replied(event: keyof ClientToServerEvents, type: unknown): void;
}
export const SERVER_ERROR = 'SERVER_ERROR';

/**
 * Calls `count` once per relayed frame (`SERVER_TO_CLIENT`) with the number
 * of its recipients on this node, whichever node relayed it: both paths (this
 * node's `emit`, the Redis adapter's message from another node) end in the
 * in-memory adapter's `broadcast`, which encodes the packet once, then writes
 * it to every socket of the room. The hook sits on that one encode, so it
 * costs nothing per recipient. `_encode` is socket.io-adapter 2.x's private
 * method: returns false (and counts nothing) when it is gone; the metrics
 * test notices.
 */
export function watchDeliveries(io: EnigmaServer, count: (recipients: number) => void): boolean {
  type Encode = (packet: { data?: unknown }, options: unknown) => unknown;
  const adapter = io.of('/').adapter as unknown as { rooms: Map<string, Set<string>>; _encode?: Encode };
  const encode = adapter._encode;
  if (typeof encode !== 'function') return false;
  adapter._encode = function (this: unknown, packet, options) {
    if (Array.isArray(packet.data) && packet.data[0] === 'SERVER_TO_CLIENT') count(adapter.rooms.get(CHAT_ROOM)?.size ?? 0);
    return encode.call(this, packet, options);
  };
  return true;
}

/** Fan-out over socket.io: a broadcast is one `emit` to the chat room, encoded once. */
export class SocketIoBroadcastPort implements BroadcastPort {
  public constructor(private readonly io: EnigmaServer) {}

  public admit(peerId: string): void {
    this.io.sockets.sockets.get(peerId)?.join(CHAT_ROOM);
  }

  public broadcast<E extends keyof ServerToClientEvents>(event: E, ...args: Parameters<ServerToClientEvents[E]>): void {
    this.io.to(CHAT_ROOM).emit(event, ...args);
  }

  public disconnect(peerId: string, notice?: ServerNotice): void {
    const socket = this.io.sockets.sockets.get(peerId);
    if (socket === undefined) return;
    if (notice !== undefined) socket.emit('SERVER_NOTICE', notice);
    socket.disconnect(true);
  }

  /** What engine.io and the WebSocket hold for this peer (the slow-consumer bound's measure). */
  public unread(peerId: string): number {
    const connection = this.io.sockets.sockets.get(peerId)?.conn;
    return connection === undefined ? 0 : bufferedBytes(connection as unknown as Parameters<typeof bufferedBytes>[0]);
  }
}

/**
 * The socket.io server with Enigma's transport settings and limits: the
 * connection caps, the web-origin policy and the slow-consumer bound
 * (`ConnectionGuard`), the handshake timeout.
 */
export function createSocketServer(httpServer: HttpServer, options: GatewayOptions, log: Logger): EnigmaServer {
  const { limits } = options;
  const guard = new ConnectionGuard(limits, log, options.ownHostNames);
  const io = new Server<ClientToServerEvents, ServerToClientEvents, InterServerEvents, SocketData>(httpServer, {
    serveClient: false,
    // A frame plus JSON framing; anything larger is cut off by engine.io itself.
    maxHttpBufferSize: options.maxFrameLength + 4096,
    // Frames are incompressible ciphertext: deflate would only cost CPU, and
    // it would stop socket.io from encoding a broadcast once for everyone.
    perMessageDeflate: false,
    httpCompression: false,
    // CORS stays closed unless the operator names origins; `allowRequest`
    // also refuses WebSocket handshakes (which CORS does not cover) from
    // foreign origins. Clients outside a browser send no Origin at all.
    cors: limits.allowedOrigins.length > 0 ? { origin: limits.allowedOrigins } : undefined,
    allowRequest: guard.allowRequest,
    connectTimeout: limits.handshakeTimeoutMs,
    pingInterval: options.pingIntervalMs,
    pingTimeout: options.pingTimeoutMs,
  });
  // Error answers from engine.io (bad handshake parameters) get nosniff too.
  io.engine.use((_request: unknown, response: { setHeader(name: string, value: string): void }, next: () => void) => {
    response.setHeader('x-content-type-options', 'nosniff');
    next();
  });
  io.engine.on('connection', (connection: Parameters<ConnectionGuard['track']>[0]) => guard.track(connection));
  io.engine.on('connection_error', (error: { req: Parameters<ConnectionGuard['handshakeDone']>[0] }) => guard.handshakeDone(error.req));
  io.use(guard.middleware);
  // A connection that never logs in holds a socket, a file descriptor and a
  // place under the connection caps: it gets `loginTimeoutMs` to do so.
  // Logged in = admitted to the chat room (`SocketIoBroadcastPort.admit`).
  io.on('connection', (socket) => {
    const timer = setTimeout(() => {
      if (!socket.connected || socket.rooms.has(CHAT_ROOM)) return;
      log.info({ peer: socket.id, address: socket.handshake.address }, 'disconnected: no login in time');
      socket.disconnect(true);
    }, limits.loginTimeoutMs);
    timer.unref();
    socket.once('disconnect', () => clearTimeout(timer));
  });
  return io;
}

/**
 * Wires one socket's events to the relay: one listener per entry of the
 * event table (`clientEvents`). The acknowledgement is taken from the last
 * argument; an event must carry exactly one payload besides it. The payload
 * itself is checked by the relay (`ChatRelay.handle`, against the table's
 * schema); a missing or extra payload is answered here with the table's
 * `malformed` reply.
 */
export function attachSocket(socket: EnigmaSocket, relay: ChatRelay, log: Logger, nodeId?: string, observer?: ReplyObserver): void {
  const peer: Peer = { id: socket.id, address: socket.handshake.address };

  const on = (event: ClientEventName): void => {
    const malformed = (reason: string): unknown => ({ type: clientEvents[event].malformed, reason });
    // Every reply to this event passes here (the observer counts them by type).
    const answer = (ack: ((reply: unknown) => void) | undefined, reply: unknown, type: unknown = (reply as { type?: unknown }).type): void => {
      observer?.replied(event, type);
      ack?.(reply);
    };
    // socket.io's typed `on` cannot express "any arguments"; the payload is
    // validated by the relay, so the listener takes `unknown[]` on purpose.
    (socket as unknown as Socket).on(event, (...args: unknown[]) => {
      const last = args[args.length - 1];
      const ack = typeof last === 'function' ? (last as (reply: unknown) => void) : undefined;
      const payloadCount = ack === undefined ? args.length : args.length - 1;
      if (payloadCount !== 1) {
        answer(ack, malformed(payloadCount === 0 ? 'the event carries no payload' : 'the event carries more than one payload'));
        return;
      }
      relay.handle(event, peer, args[0]).then(
        (reply) => {
          // A login that finished after its socket was gone must not leave a
          // phantom session (and a user shown online forever).
          if (socket.disconnected) relay.disconnected(peer);
          // What `who` shows, on this node and (through the adapter) on the others.
          if (reply.type === 'LOGIN_SUCCESSFUL') Object.assign(socket.data, { username: reply.username, since: Date.now(), node: nodeId });
          answer(ack, reply);
        },
        (error: unknown) => {
          log.error({ err: error, event, peer: peer.id }, 'request failed');
          answer(ack, malformed('the server could not handle this request; try again'), SERVER_ERROR);
        },
      );
    });
  };

  for (const event of clientEventNames) on(event);

  socket.on('disconnect', () => relay.disconnected(peer));
}
