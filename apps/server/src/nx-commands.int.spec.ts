import { afterEach, describe, expect, it } from '@jest/globals';
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { openTerminal, tmuxOrSkip, type Terminal } from '../../../tools/testing/terminal.mjs';

// The Nx commands the README gives an operator, typed as an operator types
// them: in a terminal, on a machine where Nx has never asked anything. The
// bugs these catch (a first-run prompt, Nx's task UI taking the keys meant
// for the server's console, a bare `nx run PROJECT` refused) only show on a
// terminal, so the server runs in a real one (tmux), not on a pipe.
const workspaceRoot = fileURLToPath(new URL('../../../', import.meta.url));
const nx = path.join(workspaceRoot, 'node_modules', '.bin', 'nx');
const tmux = tmuxOrSkip('Nx command');

/**
 * The environment of an operator's shell: not CI (Nx asks its questions and
 * draws its task UI only outside CI), no Nx UI preference of their own.
 */
function operatorEnvironment(extra: Record<string, string>): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env, ...extra };
  for (const name of ['CI', 'NX_TUI', 'NX_TUI_AUTO_EXIT', 'JEST_WORKER_ID']) delete env[name];
  return env;
}

describe("the README's Nx commands", () => {
  const cleanups: Array<() => Promise<void> | void> = [];
  afterEach(async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
  });

  it('should have nx.json settle usage analytics, so no first-run question stops a command', () => {
    const nxJson = JSON.parse(readFileSync(path.join(workspaceRoot, 'nx.json'), 'utf8')) as { analytics?: unknown };
    expect(nxJson.analytics).toBe(false);
  });

  (tmux === undefined ? it.skip : it)(
    'should give the operator the server console on `nx serve server` in a terminal: status answers, exit ends it',
    async () => {
      const dataDir = await mkdtemp(path.join(tmpdir(), 'enigma-nx-serve-'));
      cleanups.push(() => rm(dataDir, { recursive: true, force: true }));
      // NX_SKIP_NX_CACHE: the builds really run, as on a fresh clone. Nx 23
      // stopped forwarding the terminal to a task that ran after other tasks
      // that really ran (not from the cache): that case needs covering.
      const env = operatorEnvironment({
        ENIGMA_PORT: '0',
        ENIGMA_HOST: '127.0.0.1',
        ENIGMA_DATA_DIR: dataDir,
        ENIGMA_LOG_LEVEL: 'silent',
        NX_DAEMON: 'false',
        NX_SKIP_NX_CACHE: 'true',
      });
      const terminal: Terminal = openTerminal(tmux!, `'${nx}' serve server; echo "[nx exited with $?]"`, { cwd: workspaceRoot, env });
      cleanups.push(() => terminal.close());

      // Six builds first: about 25 s on 2 busy cores.
      await terminal.waitFor(/^type help for commands$/m, 150_000, 'the server console prompt');
      terminal.type('status');
      const [, port] = await terminal.waitFor(/^state: running, up since .*\n(?:listening on https:\/\/127\.0\.0\.1:(\d+)\n)/m, 15_000, 'the answer to status');
      expect(Number(port)).toBeGreaterThan(0);
      await terminal.waitFor(/^online: 0 users in 0 sessions$/m, 15_000, 'the end of the status answer');

      terminal.type('exit');
      await terminal.waitFor(/^bye$/m, 15_000, 'the server saying bye');
      await terminal.waitFor(/^\[nx exited with 0\]$/m, 30_000, 'nx exiting with status 0');
    },
    240_000,
  );

  it('should start the desktop app on the literal `nx run desktop-client` (here with --help, which exits)', async () => {
    // On a pipe: nothing here reads the terminal, and the app's own --help ends it.
    const { stdout } = await promisify(execFile)(nx, ['run', 'desktop-client', '--', '--help'], {
      cwd: workspaceRoot,
      env: { ...process.env, NX_DAEMON: 'false' },
      encoding: 'utf8',
      timeout: 150_000,
    });
    expect(stdout).toContain('usage: enigma [--server URL | --invite-file PATH | --invite -] [--no-window] [--profile-dir DIR]');
  }, 180_000);
});
