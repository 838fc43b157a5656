import { Command, InvalidArgumentError, Option } from 'commander';
import path from 'node:path';
import type { ThrottleOptions } from '@enigma/auth-store';
import type { RegistrationPolicy } from '@enigma/relay';
import { parseDuration } from './duration.js';
import { formatSize, parseSize } from './size.js';

/** Everything the operator can set, from flags or ENIGMA_* environment variables. */
export interface ServerOptions {
  host: string | undefined;
  port: number;
  dataDir: string;
  /** A SQLite file (absolute) or a postgres:// URL. */
  database: string;
  /** Several nodes share broadcasts, presence and throttles through this Redis. */
  redisUrl: string | undefined;
  tls: { certPath: string; keyPath: string } | 'self-signed' | 'off';
  history: number;
  logLevel: string;
  logFile: string | undefined;
  /** Heartbeat: a connection silent for interval + timeout (a sleeping laptop, a dead NAT entry) is dropped. */
  pingIntervalMs: number;
  pingTimeoutMs: number;
  /** Throttle settings (no flags: embedding code and tests set them). */
  throttle?: Partial<ThrottleOptions>;
  /** Connection and session limits (docs/security.md, "Limits"); unset fields take `DEFAULT_SERVER_LIMITS`. */
  limits?: Partial<ServerLimits>;
  /** A second, plain-HTTP listener for /metrics, /healthz, /readyz (docs/operations.md); unset: none. 0 picks a free port. */
  metricsPort?: number;
  /** Its address: loopback unless the operator names a private one (docs/security.md). */
  metricsHost?: string;
  /** Who may register (README, "Who may register"); `open` when unset. */
  registration?: RegistrationPolicy;
  /** How long a user who lost their last session still shows as online (the relay's `presenceGraceMs`); unset: the relay's default. */
  presenceGraceMs?: number;
  /** Messages older than this are deleted (docs/operations.md, "Retention"); unset: kept for ever. */
  retentionMs?: number;
  /** Bytes of messages one account may have stored; 0 = no quota; unset: `DEFAULT_ACCOUNT_QUOTA_BYTES`. */
  accountQuotaBytes?: number;
}

/**
 * 256 MiB of frames per account. An ordinary message is a frame of about
 * 300 bytes, so this is some 900,000 messages — years of heavy chatting —
 * while one account can no longer fill the disk (72 MB in 7 s was seen with
 * 64 KiB frames); a server's worst case is members × 256 MiB.
 */
export const DEFAULT_ACCOUNT_QUOTA_BYTES = 256 * 1024 * 1024;

/** What one address, one user or one slow client may hold of the server. 0 turns a cap off. */
export interface ServerLimits {
  /** Open connections (engine.io sessions, logged in or not) in total. */
  maxConnections: number;
  /** Open connections from one remote address (behind a reverse proxy every client shares its address). */
  maxConnectionsPerAddress: number;
  /** A connection must complete the socket.io handshake within this time (socket.io `connectTimeout`). */
  handshakeTimeoutMs: number;
  /** A connection that has not logged in (or resumed) within this time is closed. */
  loginTimeoutMs: number;
  /** Logged-in sessions of one user at a time. */
  maxSessionsPerUser: number;
  /** Data queued for a client that does not read it; past this it is disconnected. */
  maxBufferedBytes: number;
  /** Origins (scheme://host[:port]) allowed besides the server's own; browsers on any other origin are refused. */
  allowedOrigins: string[];
}

export const DEFAULT_SERVER_LIMITS: Readonly<ServerLimits> = Object.freeze({
  // Generous on purpose: the benchmarks hold 10,000 connections from 8 loopback
  // addresses. Tighten per address unless clients share an address (a proxy, a NAT).
  maxConnections: 20_000,
  maxConnectionsPerAddress: 2_000,
  handshakeTimeoutMs: 10_000,
  loginTimeoutMs: 60_000,
  maxSessionsPerUser: 20,
  maxBufferedBytes: 8 * 1024 * 1024,
  allowedOrigins: [],
});

