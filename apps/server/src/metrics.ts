// The operator's view of a running server: Prometheus metrics (prom-client, on
// a registry of this server's own: a process may run several servers) and the
// health probes, served on a second, plain-HTTP listener (--metrics-port).
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { clientEvents, type ClientToServerEvents } from '@enigma/protocol';
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import { SERVER_ERROR, type ReplyObserver } from './gateway.js';
import type { Logger } from './logger.js';

/** The event-loop delay monitor's timer, ms: each sample is the time between its firings, so this much is no delay. */
const LOOP_RESOLUTION_MS = 10;

/** What a dependency probe may take before it counts as down (orchestrators: give the probe more than this). */
export const PROBE_TIMEOUT_MS = 1000;

/** Is the database (and, in a cluster, Redis) answering? `redis` is undefined on a single node. */
export interface Reachability {
  database: boolean;
  redis: boolean | undefined;
}

/** What the metrics read from the server when scraped. */
export interface MetricsSources {
  connections(): number;
  sessions(): number;
  reachability(): Promise<Reachability>;
  clustered: boolean;
}

// Every reply type of each event comes from the protocol's event table
// (`clientEvents[E].replies`): they are the only label values there are.
/** A reply type outside the lists (a newer relay): counted, without becoming a new label value. */
const OTHER = 'OTHER';

/**
 * Counts per label value in plain numbers: a reply costs one Map update, and
 * prom-client's label hashing runs only when scraped. Every value exists from
 * the start (a series at 0 rather than missing).
 */
class Tally {
  readonly #counts: Map<string, number>;

  public constructor(replies: readonly string[]) {
    this.#counts = new Map([...replies, SERVER_ERROR, OTHER].map((value) => [value, 0]));
  }

  public add(value: unknown): void {
    const key = this.#counts.has(value as string) ? (value as string) : OTHER;
    this.#counts.set(key, (this.#counts.get(key) ?? 0) + 1);
  }

  public entries(): IterableIterator<[string, number]> {
    return this.#counts.entries();
  }
}

/**
 * The server's metrics (docs/operations.md, "Metrics and health"). Names
 * start with `enigma_`; prom-client's default Node.js metrics (`process_*`,
 * `nodejs_*`) are on the same registry.
 */
