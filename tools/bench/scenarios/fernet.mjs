// Scenario 3, Fernet: encryptions and decryptions per second for a chat-sized
// (100 B) and a large (4 KiB) message, for ours (@enigma/crypto on
// node:crypto), the npm `fernet` package (crypto-js) and Python's
// `cryptography`. Rounds are interleaved (ours, npm, Python, ours, ...) so a
// busy moment on the machine does not land on one implementation only.
import { spawnSync } from 'node:child_process';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { Fernet, generateKey } from '@enigma/crypto';
import { findPython } from '../../testing/python.mjs';
import { log, median, ratio, round, waitForQuietMachine } from '../lib/util.mjs';

const require = createRequire(import.meta.url);
const npmFernet = require('fernet');
const pythonScript = fileURLToPath(new URL('../fernet_bench.py', import.meta.url));
const SIZES = [100, 4096];

/** Calls `operation` for about `seconds`; returns calls per second. */
function rate(operation, seconds) {
  let count = 0;
  const started = performance.now();
  const deadline = started + seconds * 1000;
  for (;;) {
    for (let i = 0; i < 64; i++) operation();
    count += 64;
    const now = performance.now();
    if (now >= deadline) return count / ((now - started) / 1000);
  }
}

/** One round of both Node implementations: { ours: { size: { encrypt, decrypt } }, npm: ... }. */
function nodeRound(seconds) {
  const key = generateKey();
  const ours = new Fernet(key);
  const secret = new npmFernet.Secret(key);
  const result = { ours: {}, npm: {} };
  for (const size of SIZES) {
    const message = 'm'.repeat(size);
    const ourToken = ours.encrypt(message);
    result.ours[size] = { encrypt: rate(() => ours.encrypt(message), seconds), decrypt: rate(() => ours.decrypt(ourToken), seconds) };
    // The npm package's API: a Token object per operation.
    const npmToken = new npmFernet.Token({ secret, ttl: 0 }).encode(message);
    result.npm[size] = {
      encrypt: rate(() => new npmFernet.Token({ secret, ttl: 0 }).encode(message), seconds),
      decrypt: rate(() => new npmFernet.Token({ secret, token: npmToken, ttl: 0 }).decode(), seconds),
    };
  }
  return result;
}

/** The Python the interop tests use (tools/testing), with its versions; or why there is none. */
function pythonWithCryptography() {
  const found = findPython(['cryptography']);
  if (found.python === undefined) return found;
  const probe = spawnSync(found.python, ['-c', 'import sys, cryptography; print(sys.version.split()[0], cryptography.__version__)'], { encoding: 'utf8' });
  const [version, cryptography] = probe.stdout.trim().split(' ');
  return { python: found.python, version, cryptography };
}

export async function fernet({ quick }) {
  const rounds = quick ? 3 : 5;
  const seconds = quick ? 0.1 : 0.3;
  const python = pythonWithCryptography();
  if (!python.python) log(`fernet: ${python.reason}; Python figures will be null`);
  const samples = { ours: [], npm: [], python: [] };
  for (let round = 0; round < rounds; round++) {
    await waitForQuietMachine({ maxWaitMs: quick ? 1000 : 3000 });
    const node = nodeRound(seconds);
    samples.ours.push(node.ours);
    samples.npm.push(node.npm);
    if (python.python) {
      const run = spawnSync(python.python, [pythonScript, String(seconds), SIZES.join(',')], { encoding: 'utf8' });
      if (run.status === 0) samples.python.push(JSON.parse(run.stdout));
      else log(`fernet: python round failed: ${run.stderr.slice(0, 300)}`);
    }
  }
  const med = (impl, size, op) => (samples[impl].length ? round(median(samples[impl].map((s) => s[size][op]))) : null);
  const bySize = {};
  for (const size of SIZES) {
    const figures = {
      encryptPerSec: med('ours', size, 'encrypt'),
      decryptPerSec: med('ours', size, 'decrypt'),
      npmFernetEncryptPerSec: med('npm', size, 'encrypt'),
      npmFernetDecryptPerSec: med('npm', size, 'decrypt'),
      pythonEncryptPerSec: med('python', size, 'encrypt'),
      pythonDecryptPerSec: med('python', size, 'decrypt'),
    };
    figures.ratioVsPython = {
      encrypt: ratio(figures.encryptPerSec, figures.pythonEncryptPerSec),
      decrypt: ratio(figures.decryptPerSec, figures.pythonDecryptPerSec),
    };
    figures.ratioVsNpmFernet = {
      encrypt: ratio(figures.encryptPerSec, figures.npmFernetEncryptPerSec),
      decrypt: ratio(figures.decryptPerSec, figures.npmFernetDecryptPerSec),
    };
    bySize[size] = figures;
  }
  const ratios = SIZES.flatMap((size) => [bySize[size].ratioVsPython.encrypt, bySize[size].ratioVsPython.decrypt]);
  return {
    // Top-level figures: the 100-byte message (a typical chat line).
    messageBytes: 100,
    ...bySize[100],
    ratioVsPython: { ...bySize[100].ratioVsPython, worstOfAllSizes: ratios.includes(null) ? null : Math.min(...ratios) },
    bySize,
    rounds,
    secondsPerMeasurement: seconds,
    python: python.python
      ? { executable: python.python, version: python.version, cryptography: python.cryptography }
      : { executable: null, reason: python.reason },
  };
}
