import { Command, InvalidArgumentError, Option } from 'commander';
import path from 'node:path';
import type { ThrottleOptions } from '@enigma/auth-store';

/** Everything the operator can set, from flags or ENIGMA_* environment variables. */
export interface ServerOptions {
  host: string | undefined;
  port: number;
  dataDir: string;
  /** A SQLite file (absolute) or a postgres:// URL. */
  database: string;
  tls: { certPath: string; keyPath: string } | 'self-signed' | 'off';
  history: number;
  logLevel: string;
  logFile: string | undefined;
  /** Heartbeat: a connection silent for interval + timeout (a sleeping laptop, a dead NAT entry) is dropped. */
  pingIntervalMs: number;
  pingTimeoutMs: number;
  /** Throttle settings (no flags: embedding code and tests set them). */
  throttle?: Partial<ThrottleOptions>;
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

/** Resolves a database argument: a postgres URL as is, a bare name inside the data dir, a path as a path. */
export function resolveDatabase(database: string, dataDir: string): string {
  if (/^postgres(ql)?:\/\//.test(database)) return database;
  return path.isAbsolute(database) || database.includes(path.sep) ? path.resolve(database) : path.resolve(dataDir, database);
}

export function parseServerOptions(argv: readonly string[], env: NodeJS.ProcessEnv = process.env): ServerOptions {
  const program = new Command('enigma-server')
    .description('Enigma: a blind relay for Fernet-encrypted group chat')
    .addOption(new Option('--host <address>', 'address to listen on (default: all interfaces)').env('ENIGMA_HOST'))
    .addOption(new Option('--port <port>', 'port to listen on; 0 picks a free one').env('ENIGMA_PORT').argParser(integer(0, 65535)).default(7777))
    .addOption(new Option('--data-dir <dir>', 'where the database and TLS files live').env('ENIGMA_DATA_DIR').default('./data'))
    .addOption(new Option('--database <file-or-url>', 'SQLite file (name in the data dir, or a path)').env('ENIGMA_DATABASE').default('accounts.db'))
    .addOption(new Option('--database-url <url>', 'postgres://... to use PostgreSQL instead of SQLite').env('ENIGMA_DATABASE_URL'))
    .addOption(new Option('--tls-cert <file>', 'PEM certificate (default: a self-signed one made on first start)').env('ENIGMA_TLS_CERT'))
    .addOption(new Option('--tls-key <file>', 'PEM private key for --tls-cert').env('ENIGMA_TLS_KEY'))
    .addOption(new Option('--no-tls', 'serve plain HTTP/WS (only behind a TLS-terminating proxy or for development)'))
    .addOption(new Option('--history <count>', 'messages of backlog sent on login').env('ENIGMA_HISTORY').argParser(integer(0, 10_000)).default(100))
    .addOption(new Option('--log-level <level>', 'structured log level').env('ENIGMA_LOG_LEVEL').choices(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'))
    .addOption(new Option('--ping-interval <ms>', 'how often the server checks that a connection is alive').env('ENIGMA_PING_INTERVAL_MS').argParser(integer(100, 600_000)).default(20_000))
    .addOption(new Option('--ping-timeout <ms>', 'how long a silent connection may take to answer before it is dropped').env('ENIGMA_PING_TIMEOUT_MS').argParser(integer(100, 600_000)).default(20_000))
    .addOption(new Option('--log-file <file>', 'write structured logs here instead of stderr').env('ENIGMA_LOG_FILE'))
    .exitOverride()
    .configureOutput({ writeErr: (text) => process.stderr.write(text) });

  program.parse(argv as string[], { from: 'user' });
  const flags = program.opts<{
    host?: string;
    port: number;
    dataDir: string;
    database: string;
    databaseUrl?: string;
    tlsCert?: string;
    tlsKey?: string;
    tls: boolean;
    history: number;
    logLevel: string;
    logFile?: string;
    pingInterval: number;
    pingTimeout: number;
  }>();
  const tlsDisabled = flags.tls === false || env['ENIGMA_NO_TLS'] === '1';

  if ((flags.tlsCert === undefined) !== (flags.tlsKey === undefined)) {
    throw new InvalidArgumentError('--tls-cert and --tls-key go together');
  }
  const dataDir = path.resolve(flags.dataDir);
  return {
    host: flags.host,
    port: flags.port,
    dataDir,
    database: flags.databaseUrl ?? resolveDatabase(flags.database, dataDir),
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
  };
}
