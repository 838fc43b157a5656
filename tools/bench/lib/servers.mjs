// Starts a server under test (Enigma or a baseline) as its own process and
// reads its health through the same console commands an operator would use.
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { runProcess, serverEntry } from '../../testing/processes.mjs';

const baselineEntry = (name) => fileURLToPath(new URL(`../servers/${name}.mjs`, import.meta.url));

/** The three kinds of server every scenario can compare. */
export const SERVER_KINDS = {
  enigma: { label: 'Enigma', entry: serverEntry },
  socketio: { label: 'bare socket.io', entry: baselineEntry('bare-socketio') },
  ws: { label: 'bare ws', entry: baselineEntry('bare-ws') },
};

/** Every child process the bench started, so an interrupted run can end them. */
export const children = new Set();

const STATS_LINE = /^stats: event loop delay p50 ([\d.]+) ms, p99 ([\d.]+) ms, max ([\d.]+) ms; rss (\d+) B; heap (\d+) B; sessions (\d+)/;

/**
 * @param {'enigma'|'socketio'|'ws'} kind
 * @param {{ dataDir?: string, args?: string[], nodeFlags?: string[] }} options dataDir is required for
 *   Enigma; args are extra server flags (e.g. --history 0); nodeFlags e.g. --cpu-prof
 */
export async function startServer(kind, { dataDir, args: extraArgs = [], nodeFlags = [] } = {}) {
  const { entry } = SERVER_KINDS[kind];
  // --no-tls: the baselines speak plain HTTP/WS, so Enigma does too (TLS would
  // add the same cost to every server and only blur the comparison).
  const args = kind === 'enigma' ? ['--port', '0', '--host', '127.0.0.1', '--data-dir', dataDir, '--no-tls', ...extraArgs] : [];
  const program = runProcess(process.execPath, [...nodeFlags, entry, ...args]);
  children.add(program.child);
  void program.exited.then(() => children.delete(program.child));
  const [, url] = await program.waitFor(/listening on (http:\/\/127\.0\.0\.1:\d+)/);
  const pid = program.child.pid;

  return {
    kind,
    url,
    pid,
    /** Sends `stats` and parses the answer (resets Enigma's event-loop histogram). */
    async stats() {
      const m = STATS_LINE.exec(await this.console('stats', STATS_LINE));
      return { loopP50Ms: +m[1], loopP99Ms: +m[2], loopMaxMs: +m[3], rssBytes: +m[4], heapBytes: +m[5], sessions: +m[6] };
    },
    /** Sends a console command; resolves with the whole first line it prints that matches `pattern`. */
    async console(command, pattern) {
      const from = program.lines.length;
      program.command(command);
      const timeout = new Promise((_, reject) => setTimeout(() => reject(new Error(`${kind}: no answer to ${command}`)), 10_000).unref());
      return (await Promise.race([program.waitFor(pattern, from), timeout])).input;
    },
    /** CPU seconds used so far (user + system), from /proc: works for every server kind. */
    cpuSeconds() {
      const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
      return (Number(fields[11]) + Number(fields[12])) / 100; // utime, stime in clock ticks (USER_HZ = 100)
    },
    /** Resident set size from /proc, independent of the server's own report. */
    vmRssBytes() {
      const match = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
      return Number(match[1]) * 1024;
    },
    stderr: () => program.stderr,
    async stop() {
      program.command('exit');
      const timeout = new Promise((r) => setTimeout(r, 5000, 'timeout'));
      if ((await Promise.race([program.exited, timeout])) === 'timeout') await program.stop();
    },
  };
}
