import { afterEach, describe, expect, it } from '@jest/globals';
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createInterface, type Interface } from 'node:readline';
import { fileURLToPath } from 'node:url';

// The real program, as an operator runs it: `node dist/main.js`, console on a pipe.
const entry = fileURLToPath(new URL('../dist/main.js', import.meta.url));

interface Running {
  child: ChildProcessWithoutNullStreams;
  lines: string[];
  waitFor(pattern: RegExp): Promise<string>;
  exited: Promise<number | null>;
}

function run(args: string[]): Running {
  const child = spawn(process.execPath, [entry, ...args], { stdio: 'pipe', env: { ...process.env, ENIGMA_LOG_LEVEL: 'silent' } });
  const lines: string[] = [];
  const waiters: Array<{ pattern: RegExp; resolve: (line: string) => void }> = [];
  const reader: Interface = createInterface({ input: child.stdout });
  reader.on('line', (line) => {
    lines.push(line);
    for (const waiter of [...waiters]) {
      if (waiter.pattern.test(line)) {
        waiters.splice(waiters.indexOf(waiter), 1);
        waiter.resolve(line);
      }
    }
  });
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  return {
    child,
    lines,
    exited,
    waitFor: (pattern) => {
      const seen = lines.find((line) => pattern.test(line));
      if (seen !== undefined) return Promise.resolve(seen);
      return new Promise((resolve, reject) => {
        waiters.push({ pattern, resolve });
        void exited.then(() => reject(new Error(`exited before printing ${pattern}; output:\n${lines.join('\n')}`)));
      });
    },
  };
}

describe('enigma-server, run from a console', () => {
  let dataDir: string;
  let running: Running | undefined;

  afterEach(async () => {
    if (running !== undefined && running.child.exitCode === null) {
      running.child.kill('SIGKILL');
      await running.exited;
    }
    await rm(dataDir, { recursive: true, force: true });
  });

  it('should print where it listens, its fingerprint and database, survive EOF on stdin, obey commands and exit 0', async () => {
    dataDir = await mkdtemp(path.join(tmpdir(), 'enigma-main-'));
    running = run(['--port', '0', '--data-dir', dataDir]);
    const listening = await running.waitFor(/listening on https:\/\/127\.0\.0\.1:\d+/);
    const port = Number(/:(\d+)$/.exec(listening)![1]);
    expect(port).toBeGreaterThan(0);
    expect(await running.waitFor(/fingerprint/)).toMatch(/([0-9A-F]{2}:){31}[0-9A-F]{2}/);
    expect(await running.waitFor(/^database: /)).toContain(`${path.join(dataDir, 'accounts.db')} (0 users)`);
    await running.waitFor(/type help for commands/);

    running.child.stdin.write('help\nstatus\nwho\nstats\nbogus\nkick\n');
    expect(await running.waitFor(/^stats: /)).toMatch(/event loop delay p50 [\d.]+ ms, p99 [\d.]+ ms.*sessions 0$/);
    await running.waitFor(/unknown command "bogus"/);
    await running.waitFor(/^usage: kick NAME or kick #ID \(ids: users\)$/);
    expect(running.lines).toEqual(expect.arrayContaining([expect.stringMatching(/^\s+database \[name\.db\]/), 'nobody is online']));

    running.child.stdin.end(); // EOF: the server keeps running
    running.child.kill('SIGTERM');
    expect(await running.exited).toBe(0);
    expect(running.lines).toContain('bye');
  }, 60_000);

  it('should reuse its certificate on the next start (same fingerprint) and exit on the exit command', async () => {
    dataDir = await mkdtemp(path.join(tmpdir(), 'enigma-main-'));
    const first = run(['--port', '0', '--data-dir', dataDir]);
    running = first;
    const fingerprint = await first.waitFor(/fingerprint/);
    first.child.stdin.write('exit\n');
    expect(await first.exited).toBe(0);

    running = run(['--port', '0', '--data-dir', dataDir]);
    expect(await running.waitFor(/fingerprint/)).toBe(fingerprint);
    running.child.stdin.write('exit\n');
    expect(await running.exited).toBe(0);
  }, 60_000);

  it('should refuse a bad flag with one clear line and exit 2', async () => {
    dataDir = await mkdtemp(path.join(tmpdir(), 'enigma-main-'));
    const child = spawn(process.execPath, [entry, '--port', 'seventy'], { stdio: 'pipe' });
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
    expect(code).toBe(2);
    expect(stderr).toMatch(/--port.*whole number/);
    expect(stderr).not.toMatch(/\n\s+at /); // no stack trace
  });

  it('should refuse to cluster on a SQLite file, and say so clearly when Redis is not there', async () => {
    dataDir = await mkdtemp(path.join(tmpdir(), 'enigma-main-'));
    const run = async (args: string[]): Promise<{ code: number | null; stderr: string }> => {
      const child = spawn(process.execPath, [entry, '--port', '0', '--data-dir', dataDir!, ...args], { stdio: 'pipe' });
      let stderr = '';
      child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
      const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
      return { code, stderr };
    };
    const sqlite = await run(['--redis-url', 'redis://127.0.0.1:1']);
    expect(sqlite.code).toBe(2);
    expect(sqlite.stderr).toMatch(/--redis-url needs --database-url postgres:\/\//);
    // Port 1 on loopback: nothing listens there.
    const noRedis = await run(['--redis-url', 'redis://127.0.0.1:1', '--database-url', 'postgres://nobody@127.0.0.1:1/enigma']);
    expect(noRedis.code).toBe(1);
    expect(noRedis.stderr).toMatch(/could not start: cannot reach Redis at 127\.0\.0\.1:1/);
    expect(noRedis.stderr).not.toMatch(/\n\s+at /);
  }, 30_000);
});