/** A combination of flags that cannot work; main prints the message and exits 2. */
export class UsageError extends Error {
  public override readonly name = 'UsageError';
}

function integer(min: number, max: number): (value: string) => number {
  return (value) => {
    const parsed = Number(value);
    if (!/^\d+$/.test(value) || parsed < min || parsed > max) {
      throw new InvalidArgumentError(`expected a whole number from ${min} to ${max}`);
    }
    return parsed;
  };
}

/** `90d`, `12h`, `30s` … in ms; `off` (or `never`) is 0: keep every message, as no flag does. */
function retention(value: string): number {
  if (/^\s*(off|never)\s*$/i.test(value)) return 0;
  const parsed = parseDuration(value);
  if (!parsed.ok) throw new InvalidArgumentError(`${parsed.reason}, or off`);
  return parsed.ms;
}

function size(value: string): number {
  const parsed = parseSize(value);
  if (!parsed.ok) throw new InvalidArgumentError(parsed.reason);
  return parsed.bytes;
}

/** `https://a.example, http://b.example:8080` → their canonical origins; anything else is refused. */
function origins(value: string): string[] {
  return value
    .split(',')
    .map((part) => part.trim())
    .filter((part) => part !== '')
    .map((part) => {
      let url: URL;
      try {
        url = new URL(part);
      } catch {
        throw new InvalidArgumentError(`${part} is not an origin such as https://chat.example`);
      }
      const bare = url.pathname === '/' && url.search === '' && url.hash === '' && url.username === '' && !part.endsWith('/');
      if ((url.protocol !== 'https:' && url.protocol !== 'http:') || !bare) {
        throw new InvalidArgumentError(`${part} is not an origin such as https://chat.example (scheme, host and port only)`);
      }
      return url.origin;
    });
}

/**
 * Resolves a database argument: a postgres URL as is, a bare name inside the
 * data dir, an absolute path as it is. A relative path with a folder in it
 * follows the shell's habit on the command line (`--database ./x.db`: from
 * the working directory) but stays inside the data dir at the console, where
 * the server's working directory means nothing to the operator.
 */
