// Helpers for the hardening suites (src/hardening): clients from chosen
// loopback addresses, raw HTTP(S) requests and WebSocket upgrades.
import { request as httpsRequest } from 'node:https';
import { request as httpRequest, type IncomingHttpHeaders } from 'node:http';
import type { Socket as NetSocket } from 'node:net';
import { io as connectClient, type ManagerOptions, type Socket, type SocketOptions } from 'socket.io-client';
import type { TestServer } from './harness.js';

/**
 * A socket.io client whose connection leaves from `localAddress` (any of
 * 127.0.0.0/8 on Linux), so the server sees it as a different address.
 * socket.io-client hands `localAddress` on to the `ws` connection.
 */
export function clientFrom(target: TestServer, localAddress: string, options: Partial<ManagerOptions & SocketOptions> = {}): Socket {
  return connectClient(target.url, { transports: ['websocket'], ca: target.ca, reconnection: false, forceNew: true, localAddress, ...options } as Partial<
    ManagerOptions & SocketOptions
  >);
}

/** Resolves once connected; rejects with the server's refusal (`connect_error`). */
export function connected(socket: Socket): Promise<Socket> {
  return new Promise((resolve, reject) => {
    if (socket.connected) return resolve(socket);
    socket.once('connect', () => resolve(socket));
    socket.once('connect_error', reject);
  });
}

export function connectFrom(target: TestServer, localAddress: string, options: Partial<ManagerOptions & SocketOptions> = {}): Promise<Socket> {
  return connected(clientFrom(target, localAddress, options));
}

/** The reason socket.io gives when the socket closes. */
export function disconnection(socket: Socket): Promise<string> {
  return new Promise((resolve) => {
    if (socket.disconnected && !socket.active) return resolve('already disconnected');
    socket.once('disconnect', (reason) => resolve(reason));
  });
}

export interface RawResponse {
  status: number;
  headers: IncomingHttpHeaders;
  body: string;
}

/** HTTPS, or plain HTTP for a server started with `tls: 'off'`. */
const requestFor = (target: TestServer): typeof httpsRequest => (target.url.startsWith('http:') ? httpRequest : httpsRequest);

/** One HTTP(S) request with a raw path (no normalisation) and chosen headers. */
export function rawRequest(target: TestServer, method: string, path: string, headers: Record<string, string> = {}, body?: string): Promise<RawResponse> {
  const { hostname, port } = new URL(target.url);
  return new Promise((resolve, reject) => {
    const req = requestFor(target)({ host: hostname, port, method, path, headers, ca: target.ca, agent: false }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (text += chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: text }));
    });
    req.on('error', reject);
    req.end(body);
  });
}

export type UpgradeOutcome = { upgraded: true; socket: NetSocket; headers: IncomingHttpHeaders } | { upgraded: false; status: number; body: string };

/**
 * A bare WebSocket upgrade to engine.io (no socket.io handshake after it):
 * what a client that opens connections and then stays silent does.
 */
export function rawUpgrade(target: TestServer, options: { localAddress?: string; headers?: Record<string, string> } = {}): Promise<UpgradeOutcome> {
  const { hostname, port } = new URL(target.url);
  return new Promise((resolve, reject) => {
    const req = requestFor(target)({
      host: hostname,
      port,
      path: '/socket.io/?EIO=4&transport=websocket',
      ca: target.ca,
      agent: false,
      localAddress: options.localAddress,
      headers: {
        connection: 'Upgrade',
        upgrade: 'websocket',
        'sec-websocket-version': '13',
        'sec-websocket-key': 'dGhlIHNhbXBsZSBub25jZQ==',
        ...options.headers,
      },
    });
    req.on('upgrade', (res, socket) => resolve({ upgraded: true, socket, headers: res.headers }));
    req.on('response', (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (body += chunk));
      res.on('end', () => resolve({ upgraded: false, status: res.statusCode ?? 0, body }));
    });
    req.on('error', reject);
    req.end();
  });
}

/**
 * Resolves when the server closes a raw WebSocket: its close frame arrives
 * (the server then waits for ours; a silent client never sends it) or the
 * connection ends. Reads the server's unmasked frames as they come.
 */
export function serverClosed(socket: NetSocket): Promise<void> {
  return new Promise((resolve) => {
    let buffer = Buffer.alloc(0);
    const done = (): void => {
      socket.off('data', onData);
      resolve();
    };
    const onData = (chunk: Buffer): void => {
      buffer = Buffer.concat([buffer, chunk]);
      for (;;) {
        if (buffer.length < 2) return;
        const opcode = buffer.readUInt8(0) & 0x0f;
        let length = buffer.readUInt8(1) & 0x7f;
        let offset = 2;
        if (length === 126) {
          if (buffer.length < 4) return;
          length = buffer.readUInt16BE(2);
          offset = 4;
        } else if (length === 127) {
          if (buffer.length < 10) return;
          length = Number(buffer.readBigUInt64BE(2));
          offset = 10;
        }
        if (opcode === 0x8) return done();
        if (buffer.length < offset + length) return;
        buffer = buffer.subarray(offset + length);
      }
    };
    socket.on('data', onData);
    socket.once('close', done);
  });
}
