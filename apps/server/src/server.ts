import 'reflect-metadata';
import { createServer as createHttpServer, type IncomingMessage, type Server as HttpServer, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo, Socket as NetSocket } from 'node:net';
import { monitorEventLoopDelay, performance } from 'node:perf_hooks';
import {
  AuthStoreContainerModule,
  databaseHandleId,
  inviteStoreId,
  messageStoreId,
  openDatabase,
  passwordStrengthId,
  userStoreId,
  type BackupOptions,
  type BackupResult,
  type DatabaseHandle,
  type InviteStore,
  type UserStore,
} from '@enigma/auth-store';
import { CryptoContainerModule } from '@enigma/crypto';
import { DEFAULT_LIMITS, ProtocolContainerModule, type NoticeKind } from '@enigma/protocol';
import { broadcastPortId, ChatRelay, presenceRegistryId, RelayContainerModule, type RegistrationPolicy } from '@enigma/relay';
import { Container } from 'inversify';
import { ownHostNames, reachableAddresses } from './addresses.js';
import { joinCluster, type Cluster } from './cluster.js';
import { attachSocket, createSocketServer, SocketIoBroadcastPort, watchDeliveries } from './gateway.js';
import type { Logger } from './logger.js';
import { MetricsListener, reachabilityProbe, ServerMetrics } from './metrics.js';
import { DEFAULT_ACCOUNT_QUOTA_BYTES, DEFAULT_SERVER_LIMITS, resolveDatabase, type ServerLimits, type ServerOptions } from './options.js';
import { RetentionPruner, type RetentionStatus } from './retention.js';
import { loadCertificate, loadOrCreateSelfSigned, TLS_SERVER_SETTINGS, type TlsMaterial } from './tls.js';

/** What the console and tests see of a running server. */
export interface ServerStatus {
  paused: boolean;
  urls: string[];
  port: number;
  fingerprint: string | undefined;
  database: string;
  /** Sessions on this node. */
  sessions: number;
  startedAt: Date;
  /** This node's id when it is one of several (--redis-url). */
  nodeId: string | undefined;
  registration: RegistrationPolicy;
}

/** Who is online across every node (one node: this one). */
export interface ChatPresence {
  nodes: number;
  online: string[];
  sessions: Array<{ username: string; address: string; since: number; node: string | undefined }>;
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

/**
 * How long a clean shutdown lets open connections finish writing (the
 * shutdown notice, a last acknowledgement) before it cuts them. A client that
 * does not read, or a connection that never finished its TLS or socket.io
 * handshake, would otherwise hold the process open for good: Node's
 * `server.close()` waits for every connection to end by itself.
 */
export const SHUTDOWN_GRACE_MS = 1000;

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
  /** What a shutdown in progress is waiting for (for the operator, if it hangs). */
  #shutdownStep: string | undefined;
  /** Every open TCP connection, including ones that never became socket.io connections. */
  readonly #sockets = new Set<NetSocket>();
  readonly #startedAt = new Date();
  readonly #loopDelay = monitorEventLoopDelay({ resolution: 10 });
  /** With --metrics-port: the metrics and their listener. */
  #metrics: { metrics: ServerMetrics; listener?: MetricsListener } | undefined;
  /** With --retention: deletes the messages past it. */
  #pruner: RetentionPruner | undefined;

  private constructor(
    private readonly options: ServerOptions,
    private readonly log: Logger,
    private readonly container: Container,
    private readonly http: HttpServer,
    private readonly io: ReturnType<typeof createSocketServer>,
    private readonly tls: TlsMaterial | undefined,
    private readonly cluster: Cluster | undefined,
  ) {}