export function resolveDatabase(database: string, dataDir: string, relativeTo: 'cwd' | 'dataDir' = 'cwd'): string {
  if (/^postgres(ql)?:\/\//.test(database)) return database;
  if (path.isAbsolute(database)) return path.resolve(database);
  return database.includes(path.sep) && relativeTo === 'cwd' ? path.resolve(database) : path.resolve(dataDir, database);
}

export function parseServerOptions(argv: readonly string[], env: NodeJS.ProcessEnv = process.env): ServerOptions {
  const program = new Command('enigma-server')
    .description('Enigma: a blind relay for Fernet-encrypted group chat')
    .addOption(new Option('--host <address>', 'address to listen on (default: all interfaces)').env('ENIGMA_HOST'))
    .addOption(new Option('--port <port>', 'port to listen on; 0 picks a free one').env('ENIGMA_PORT').argParser(integer(0, 65535)).default(7777))
    .addOption(new Option('--data-dir <dir>', 'where the database and TLS files live').env('ENIGMA_DATA_DIR').default('./data'))
    .addOption(new Option('--database <file-or-url>', 'SQLite file (name in the data dir, or a path)').env('ENIGMA_DATABASE').default('accounts.db'))
    .addOption(new Option('--database-url <url>', 'postgres://... to use PostgreSQL instead of SQLite').env('ENIGMA_DATABASE_URL'))
    .addOption(new Option('--redis-url <url>', 'redis://... to run as one of several nodes (with --database-url postgres://...)').env('ENIGMA_REDIS_URL'))
    .addOption(new Option('--tls-cert <file>', 'PEM certificate (default: a self-signed one made on first start)').env('ENIGMA_TLS_CERT'))
    .addOption(new Option('--tls-key <file>', 'PEM private key for --tls-cert').env('ENIGMA_TLS_KEY'))
    .addOption(new Option('--no-tls', 'serve plain HTTP/WS (only behind a TLS-terminating proxy or for development)'))
    .addOption(new Option('--history <count>', 'messages of backlog sent on login').env('ENIGMA_HISTORY').argParser(integer(0, 10_000)).default(100))
    .addOption(
      new Option('--log-level <level>', 'structured log level')
        .env('ENIGMA_LOG_LEVEL')
        .choices(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'])
        .default('info'),
    )
    .addOption(
      new Option('--ping-interval <ms>', 'how often the server checks that a connection is alive')
        .env('ENIGMA_PING_INTERVAL_MS')
        .argParser(integer(100, 600_000))
        .default(20_000),
    )
    .addOption(
      new Option('--ping-timeout <ms>', 'how long a silent connection may take to answer before it is dropped')
        .env('ENIGMA_PING_TIMEOUT_MS')
        .argParser(integer(100, 600_000))
        .default(20_000),
    )
    .addOption(new Option('--log-file <file>', 'write structured logs here instead of stderr').env('ENIGMA_LOG_FILE'))
    .addOption(
      new Option('--max-connections <count>', 'open connections in total; 0 = no cap')
        .env('ENIGMA_MAX_CONNECTIONS')
        .argParser(integer(0, 1_000_000))
        .default(DEFAULT_SERVER_LIMITS.maxConnections),
    )
    .addOption(
      new Option('--max-connections-per-address <count>', 'open connections from one address; 0 = no cap (use behind a reverse proxy)')
        .env('ENIGMA_MAX_CONNECTIONS_PER_ADDRESS')
        .argParser(integer(0, 1_000_000))
        .default(DEFAULT_SERVER_LIMITS.maxConnectionsPerAddress),
    )
    .addOption(
      new Option('--handshake-timeout <ms>', 'time a new connection has to finish the socket.io handshake')
        .env('ENIGMA_HANDSHAKE_TIMEOUT_MS')
        .argParser(integer(100, 600_000))
        .default(DEFAULT_SERVER_LIMITS.handshakeTimeoutMs),
    )
    .addOption(
      new Option('--login-timeout <ms>', 'time a connection has to log in before it is closed')
        .env('ENIGMA_LOGIN_TIMEOUT_MS')
        .argParser(integer(100, 3_600_000))
        .default(DEFAULT_SERVER_LIMITS.loginTimeoutMs),
    )
    .addOption(
      new Option('--max-sessions-per-user <count>', 'logged-in sessions of one user at a time')
        .env('ENIGMA_MAX_SESSIONS_PER_USER')
        .argParser(integer(1, 100_000))
        .default(DEFAULT_SERVER_LIMITS.maxSessionsPerUser),
    )
    .addOption(
      new Option('--max-buffered-bytes <bytes>', 'data queued for a client that stops reading before it is disconnected')
        .env('ENIGMA_MAX_BUFFERED_BYTES')
        .argParser(integer(64 * 1024, 2 ** 31))
        .default(DEFAULT_SERVER_LIMITS.maxBufferedBytes),
    )
    .addOption(
      new Option('--allowed-origins <origins>', 'comma-separated origins (https://chat.example) allowed to connect besides the server itself')
        .env('ENIGMA_ALLOWED_ORIGINS')
        .argParser(origins),
    )
    .addOption(
      new Option('--metrics-port <port>', 'serve /metrics, /healthz and /readyz over plain HTTP on this port; 0 picks a free one')
        .env('ENIGMA_METRICS_PORT')
        .argParser(integer(0, 65535)),
    )
    .addOption(
      new Option('--metrics-host <address>', 'address of the metrics listener (unauthenticated: loopback or a private network)')
        .env('ENIGMA_METRICS_HOST')
        .default('127.0.0.1'),
    )
    .addOption(
      new Option('--presence-grace <ms>', 'a user whose last connection dropped shows as online this long before others hear they left')
        .env('ENIGMA_PRESENCE_GRACE_MS')
        .argParser(integer(0, 600_000))
        .default(5000),
    )
    .addOption(
      new Option('--retention <duration>', 'delete messages older than this, e.g. 90d (s, m, h, d, w); default: keep every message')
        .env('ENIGMA_RETENTION')
        .argParser(retention),
    )
    .addOption(
      new Option('--account-quota <size>', 'bytes of messages one account may have stored (e.g. 256MiB, 1GiB); 0 = no quota')
        .env('ENIGMA_ACCOUNT_QUOTA')
        .argParser(size)
        .default(DEFAULT_ACCOUNT_QUOTA_BYTES, formatSize(DEFAULT_ACCOUNT_QUOTA_BYTES)),
    )
    .addOption(
      new Option('--registration <policy>', 'who may register: anyone, holders of an operator invite (console: invite create), or nobody')
        .env('ENIGMA_REGISTRATION')
        .choices(['open', 'invite', 'closed'])
        .default('open'),
    )
    .exitOverride()
    .configureOutput({ writeErr: (text) => process.stderr.write(text) });

  program.parse(argv as string[], { from: 'user' });
  const flags = program.opts<{
    host?: string;
    port: number;
    dataDir: string;
    database: string;
    databaseUrl?: string;
    redisUrl?: string;
    tlsCert?: string;
    tlsKey?: string;
    tls: boolean;
    history: number;
    logLevel: string;
    logFile?: string;
    pingInterval: number;
    pingTimeout: number;
    maxConnections: number;
    maxConnectionsPerAddress: number;
    handshakeTimeout: number;
    loginTimeout: number;
    maxSessionsPerUser: number;
    maxBufferedBytes: number;
    allowedOrigins?: string[];
    metricsPort?: number;
    metricsHost: string;
    registration: RegistrationPolicy;
    presenceGrace: number;
    retention?: number;
    accountQuota: number;
  }>();
  const tlsDisabled = flags.tls === false || env['ENIGMA_NO_TLS'] === '1';

  if ((flags.tlsCert === undefined) !== (flags.tlsKey === undefined)) {
    throw new UsageError('--tls-cert and --tls-key go together');
  }
  if (flags.redisUrl !== undefined && !/^rediss?:\/\//.test(flags.redisUrl)) {
    throw new UsageError('--redis-url must start with redis:// or rediss://');
  }
  if (flags.redisUrl !== undefined && !/^postgres(ql)?:\/\//.test(flags.databaseUrl ?? '')) {
    throw new UsageError('--redis-url needs --database-url postgres://...: nodes must share one database (a SQLite file cannot be shared)');
  }
  const dataDir = path.resolve(flags.dataDir);
  return {
    host: flags.host,
    port: flags.port,
    dataDir,
    database: flags.databaseUrl ?? resolveDatabase(flags.database, dataDir),
    redisUrl: flags.redisUrl,
    tls: tlsDisabled
      ? 'off'
      : flags.tlsCert !== undefined && flags.tlsKey !== undefined
        ? { certPath: path.resolve(flags.tlsCert), keyPath: path.resolve(flags.tlsKey) }
        : 'self-signed',
    history: flags.history,
    logLevel: flags.logLevel,
    logFile: flags.logFile,
    pingIntervalMs: flags.pingInterval,
    pingTimeoutMs: flags.pingTimeout,
    limits: {
      maxConnections: flags.maxConnections,
      maxConnectionsPerAddress: flags.maxConnectionsPerAddress,
      handshakeTimeoutMs: flags.handshakeTimeout,
      loginTimeoutMs: flags.loginTimeout,
      maxSessionsPerUser: flags.maxSessionsPerUser,
      maxBufferedBytes: flags.maxBufferedBytes,
      allowedOrigins: flags.allowedOrigins ?? [],
    },
    metricsPort: flags.metricsPort,
    metricsHost: flags.metricsHost,
    registration: flags.registration,
    presenceGraceMs: flags.presenceGrace,
    ...(flags.retention === undefined || flags.retention === 0 ? {} : { retentionMs: flags.retention }),
    accountQuotaBytes: flags.accountQuota,
  };
}
