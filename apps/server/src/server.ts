import 'reflect-metadata';
import { createServer as createHttpServer, type IncomingMessage, type Server as HttpServer, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { AuthStoreContainerModule, databaseHandleId, openDatabase, userStoreId, type DatabaseHandle, type UserStore } from '@enigma/auth-store';
import { CryptoContainerModule } from '@enigma/crypto';
import { DEFAULT_LIMITS, ProtocolContainerModule, type NoticeKind } from '@enigma/protocol';
import { broadcastPortId, ChatRelay, RelayContainerModule } from '@enigma/relay';
import { Container } from 'inversify';
import { reachableAddresses } from './addresses.js';
import { attachSocket, createSocketServer, SocketIoBroadcastPort } from './gateway.js';
import type { Logger } from './logger.js';
import { resolveDatabase, type ServerOptions } from './options.js';
import { loadCertificate, loadOrCreateSelfSigned, type TlsMaterial } from './tls.js';

/** What the console and tests see of a running server. */
export interface ServerStatus {
  paused: boolean;
  urls: string[];
  port: number;
  fingerprint: string | undefined;
  database: string;
  online: string[];
  sessions: number;
  startedAt: Date;
}

/** Health figures for the operator (and the benchmarks), since the last reading. */
export interface ServerStats {
  eventLoopDelayP50Ms: number;
  eventLoopDelayP99Ms: number;
  eventLoopDelayMaxMs: number;
  rssBytes: number;
  heapUsedBytes: number;
  sessions: number;
}

/** The HTTP side serves socket.io and nothing else: no listing, no stack traces. */
function notFound(_request: IncomingMessage, response: ServerResponse): void {
  response.writeHead(404, { 'content-type': 'text/plain; charset=utf-8', 'x-content-type-options': 'nosniff' });
  response.end('not found\n');
}

/**
 * One Enigma server: the Inversify container, the HTTP(S) listener, socket.io
 * and the relay, with the operator's lifecycle (pause, resume, switch database,
 * shut down).
 */
export class EnigmaServer {
  #paused = false;
  #closing: Promise<void> | undefined;
  readonly #startedAt = new Date();
  readonly #loopDelay = monitorEventLoopDelay({ resolution: 10 });

  private constructor(
    private readonly options: ServerOptions,
    private readonly log: Logger,
    private readonly container: Container,
    private readonly http: HttpServer,
    private readonly io: ReturnType<typeof createSocketServer>,
    private readonly tls: TlsMaterial | undefined,
  ) {}

  public static async start(options: ServerOptions, log: Logger): Promise<EnigmaServer> {
    const tls =
      options.tls === 'off'
        ? undefined
        : options.tls === 'self-signed'
          ? await loadOrCreateSelfSigned(options.dataDir)
          : await loadCertificate(options.tls.certPath, options.tls.keyPath);
    const http = tls === undefined ? createHttpServer(notFound) : createHttpsServer({ cert: tls.cert, key: tls.key }, notFound);
    const io = createSocketServer(http, { maxFrameLength: DEFAULT_LIMITS.maxFrameLength, pingIntervalMs: options.pingIntervalMs, pingTimeoutMs: options.pingTimeoutMs });

    const database = await openDatabase(options.database);
    const container = new Container({ defaultScope: 'Singleton' });
    await container.load(
      ProtocolContainerModule.fromOptions(),
      CryptoContainerModule.fromOptions(),
      AuthStoreContainerModule.fromOptions({ database, throttle: options.throttle }),
      RelayContainerModule.fromOptions({ backlog: options.history }),
    );
    container.bind(broadcastPortId).toConstantValue(new SocketIoBroadcastPort(io));
    const server = new EnigmaServer(options, log, container, http, io, tls);
    server.#loopDelay.enable();

    const relay = container.get(ChatRelay);
    io.use((_socket, next) => (server.#paused ? next(new Error('the server is paused by its operator; try again later')) : next()));
    io.on('connection', (socket) => attachSocket(socket, relay, log));

    await new Promise<void>((resolve, reject) => {
      http.once('error', reject);
      http.listen(options.port, options.host, () => {
        http.off('error', reject);
        resolve();
      });
    });
    log.info({ port: server.port, tls: tls !== undefined, database: database.description }, 'server started');
    return server;
  }

  public get relay(): ChatRelay {
    return this.container.get(ChatRelay);
  }

  public get users(): UserStore {
    return this.container.get(userStoreId);
  }

  private get database(): DatabaseHandle {
    return this.container.get(databaseHandleId);
  }

  public get port(): number {
    return (this.http.address() as AddressInfo).port;
  }

  public get paused(): boolean {
    return this.#paused;
  }

  public urls(): string[] {
    const scheme = this.tls === undefined ? 'http' : 'https';
    return reachableAddresses(this.options.host).map((address) => `${scheme}://${address.includes(':') ? `[${address}]` : address}:${this.port}`);
  }

  public status(): ServerStatus {
    return {
      paused: this.#paused,
      urls: this.urls(),
      port: this.port,
      fingerprint: this.tls?.fingerprint,
      database: this.database.description,
      online: this.relay.online(),
      sessions: this.relay.sessions().length,
      startedAt: this.#startedAt,
    };
  }

  /** Event-loop delay since the previous call, and memory. */
  public stats(): ServerStats {
    const ms = (ns: number): number => Math.round(ns / 1e4) / 100;
    const memory = process.memoryUsage();
    const stats: ServerStats = {
      eventLoopDelayP50Ms: ms(this.#loopDelay.percentile(50)),
      eventLoopDelayP99Ms: ms(this.#loopDelay.percentile(99)),
      eventLoopDelayMaxMs: ms(this.#loopDelay.max),
      rssBytes: memory.rss,
      heapUsedBytes: memory.heapUsed,
      sessions: this.relay.sessions().length,
    };
    this.#loopDelay.reset();
    return stats;
  }

  /** `stop`: refuse new connections and disconnect everyone with a `paused` notice. */
  public pause(): boolean {
    if (this.#paused) return false;
    this.#paused = true;
    this.relay.disconnectAll(this.notice('paused', 'The server was paused by its operator.'));
    this.log.info('paused');
    return true;
  }

  /** `start`: accept connections again. */
  public resume(): boolean {
    if (!this.#paused) return false;
    this.#paused = false;
    this.log.info('resumed');
    return true;
  }

  /** `database NAME`: opens (creating and migrating) another database; sessions stay logged in. */
  public async switchDatabase(name: string): Promise<string> {
    const target = resolveDatabase(name, this.options.dataDir);
    await this.database.switchTo(target);
    this.log.info({ database: this.database.description }, 'database switched');
    return this.database.description;
  }

  /** Graceful shutdown: notice, close sockets and the database. Idempotent. */
  public close(): Promise<void> {
    this.#closing ??= (async () => {
      this.#loopDelay.disable();
      this.relay.disconnectAll(this.notice('shutdown', 'The server is shutting down.'));
      await this.io.close();
      await this.database.close();
      this.log.info('server stopped');
    })();
    return this.#closing;
  }

  private notice(kind: NoticeKind, text: string): { kind: NoticeKind; text: string; ts: number } {
    return { kind, text, ts: Date.now() };
  }
}