  public static async start(options: ServerOptions, log: Logger): Promise<EnigmaServer> {
    const tls =
      options.tls === 'off'
        ? undefined
        : options.tls === 'self-signed'
          ? await loadOrCreateSelfSigned(options.dataDir)
          : await loadCertificate(options.tls.certPath, options.tls.keyPath);
    const http = tls === undefined ? createHttpServer(notFound) : createHttpsServer({ ...TLS_SERVER_SETTINGS, cert: tls.cert, key: tls.key }, notFound);
    const limits: ServerLimits = { ...DEFAULT_SERVER_LIMITS, ...options.limits };
    const io = createSocketServer(
      http,
      {
        maxFrameLength: DEFAULT_LIMITS.maxFrameLength,
        pingIntervalMs: options.pingIntervalMs,
        pingTimeoutMs: options.pingTimeoutMs,
        limits,
        ownHostNames: ownHostNames(options.host, tls?.cert),
      },
      log,
    );

    const cluster = options.redisUrl === undefined ? undefined : await joinCluster(options.redisUrl, log);
    if (cluster !== undefined) io.adapter(cluster.adapter);
    const database = await openDatabase(options.database).catch(async (error: unknown) => {
      await cluster?.close();
      throw error;
    });
    const container = new Container({ defaultScope: 'Singleton' });
    await container.load(
      ProtocolContainerModule.fromOptions(),
      CryptoContainerModule.fromOptions(),
      AuthStoreContainerModule.fromOptions({ database, throttle: options.throttle, limiters: cluster?.limiters }),
      RelayContainerModule.fromOptions({
        backlog: options.history,
        maxSessionsPerUser: limits.maxSessionsPerUser,
        registration: options.registration ?? 'open',
        ...(options.presenceGraceMs === undefined ? {} : { presenceGraceMs: options.presenceGraceMs }),
        accountQuotaBytes: options.accountQuotaBytes ?? DEFAULT_ACCOUNT_QUOTA_BYTES,
      }),
    );
    // The password-strength thread loads its dictionaries before the first registration can arrive.
    await container.get(passwordStrengthId).warm();
    container.bind(broadcastPortId).toConstantValue(new SocketIoBroadcastPort(io));
    if (cluster !== undefined) container.rebind(presenceRegistryId).toConstantValue(cluster.presence);
    const server = new EnigmaServer(options, log, container, http, io, tls, cluster);
    server.#loopDelay.enable();

    const relay = container.get(ChatRelay);
    relay.events.on('presenceFailed', (error) => log.warn({ err: error }, 'presence update failed'));
    http.on('connection', (socket: NetSocket) => {
      server.#sockets.add(socket);
      socket.once('close', () => server.#sockets.delete(socket));
    });
    io.use((_socket, next) => {
      if (server.#closing !== undefined) next(new Error('the server is shutting down; try again later'));
      else if (server.#paused) next(new Error('the server is paused by its operator; try again later'));
      else next();
    });
    const metrics = options.metricsPort === undefined ? undefined : server.instrument();
    io.on('connection', (socket) => attachSocket(socket, relay, log, cluster?.nodeId, metrics));

    await new Promise<void>((resolve, reject) => {
      http.once('error', reject);
      http.listen(options.port, options.host, () => {
        http.off('error', reject);
        resolve();
      });
    });
    if (metrics !== undefined) {
      const address = { host: options.metricsHost ?? '127.0.0.1', port: options.metricsPort ?? 0 };
      const listener = await MetricsListener.start(address, metrics, () => server.notReady(metrics), log).catch(async (error: unknown) => {
        await server.close();
        throw error;
      });
      server.#metrics = { metrics, listener };
    }
    if (options.retentionMs !== undefined) {
      server.#pruner = new RetentionPruner(container.get(messageStoreId), options.retentionMs, log);
      server.#pruner.start();
    }
    log.info({ port: server.port, tls: tls !== undefined, database: database.description }, 'server started');
    return server;
  }

  /** The metrics: replies (through the gateway), deliveries, write latency, gauges read when scraped. */
  private instrument(): ServerMetrics {
    const cluster = this.cluster;
    const metrics = new ServerMetrics({
      connections: () => this.io.engine.clientsCount,
      sessions: () => this.relay.sessions().length,
      reachability: reachabilityProbe(() => this.database.current().query('SELECT 1'), cluster && (() => cluster.ping())),
      clustered: cluster !== undefined,
    });
    if (!watchDeliveries(this.io, (recipients) => metrics.delivered(recipients)))
      this.log.warn('enigma_deliveries_total is unavailable with this socket.io-adapter');
    this.database.observeWrites(metrics.wrote);
    this.#metrics = { metrics };
    return metrics;
  }

  /** Why /readyz answers 503 (empty: ready): paused or shutting down, the database or Redis not answering. */
  private async notReady(metrics: ServerMetrics): Promise<string[]> {
    const reasons = this.#closing !== undefined ? ['shutting down'] : this.#paused ? ['paused by the operator'] : [];
    const { database, redis } = await metrics.reachability();
    if (!database) reasons.push('database unreachable');
    if (redis === false) reasons.push('redis unreachable');
    return reasons;
  }

  /** http://127.0.0.1:PORT/metrics with --metrics-port, else undefined. */
  public get metricsUrl(): string | undefined {
    return this.#metrics?.listener?.url;
  }

  public get relay(): ChatRelay {
    return this.container.get(ChatRelay);
  }

  public get users(): UserStore {
    return this.container.get(userStoreId);
  }

  public get invites(): InviteStore {
    return this.container.get(inviteStoreId);
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
      sessions: this.relay.sessions().length,
      startedAt: this.#startedAt,
      nodeId: this.cluster?.nodeId,
      registration: this.options.registration ?? 'open',
    };
  }

  /** Everyone online on every node (asks the other nodes through the adapter). */
  public async presence(): Promise<ChatPresence> {
    const sockets = await this.io.fetchSockets();
    const sessions = sockets
      .filter((socket) => socket.data.username !== undefined)
      .map((socket) => ({ username: socket.data.username!, address: socket.handshake.address, since: socket.data.since ?? 0, node: socket.data.node }));
    return { nodes: (await this.cluster?.presence.nodes()) ?? 1, online: await this.relay.online(), sessions };
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

  /** With --retention: what it has done; undefined when every message is kept. */
  public retention(): Promise<RetentionStatus | undefined> {
    return this.#pruner?.status() ?? Promise.resolve(undefined);
  }

  /**
   * `backup PATH`: an online, consistent copy of the SQLite database while
   * clients keep sending (a name or relative path is inside the data dir, as
   * for `database`). Refused on PostgreSQL (kind `notSupported`: pg_dump).
   */
  public async backup(name: string, options: BackupOptions = {}): Promise<BackupResult & { ms: number }> {
    const target = resolveDatabase(name, this.options.dataDir, 'dataDir');
    const started = performance.now();
    const result = await this.database.backup(target, options);
    const ms = Math.round(performance.now() - started);
    this.log.info({ file: result.file, bytes: result.bytes, ms }, 'backup written');
    return { ...result, ms };
  }

  /** `database NAME`: opens (creating and migrating) another database; sessions stay logged in. */
  public async switchDatabase(name: string): Promise<string> {
    const target = resolveDatabase(name, this.options.dataDir, 'dataDir');
    await this.database.switchTo(target);
    this.log.info({ database: this.database.description }, 'database switched');
    // With --retention, a database selected now is held to it now, not at the next round (up to a minute away).
    void this.#pruner?.runRound();
    return this.database.description;
  }

  /**
   * Graceful shutdown, idempotent: everyone logged in gets the `shutdown`
   * notice, frames already being stored are committed (and acknowledged if
   * their connection is still there), connections are closed (cut after
   * `SHUTDOWN_GRACE_MS` if they do not finish), then the cluster and the
   * database. New connections are refused from the first step.
   */
  public close(): Promise<void> {
    this.#closing ??= (async () => {
      this.#loopDelay.disable();
      this.#shutdownStep = 'notifying sessions and finishing frames in flight';
      this.relay.disconnectAll(this.notice('shutdown', 'The server is shutting down.'));
      await this.relay.settled();
      this.#shutdownStep = 'closing connections';
      // socket.io's close waits for the HTTP server, which waits for every
      // connection to end: the ones that have not after the grace are cut.
      const cut = setTimeout(() => this.cutConnections(), SHUTDOWN_GRACE_MS);
      await this.io.close();
      clearTimeout(cut);
      this.#shutdownStep = 'leaving the cluster';
      await this.cluster?.close();
      this.#shutdownStep = 'finishing a retention batch';
      await this.#pruner?.stop();
      this.#shutdownStep = 'closing the database';
      await this.container.get(passwordStrengthId).close();
      await this.database.close();
      this.#shutdownStep = undefined;
      this.log.info('server stopped');
    })().finally(() => this.stopMetrics());
    return this.#closing;
  }

  /** While `close()` runs: what it is waiting for, e.g. "closing connections (2 open: 127.0.0.1, 10.0.0.7)". */
  public shutdownProgress(): string | undefined {
    if (this.#shutdownStep !== 'closing connections' || this.#sockets.size === 0) return this.#shutdownStep;
    const addresses = [...new Set([...this.#sockets].map((socket) => socket.remoteAddress ?? 'unknown'))];
    return `${this.#shutdownStep} (${this.#sockets.size} open: ${addresses.slice(0, 5).join(', ')}${addresses.length > 5 ? ', ...' : ''})`;
  }

  /** The connections still open after the grace: writing to a client that does not read, or bare TCP/TLS that socket.io never saw. */
  private cutConnections(): void {
    this.log.info({ connections: this.#sockets.size }, 'shutdown: cutting connections that did not close in time');
    for (const socket of this.#sockets) socket.destroy();
  }

  /** Last: /readyz says "shutting down" while the rest closes. */
  private async stopMetrics(): Promise<void> {
    this.#metrics?.metrics.close();
    await this.#metrics?.listener?.close();
  }

  private notice(kind: NoticeKind, text: string): { kind: NoticeKind; text: string; ts: number } {
    return { kind, text, ts: Date.now() };
  }
}