export class ServerMetrics implements ReplyObserver {
  public readonly registry = new Registry();
  readonly #logins = {
    login: new Tally(clientEvents.LOGIN_ATTEMPTING.replies),
    register: new Tally(clientEvents.REGISTER_CLIENT_.replies),
    resume: new Tally(clientEvents.RESUME_SESSION.replies),
  };
  readonly #frames = new Tally(clientEvents.CLIENT_TO_SERVER.replies);
  readonly #byEvent: Partial<Record<keyof ClientToServerEvents, Tally>> = {
    LOGIN_ATTEMPTING: this.#logins.login,
    REGISTER_CLIENT_: this.#logins.register,
    RESUME_SESSION: this.#logins.resume,
    CLIENT_TO_SERVER: this.#frames,
  };
  #deliveries = 0;
  readonly #writes: Histogram;
  /** Its own histogram: the console's `stats` resets the server's at every reading. */
  readonly #loopDelay = monitorEventLoopDelay({ resolution: LOOP_RESOLUTION_MS });
  /** The probe behind `enigma_*_up`, for /readyz too. */
  public readonly reachability: () => Promise<Reachability>;

  public constructor(sources: MetricsSources) {
    this.reachability = sources.reachability;
    const registers = [this.registry];
    collectDefaultMetrics({ register: this.registry });
    const logins = this.#logins;
    const frames = this.#frames;
    // The collect() callbacks below run with `this` bound to their metric.
    const deliveries = (): number => this.#deliveries;
    new Gauge({
      name: 'enigma_connections',
      help: 'Open connections (engine.io sessions), logged in or not',
      registers,
      collect(this: Gauge) {
        this.set(sources.connections());
      },
    });
    new Gauge({
      name: 'enigma_sessions',
      help: 'Logged-in sessions on this node',
      registers,
      collect(this: Gauge) {
        this.set(sources.sessions());
      },
    });
    new Counter({
      name: 'enigma_logins_total',
      help: 'Replies to login, register and resume requests, by request and reply type (SERVER_ERROR: the request failed in the server)',
      labelNames: ['event', 'outcome'] as const,
      registers,
      collect(this: Counter<'event' | 'outcome'>) {
        this.reset();
        for (const [event, tally] of Object.entries(logins)) for (const [outcome, count] of tally.entries()) this.inc({ event, outcome }, count);
      },
    });
    new Counter({
      name: 'enigma_frames_total',
      help: 'Replies to frames sent by clients, by reply type (ACCEPTED: stored and relayed)',
      labelNames: ['result'] as const,
      registers,
      collect(this: Counter<'result'>) {
        this.reset();
        for (const [result, count] of frames.entries()) this.inc({ result }, count);
      },
    });
    new Counter({
      name: 'enigma_deliveries_total',
      help: 'Relayed frames handed to recipients on this node (each frame counted once per recipient), whichever node relayed it',
      registers,
      collect(this: Counter) {
        this.reset();
        this.inc(deliveries());
      },
    });
    this.#writes = new Histogram({
      name: 'enigma_database_write_seconds',
      help: 'Database writes from the call until committed (SQLite: through the writer thread, group commit included; PostgreSQL: message appends and single-statement writes)',
      buckets: [0.0005, 0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1, 2, 5],
      registers,
    });
    const loopDelay = this.#loopDelay;
    loopDelay.enable();
    new Gauge({
      name: 'enigma_event_loop_delay_seconds',
      help: 'Event-loop delay since the previous scrape (beyond the 10 ms sampling interval): quantile 0.5, 0.99 and 1 (the maximum)',
      labelNames: ['quantile'] as const,
      registers,
      collect(this: Gauge<'quantile'>) {
        const seconds = (ns: number): number => Math.max(0, ns / 1e6 - LOOP_RESOLUTION_MS) / 1e3;
        this.set({ quantile: '0.5' }, seconds(loopDelay.percentile(50)));
        this.set({ quantile: '0.99' }, seconds(loopDelay.percentile(99)));
        this.set({ quantile: '1' }, seconds(loopDelay.max));
        loopDelay.reset();
      },
    });
    new Gauge({
      name: 'enigma_database_up',
      help: `1 when the database answered SELECT 1 within ${PROBE_TIMEOUT_MS} ms at this scrape, else 0`,
      registers,
      async collect(this: Gauge) {
        this.set((await sources.reachability()).database ? 1 : 0);
      },
    });
    if (sources.clustered) {
      new Gauge({
        name: 'enigma_redis_up',
        help: `1 when Redis answered PING within ${PROBE_TIMEOUT_MS} ms at this scrape, else 0`,
        registers,
        async collect(this: Gauge) {
          this.set((await sources.reachability()).redis === true ? 1 : 0);
        },
      });
    }
  }

  /** The gateway's hook, on every reply: one Map update (labels only from the closed lists above). */
  public replied(event: keyof ClientToServerEvents, type: unknown): void {
    this.#byEvent[event]?.add(type);
  }

  /** One relayed frame broadcast to this many recipients here. */
  public delivered(recipients: number): void {
    this.#deliveries += recipients;
  }

  /** A `WriteObserver` (@enigma/auth-store). */
  public readonly wrote = (seconds: number): void => {
    this.#writes.observe(seconds);
  };

  public close(): void {
    this.#loopDelay.disable();
  }
}

/** True when `work` resolves within the timeout; false when it rejects or takes longer. */
export function answersWithin(work: () => Promise<unknown>, timeoutMs: number = PROBE_TIMEOUT_MS): Promise<boolean> {
  return new Promise((resolve) => {
    const timer = setTimeout(() => resolve(false), timeoutMs);
    timer.unref();
    const settle = (answered: boolean): void => {
      clearTimeout(timer);
      resolve(answered);
    };
    work().then(
      () => settle(true),
      () => settle(false),
    );
  });
}

