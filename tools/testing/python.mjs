// Finds a Python 3 interpreter that has the given modules, for interop tests.
// Tries $ENIGMA_PYTHON, then `python3` on PATH, then Debian's /usr/bin/python3
// (where .ci/run installs python3-cryptography and python3-socketio).
import { spawnSync } from 'node:child_process';

/**
 * @param {string[]} modules Python modules the test needs, e.g. ['cryptography']
 * @returns {{ python: string } | { python: undefined, reason: string }}
 */
export function findPython(modules) {
  const candidates = [process.env.ENIGMA_PYTHON, 'python3', '/usr/bin/python3'].filter(Boolean);
  const probe = modules.map((m) => `import ${m}`).join('; ') || 'pass';
  for (const python of candidates) {
    const result = spawnSync(python, ['-c', probe], { encoding: 'utf8' });
    if (result.status === 0) return { python };
  }
  return {
    python: undefined,
    reason: `no python3 with ${modules.join(', ')} (tried ${candidates.join(', ')}); install Debian's python3-${modules.join(' python3-')}`,
  };
}

/**
 * Declares a Jest suite that needs Python; when none is found it prints a loud
 * reason and skips, except under CI, where a missing tool is a failure.
 * @param {string[]} modules
 */
export function pythonOrSkip(modules) {
  const found = findPython(modules);
  if (found.python === undefined) {
    if (process.env.CI) throw new Error(`CI must run the Python interop tests: ${found.reason}`);
    console.warn(`\n*** SKIPPING Python interop tests: ${found.reason} ***\n`);
  }
  return found.python;
}
