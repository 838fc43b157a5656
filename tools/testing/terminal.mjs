// A real terminal for tests of what an operator types: a command runs in a
// detached tmux session (its own tmux server, on a private socket), the test
// types into it with send-keys and reads the screen with capture-pane. A pipe
// would not do: Nx, like many tools, behaves differently when stdin is not a
// TTY, and the bugs this catches only show up on a terminal.
import { execFileSync, spawnSync } from 'node:child_process';
import { setTimeout as delay } from 'node:timers/promises';

const TMUX = ['/usr/bin/tmux', '/usr/local/bin/tmux'];

/** The tmux binary, or undefined when there is none. */
export function findTmux() {
  for (const candidate of TMUX) {
    if (spawnSync(candidate, ['-V'], { stdio: 'ignore' }).status === 0) return candidate;
  }
  return undefined;
}

/**
 * tmux for a suite; when there is none it prints a loud reason and returns
 * undefined (the caller skips), except under CI, where .ci/run installs it.
 */
export function tmuxOrSkip(what) {
  const tmux = findTmux();
  if (tmux !== undefined) return tmux;
  const reason = `no tmux at ${TMUX.join(', ')} (Debian: tmux)`;
  if (process.env.CI) throw new Error(`CI must run the ${what} tests: ${reason}`);
  console.warn(`\n*** SKIPPING ${what} tests: ${reason} ***\n`);
  return undefined;
}

let sessions = 0;

/**
 * Runs `shellCommand` (sh -c) in a new terminal of 200x50 in `cwd`, with `env`
 * as its whole environment. The pane stays after the command ends, so its
 * last words can still be read.
 * @param {string} tmux
 * @param {string} shellCommand
 * @param {{ cwd: string, env: NodeJS.ProcessEnv }} options
 */
export function openTerminal(tmux, shellCommand, { cwd, env }) {
  const socket = `enigma-test-${process.pid}-${sessions++}`;
  const run = (...args) => execFileSync(tmux, ['-L', socket, ...args], { encoding: 'utf8', env, stdio: ['ignore', 'pipe', 'pipe'] });
  // -f /dev/null: the user's ~/.tmux.conf plays no part.
  execFileSync(tmux, ['-L', socket, '-f', '/dev/null', 'new-session', '-d', '-s', 'test', '-x', '200', '-y', '50', '-c', cwd, 'sh', '-c', shellCommand], {
    env,
    stdio: 'ignore',
  });
  run('set-option', '-t', 'test', 'remain-on-exit', 'on');
  run('set-option', '-t', 'test', 'history-limit', '5000');
  const screen = () => run('capture-pane', '-p', '-J', '-S', '-', '-t', 'test');
  return {
    screen,
    /** Types a line and Enter, as the operator would. */
    type(line) {
      run('send-keys', '-t', 'test', '-l', line);
      run('send-keys', '-t', 'test', 'Enter');
    },
    /**
     * Waits until the screen (scrollback included) matches, or fails at the
     * deadline with what the screen shows. Polls: a terminal has no events.
     */
    async waitFor(pattern, timeoutMs, what = String(pattern)) {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const text = screen();
        const match = pattern.exec(text);
        if (match) return match;
        if (Date.now() > deadline)
          throw new Error(`the terminal never showed ${what} within ${timeoutMs / 1000} s; it shows:\n${text.replace(/\n{3,}/g, '\n\n')}`);
        await delay(250);
      }
    },
    /** Ends the tmux server and everything running in it. */
    close() {
      spawnSync(tmux, ['-L', socket, 'kill-server'], { stdio: 'ignore' });
    },
  };
}
