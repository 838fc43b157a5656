// Test helpers: a real server on port 0 in a temp data dir, real socket.io clients.
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { encodeFrame } from '@enigma/protocol';
import { Fernet } from '@enigma/crypto';
import { io as connectClient, type Socket } from 'socket.io-client';
import { createLogger } from '../logger.js';
import type { ServerOptions } from '../options.js';
import { EnigmaServer } from '../server.js';

export interface TestServer {
  server: EnigmaServer;
  url: string;
  dataDir: string;
  ca: string;
  stop(): Promise<void>;
}

export async function startTestServer(overrides: Partial<ServerOptions> = {}): Promise<TestServer> {
  const dataDir = overrides.dataDir ?? (await mkdtemp(path.join(tmpdir(), 'enigma-server-')));
  const options: ServerOptions = {
    host: '127.0.0.1',
    port: 0,
    dataDir,
    database: path.join(dataDir, 'accounts.db'),
    tls: 'self-signed',
    history: 100,
    logLevel: 'silent',
    logFile: undefined,
    redisUrl: undefined,
    pingIntervalMs: 20_000,
    pingTimeoutMs: 20_000,
    // Every test client comes from 127.0.0.1: allow many registrations from it.
    throttle: { registrations: 10_000 },
    // Departures are announced after a short grace here (5 s by default), so tests that wait for one stay quick.
    presenceGraceMs: 100,
    ...overrides,
  };
  const server = await EnigmaServer.start(options, createLogger(options.logLevel, options.logFile));
  const ca = options.tls === 'off' ? '' : await readFile(path.join(dataDir, 'tls-cert.pem'), 'utf8');
  return {
    server,
    url: `${options.tls === 'off' ? 'http' : 'https'}://127.0.0.1:${server.port}`,
    dataDir,
    ca,
    stop: async () => {
      await server.close();
      if (overrides.dataDir === undefined) await rm(dataDir, { recursive: true, force: true });
    },
  };
}

export async function connect(target: TestServer): Promise<Socket> {
  const socket = connectClient(target.url, { transports: ['websocket'], ca: target.ca, reconnection: false, forceNew: true });
  await new Promise<void>((resolve, reject) => {
    socket.once('connect', resolve);
    socket.once('connect_error', reject);
  });
  return socket;
}

/** Emits with an acknowledgement and resolves with the reply. */
export function call<Reply = { type: string } & Record<string, unknown>>(socket: Socket, event: string, ...args: unknown[]): Promise<Reply> {
  return socket.timeout(10_000).emitWithAck(event, ...args) as Promise<Reply>;
}

export function nextEvent<T = Record<string, unknown>>(socket: Socket, event: string): Promise<T> {
  return new Promise((resolve) => socket.once(event, (payload: T) => resolve(payload)));
}

/** Collects every payload of an event, for asserting what did (not) arrive. */
export function collect<T = Record<string, unknown>>(socket: Socket, event: string): T[] {
  const seen: T[] = [];
  socket.on(event, (payload: T) => seen.push(payload));
  return seen;
}

export function frameOf(key: string, text: string): string {
  return encodeFrame(new Fernet(key).encrypt(text));
}

export const strongPassword = 'correct-horse-battery-staple-42';

export async function registered(target: TestServer, username: string): Promise<Socket> {
  const socket = await connect(target);
  const reply = await call(socket, 'REGISTER_CLIENT_', { username, password: strongPassword });
  if (reply.type !== 'LOGIN_SUCCESSFUL') throw new Error(`registration of ${username} failed: ${reply.type}`);
  return socket;
}
