import 'reflect-metadata';
import { CommanderError } from 'commander';
import { retentionLine, startConsole } from './console.js';
import { createLogger } from './logger.js';
import { parseServerOptions } from './options.js';
import { EnigmaServer } from './server.js';

/** After this long a shutdown that has not finished is abandoned (exit 1, with what was still open). */
const FORCE_EXIT_MS = 5000;

const REGISTRATION_HINT = {
  open: 'open (anyone who reaches this server may register; see --registration)',
  invite: 'by invite only (console: invite create)',
  closed: 'closed (members log in; nobody new may register)',
} as const;

const out = (line: string): void => {
  process.stdout.write(`${line}\n`);
};

async function main(): Promise<void> {
  let options;
  try {
    options = parseServerOptions(process.argv.slice(2));
  } catch (error) {
    // Commander has printed its own message; a UsageError (flags that do not go together) has not.
    if (error instanceof CommanderError) process.exit(error.exitCode === 0 ? 0 : 2);
    process.stderr.write(`enigma-server: ${(error as Error).message}\n`);
    process.exit(2);
  }
  const log = createLogger(options.logLevel, options.logFile);
  if (options.tls === 'off') {
    out('WARNING: TLS is off (--no-tls). Passwords and session tokens cross the network in the clear.');
    out('WARNING: use this only behind a TLS-terminating proxy or on a development machine.');
  }

  let server: EnigmaServer;
  try {
    server = await EnigmaServer.start(options, log);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    const reason =
      code === 'EADDRINUSE'
        ? `port ${options.port} is already in use (try --port 0)`
        : code === 'EACCES'
          ? `not allowed to listen on port ${options.port}`
          : (error as Error).message;
    process.stderr.write(`enigma-server: could not start: ${reason}\n`);
    log.error({ err: error }, 'start failed');
    log.flush();
    process.exit(1);
  }

  const status = server.status();
  out('Enigma server (blind relay) is up');
  out(`database: ${status.database} (${await server.users.count()} users)`);
  out(`registration: ${REGISTRATION_HINT[status.registration]}`);
  out(retentionLine(await server.retention()));
  for (const url of status.urls) out(`listening on ${url}`);
  if (server.metricsUrl !== undefined) out(`metrics on ${server.metricsUrl}`);
  if (status.fingerprint !== undefined) out(`TLS certificate fingerprint (SHA-256): ${status.fingerprint}`);
  out('type help for commands');

  let exiting = false;
  const shutdown = (why: string): void => {
    if (exiting) return;
    exiting = true;
    out(`shutting down (${why})...`);
    // A clean shutdown takes well under 2 s (connections get SHUTDOWN_GRACE_MS);
    // if it ever hangs, say what it was waiting for instead of exiting silently.
    const force = setTimeout(() => {
      out(`shutdown did not finish in ${FORCE_EXIT_MS / 1000} s: still ${server.shutdownProgress() ?? 'finishing'}; exiting anyway`);
      log.flush();
      process.exit(1);
    }, FORCE_EXIT_MS);
    force.unref();
    server.close().then(
      () => {
        out('bye');
        log.flush();
        process.exit(0);
      },
      (error: unknown) => {
        log.error({ err: error }, 'shutdown failed');
        process.exit(1);
      },
    );
  };
  startConsole(server, process.stdin, out, () => shutdown('exit'));
  process.on('SIGINT', () => shutdown('SIGINT'));
  process.on('SIGTERM', () => shutdown('SIGTERM'));
}

void main();
