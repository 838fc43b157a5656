// Finds Debian's Chromium for playwright-core (no browser download here).
import { accessSync, constants } from 'node:fs';

const candidates = [process.env.ENIGMA_CHROMIUM, '/usr/bin/chromium', '/usr/bin/chromium-browser', '/usr/bin/google-chrome'].filter(Boolean);

export function findChromium() {
  for (const candidate of candidates) {
    try {
      accessSync(candidate, constants.X_OK);
      return candidate;
    } catch {
      /* next */
    }
  }
  if (process.env.CI) throw new Error(`CI must run the browser tests: no Chromium at ${candidates.join(', ')} (apt-get install chromium)`);
  console.warn(`\n*** SKIPPING browser tests: no Chromium at ${candidates.join(', ')}; install Debian's chromium ***\n`);
  return undefined;
}

export const chromiumArgs = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-background-networking',
  '--disable-quic',
  '--no-first-run',
  '--disable-component-update',
  '--disable-sync',
];
