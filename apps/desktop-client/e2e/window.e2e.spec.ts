import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { spawnSync } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { desktopEntry, runProcess, startServerProcess, type Program } from '../../../tools/testing/processes.mjs';

// The app as a user starts it: no --no-window, a real Chromium app window on
// an X display (Xvfb). CI installs xvfb and chromium; elsewhere this skips loudly.
const xvfb = spawnSync('sh', ['-c', 'command -v xvfb-run && command -v chromium'], { encoding: 'utf8' }).status === 0;
if (!xvfb) {
  if (process.env['CI']) throw new Error('CI must run the app-window test: install xvfb and chromium');
  console.warn('\n*** SKIPPING the app-window test: xvfb-run or chromium is missing (apt-get install xvfb chromium) ***\n');
}

(xvfb ? describe : describe.skip)('the desktop app in a real window', () => {
  let work: string;
  let server: { program: Program; url: string };

  beforeAll(async () => {
    work = await mkdtemp(path.join(tmpdir(), 'enigma-window-'));
    server = await startServerProcess(path.join(work, 'server'));
  });
  afterAll(async () => {
    await server.program.stop();
    await rm(work, { recursive: true, force: true });
  });

  it('should open a Chromium app window that loads the UI, and exit cleanly when the window closes', async () => {
    const app = runProcess('xvfb-run', ['-a', process.execPath, desktopEntry, '--profile-dir', path.join(work, 'profile'), '--server', server.url]);
    try {
      await app.waitFor(/^Enigma window opened$/);
      await app.waitFor(/^UI connected$/); // the page loaded and opened its bridge
      // Close the window the way a window manager would: end the browser.
      spawnSync('pkill', ['-f', `user-data-dir=${path.join(work, 'profile', 'window')}`]);
      await app.waitFor(/^Enigma window closed$/);
      expect(await app.exited).toBe(0);
    } finally {
      await app.stop();
    }
  }, 60_000);
});
