// Runs the real programs (server, desktop client) as child processes for
// end-to-end tests, reading their stdout line by line.
import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';

export const serverEntry = fileURLToPath(new URL('../../apps/server/dist/main.js', import.meta.url));
export const desktopEntry = fileURLToPath(new URL('../../apps/desktop-client/dist/main.js', import.meta.url));

/**
 * A Node program of ours.
 * @param {string} entry
 * @param {string[]} args
 * @param {NodeJS.ProcessEnv} [env]
 */
export function runProgram(entry, args, env = {}) {
  return runProcess(process.execPath, [entry, ...args], env);
}

/**
 * Any command, stdout read line by line.
 * @param {string} command
 * @param {string[]} args
 * @param {NodeJS.ProcessEnv} [env]
 */
export function runProcess(command, args, env = {}) {
  const child = spawn(command, args, { stdio: 'pipe', env: { ...process.env, ENIGMA_LOG_LEVEL: 'silent', ...env } });
  const lines = [];
  const waiters = [];
  let stderr = '';
  child.stderr.on('data', (chunk) => (stderr += chunk.toString()));
  createInterface({ input: child.stdout }).on('line', (line) => {
    lines.push(line);
    for (const waiter of [...waiters]) {
      const match = waiter.pattern.exec(line);
      if (match) {
        waiters.splice(waiters.indexOf(waiter), 1);
        waiter.resolve(match);
      }
    }
  });
  const exited = new Promise((resolve) => child.once('exit', (code) => resolve(code)));
  return {
    child,
    lines,
    exited,
    get stderr() {
      return stderr;
    },
    /** Resolves with the first line (past, from line `from` on, or future) matching the pattern. */
    waitFor(pattern, from = 0) {
      for (const line of lines.slice(from)) {
        const match = pattern.exec(line);
        if (match) return Promise.resolve(match);
      }
      return new Promise((resolve, reject) => {
        waiters.push({ pattern, resolve });
        void exited.then(() => reject(new Error(`exited before printing ${pattern}:\n${lines.join('\n')}\n${stderr}`)));
      });
    },
    command(line) {
      child.stdin.write(`${line}\n`);
    },
    async stop() {
      if (child.exitCode === null && child.signalCode === null) {
        child.kill('SIGTERM');
        await exited;
      }
    },
  };
}

/** Starts the server on a free port; resolves with its URL and fingerprint. */
export async function startServerProcess(dataDir, extraArgs = []) {
  const program = runProgram(serverEntry, ['--port', '0', '--host', '127.0.0.1', '--data-dir', dataDir, ...extraArgs]);
  const [, url] = await program.waitFor(/listening on (https?:\/\/127\.0\.0\.1:\d+)/);
  const fingerprintLine = extraArgs.includes('--no-tls') ? undefined : await program.waitFor(/fingerprint \(SHA-256\): (\S+)/);
  return { program, url, fingerprint: fingerprintLine?.[1] };
}

/**
 * Runs a console command and resolves with every line it printed, once
 * `last` matches one of them. A `stats` after it marks the end: the
 * console prints a command's lines in one go, before it reads the next.
 */
export async function consoleCommand(program, command, last) {
  const from = program.lines.length;
  program.command(command);
  await program.waitFor(last, from);
  program.command('stats');
  await program.waitFor(/^stats: /, from);
  return program.lines.slice(from).filter((line) => !line.startsWith('stats: '));
}

/** The console's retention line (`status`), parsed. */
export async function retentionState(program) {
  const from = program.lines.length;
  program.command('status');
  const [line] = await program.waitFor(/^retention: .*/, from);
  return { line, prunedBefore: Number(/before seq (\d+)/.exec(line)?.[1] ?? 0), pruning: line.includes('pruning now') };
}

/** Asks `status` until the server reports everything below `seq` deleted and no round running. */
export async function untilPruned(program, seq) {
  for (;;) {
    const state = await retentionState(program);
    if (state.prunedBefore >= seq && !state.pruning) return;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}