/**
 * The probes behind `enigma_*_up` and /readyz: `SELECT 1` on the current
 * database, `PING` to Redis. Concurrent callers (several gauges of one
 * scrape, a scrape and a readiness check) share the probe under way.
 */
export function reachabilityProbe(selectOne: () => Promise<unknown>, ping: (() => Promise<void>) | undefined): () => Promise<Reachability> {
  let probing: Promise<Reachability> | undefined;
  const probe = async (): Promise<Reachability> => {
    const [database, redis] = await Promise.all([answersWithin(selectOne), ping === undefined ? undefined : answersWithin(ping)]);
    return { database, redis };
  };
  return () =>
    (probing ??= probe().finally(() => {
      probing = undefined;
    }));
}

const HEADERS = { 'content-type': 'text/plain; charset=utf-8', 'x-content-type-options': 'nosniff', 'cache-control': 'no-store' };

function send(response: ServerResponse, status: number, body: string, headers: Record<string, string> = {}): void {
  response.writeHead(status, { ...HEADERS, ...headers });
  response.end(body);
}

/**
 * The metrics listener: plain HTTP (meant for loopback or a private network,
 * docs/security.md), GET only, three paths, nothing else: 404 for another
 * path, 405 for another method, no stack traces.
 */
export class MetricsListener {
  private constructor(
    private readonly http: Server,
    private readonly host: string,
  ) {}

  /**
   * @param notReady why the server is not ready (empty: ready); each reason a
   *   short phrase such as "redis unreachable" (never a URL or a secret).
   */
  public static async start(
    address: { host: string; port: number },
    metrics: ServerMetrics,
    notReady: () => Promise<string[]>,
    log: Logger,
  ): Promise<MetricsListener> {
    const routes: Record<string, () => Promise<[status: number, body: string, headers?: Record<string, string>]>> = {
      '/healthz': async () => [200, 'ok\n'],
      '/readyz': async () => {
        const reasons = await notReady();
        return reasons.length === 0 ? [200, 'ready\n'] : [503, `not ready: ${reasons.join(', ')}\n`];
      },
      '/metrics': async () => [200, await metrics.registry.metrics(), { 'content-type': metrics.registry.contentType }],
    };
    const handle = (request: IncomingMessage, response: ServerResponse): void => {
      const path = (request.url ?? '').split('?', 1)[0] ?? '';
      const route = Object.hasOwn(routes, path) ? routes[path] : undefined;
      if (route === undefined) return send(response, 404, 'not found\n');
      if (request.method !== 'GET') return send(response, 405, 'method not allowed\n', { allow: 'GET' });
      route().then(
        ([status, body, headers]) => send(response, status, body, headers),
        (error: unknown) => {
          log.error({ err: error, path }, 'metrics request failed');
          send(response, 500, 'internal error\n');
        },
      );
    };
    // Small bounds: scrapers and probes send one short request at a time.
    const http = createServer({ requestTimeout: 10_000, headersTimeout: 5_000, maxHeaderSize: 8 * 1024 }, handle);
    http.maxConnections = 64;
    await new Promise<void>((resolve, reject) => {
      http.once('error', (error: NodeJS.ErrnoException) => {
        // Not EADDRINUSE itself: main.ts would report the chat port as taken.
        const why = error.code === 'EADDRINUSE' ? 'is already in use' : error.code === 'EACCES' ? 'is not allowed' : `failed (${error.code ?? error.message})`;
        reject(new Error(`the metrics listener on ${address.host} port ${address.port} ${why} (--metrics-port, --metrics-host)`));
      });
      http.listen(address.port, address.host, () => {
        http.removeAllListeners('error');
        http.on('error', (error) => log.error({ err: error }, 'metrics listener error'));
        resolve();
      });
    });
    return new MetricsListener(http, address.host);
  }

  public get port(): number {
    return (this.http.address() as AddressInfo).port;
  }

  public get url(): string {
    return `http://${this.host.includes(':') ? `[${this.host}]` : this.host}:${this.port}/metrics`;
  }

  public async close(): Promise<void> {
    const closed = new Promise<void>((resolve) => this.http.close(() => resolve()));
    this.http.closeAllConnections();
    await closed;
  }
}
