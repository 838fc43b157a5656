// Real Redis and PostgreSQL servers for the tests that need them: private
// instances on free ports in temporary directories, started from Debian's
// binaries and stopped afterwards. Never a mock. When a binary is missing the
// caller skips loudly, except under CI, where .ci/run installs them.
import { execFileSync, spawn } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { chmod, chown, mkdtemp, rm } from 'node:fs/promises';
import net from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createInterface } from 'node:readline';

async function freePort() {
  const server = net.createServer();
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = /** @type {net.AddressInfo} */ (server.address());
  await new Promise((resolve) => server.close(resolve));
  return port;
}

function which(command) {
  try {
    return execFileSync('sh', ['-c', `command -v ${command}`], { encoding: 'utf8' }).trim() || undefined;
  } catch {
    return undefined;
  }
}

/** Starts a child and resolves once a line of its output matches `ready`. */
function startUntilReady(command, args, ready, what) {
  const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  const output = [];
  return new Promise((resolve, reject) => {
    const onLine = (line) => {
      output.push(line);
      if (ready.test(line)) resolve(child);
    };
    createInterface({ input: child.stdout }).on('line', onLine);
    createInterface({ input: child.stderr }).on('line', onLine);
    child.once('exit', (code) => reject(new Error(`${what} exited (${code}) before it was ready:\n${output.join('\n')}`)));
  });
}

async function stopChild(child) {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((resolve) => child.once('exit', resolve));
  child.kill('SIGTERM');
  await exited;
}

/** Why a service cannot be started here, or undefined when it can. */
export function missingService(name) {
  if (name === 'redis') return which('redis-server') === undefined ? 'redis-server is not installed (Debian: redis-server)' : undefined;
  return postgresBin() === undefined ? 'PostgreSQL is not installed (Debian: postgresql)' : undefined;
}

/**
 * Skips (loudly) when the service cannot run here; under CI it must.
 * @returns {boolean} true when the tests should run
 */
export function serviceOrSkip(name) {
  const reason = missingService(name);
  if (reason === undefined) return true;
  if (process.env.CI) throw new Error(`CI must run the ${name} tests: ${reason}`);
  console.warn(`\n*** SKIPPING ${name} tests: ${reason} ***\n`);
  return false;
}

export async function startRedis() {
  const port = await freePort();
  const child = await startUntilReady(
    which('redis-server'),
    ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'],
    /Ready to accept connections/,
    'redis-server',
  );
  return {
    url: `redis://127.0.0.1:${port}`,
    port,
    stop: () => stopChild(child),
    /** Kills it with SIGKILL (a crash, for the failure tests); resolves once it is gone. */
    async kill() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.kill('SIGKILL');
      await exited;
    },
  };
}

function postgresBin() {
  const root = '/usr/lib/postgresql';
  if (!existsSync(root)) return undefined;
  const versions = readdirSync(root).filter((v) => existsSync(path.join(root, v, 'bin', 'initdb')));
  versions.sort((a, b) => Number(b) - Number(a));
  return versions[0] === undefined ? undefined : path.join(root, versions[0], 'bin');
}

/** A throwaway PostgreSQL cluster (trust auth on loopback, fsync off: test data only). */
export async function startPostgres() {
  const bin = postgresBin();
  const dir = await mkdtemp(path.join(tmpdir(), 'enigma-pg-'));
  const data = path.join(dir, 'data');
  // PostgreSQL refuses to run as root: run it as the `postgres` user then.
  const asRoot = process.getuid?.() === 0;
  const run = (command, args) => (asRoot ? ['runuser', ['-u', 'postgres', '--', command, ...args]] : [command, args]);
  if (asRoot) {
    await chown(
      dir,
      Number(execFileSync('id', ['-u', 'postgres'], { encoding: 'utf8' })),
      Number(execFileSync('id', ['-g', 'postgres'], { encoding: 'utf8' })),
    );
  }
  await chmod(dir, 0o700);
  const [initCommand, initArgs] = run(path.join(bin, 'initdb'), ['-D', data, '-U', 'enigma', '--auth=trust', '-E', 'UTF8', '--no-sync']);
  execFileSync(initCommand, initArgs, { stdio: 'ignore' });
  const port = await freePort();
  const [command, args] = run(path.join(bin, 'postgres'), [
    '-D',
    data,
    '-p',
    String(port),
    '-k',
    dir,
    '-c',
    'listen_addresses=127.0.0.1',
    '-c',
    'fsync=off',
    '-c',
    'max_connections=200',
  ]);
  const child = await startUntilReady(command, args, /ready to accept connections/, 'postgres');
  const url = `postgres://enigma@127.0.0.1:${port}/postgres`;
  let databases = 0;
  return {
    url,
    port,
    /** A fresh, empty database on this server (one per test); returns its URL. */
    async createDatabase() {
      const { default: pg } = await import('pg');
      const admin = new pg.Client(url);
      await admin.connect();
      const name = `enigma_${process.pid}_${databases++}`;
      try {
        await admin.query(`CREATE DATABASE ${name}`);
      } finally {
        await admin.end();
      }
      return url.replace(/\/postgres$/, `/${name}`);
    },
    async stop() {
      await stopChild(child);
      await rm(dir, { recursive: true, force: true });
    },
  };
}
