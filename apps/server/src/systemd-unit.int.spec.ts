import { afterEach, describe, expect, it } from '@jest/globals';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { request } from 'node:https';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { runProcess, serverEntry, type Program } from '../../../tools/testing/processes.mjs';

// deploy/enigma.service, the unit docs/operations.md tells operators to
// install: systemd accepts it, it keeps its sandbox, and the server started
// the way it starts it (no terminal, stdin at EOF, its flags) keeps serving
// and stops with exit 0 on SIGTERM, which systemd reads as a clean stop.
const workspaceRoot = fileURLToPath(new URL('../../../', import.meta.url));
const unitPath = path.join(workspaceRoot, 'deploy', 'enigma.service');
const INSTALLED_ENTRY = '/opt/enigma/apps/server/dist/main.js';

function systemdAnalyze(): string | undefined {
  for (const candidate of ['/usr/bin/systemd-analyze', '/bin/systemd-analyze']) {
    if (spawnSync(candidate, ['--version'], { stdio: 'ignore' }).status === 0) return candidate;
  }
  const reason = 'no systemd-analyze (Debian: systemd)';
  if (process.env['CI']) throw new Error(`CI must run the systemd unit tests: ${reason}`);
  console.warn(`\n*** SKIPPING systemd-analyze checks of deploy/enigma.service: ${reason} ***\n`);
  return undefined;
}
const analyze = systemdAnalyze();

/** Every `Key=value` of the [Service] section, in order (a key may repeat). */
function serviceSettings(unit: string): Array<[string, string]> {
  const settings: Array<[string, string]> = [];
  let section = '';
  for (const raw of unit.split('\n')) {
    const line = raw.trim();
    if (line === '' || line.startsWith('#') || line.startsWith(';')) continue;
    const header = /^\[(.+)\]$/.exec(line);
    if (header !== null) section = header[1]!;
    else if (section === 'Service') {
      const eq = line.indexOf('=');
      settings.push([line.slice(0, eq), line.slice(eq + 1)]);
    }
  }
  return settings;
}

const unit = readFileSync(unitPath, 'utf8');
const settings = serviceSettings(unit);
const setting = (key: string): string | undefined => settings.filter(([k]) => k === key).at(-1)?.[1];

/** The unit with its ExecStart pointing at this checkout's build and this node. */
function unitForThisMachine(): string {
  const execStart = setting('ExecStart')!;
  expect(execStart.startsWith(`/usr/bin/node ${INSTALLED_ENTRY}`)).toBe(true);
  return unit.replace(`ExecStart=/usr/bin/node ${INSTALLED_ENTRY}`, `ExecStart=${process.execPath} ${serverEntry}`);
}

describe('deploy/enigma.service', () => {
  const cleanups: Array<() => Promise<void> | void> = [];
  afterEach(async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
  });

  it('should run the built server as its own user, non-interactively, inside a sandbox', () => {
    expect(setting('ExecStart')).toMatch(/^\/usr\/bin\/node \/opt\/enigma\/apps\/server\/dist\/main\.js --data-dir %S\/enigma$/);
    expect(setting('StandardInput')).toBe('null');
    expect(setting('DynamicUser')).toBe('yes');
    expect(setting('User')).toBe('enigma');
    expect(setting('StateDirectory')).toBe('enigma');
    expect(setting('KillSignal')).toBe('SIGTERM');
    expect(setting('Restart')).toBe('on-failure');
    expect(Number(setting('TimeoutStopSec'))).toBeGreaterThan(5); // the server's own give-up time
    expect(
      Object.fromEntries(
        settings.filter(([key]) => ['NoNewPrivileges', 'ProtectSystem', 'ProtectHome', 'PrivateTmp', 'PrivateDevices', 'CapabilityBoundingSet'].includes(key)),
      ),
    ).toEqual({
      NoNewPrivileges: 'yes',
      ProtectSystem: 'strict',
      ProtectHome: 'yes',
      PrivateTmp: 'yes',
      PrivateDevices: 'yes',
      CapabilityBoundingSet: '',
    });
    expect(setting('RestrictAddressFamilies')?.split(/\s+/).sort()).toEqual(['AF_INET', 'AF_INET6', 'AF_NETLINK', 'AF_UNIX']);
    expect(setting('SystemCallFilter')).toBe('@system-service');
    // V8's JIT needs writable+executable memory: with this the server would not start.
    expect(setting('MemoryDenyWriteExecute')).toBeUndefined();
  });

  (analyze === undefined ? it.skip : it)('should be accepted by systemd-analyze verify, with no warning, and rate as well sandboxed', async () => {
    const dir = await mkdtemp(path.join(tmpdir(), 'enigma-unit-'));
    cleanups.push(() => rm(dir, { recursive: true, force: true }));
    const copy = path.join(dir, 'enigma.service');
    await writeFile(copy, unitForThisMachine());

    const verify = spawnSync(analyze!, ['verify', '--man=no', '--generators=no', copy], { encoding: 'utf8' });
    expect({ status: verify.status, output: `${verify.stdout}${verify.stderr}`.trim() }).toEqual({ status: 0, output: '' });

    // systemd's own score of what the unit leaves open: 0 (locked down) to 10 (nothing).
    const security = spawnSync(analyze!, ['security', '--offline=yes', '--no-pager', copy], { encoding: 'utf8' });
    const exposure = /Overall exposure level for enigma\.service: ([\d.]+)/.exec(security.stdout);
    expect(exposure).not.toBeNull();
    expect(Number(exposure![1])).toBeLessThan(2.5);
  });

  it("should start the server as systemd does (no terminal, stdin at EOF, the unit's flags), keep serving, and exit 0 on SIGTERM", async () => {
    const state = await mkdtemp(path.join(tmpdir(), 'enigma-state-'));
    cleanups.push(() => rm(state, { recursive: true, force: true }));
    await mkdir(path.join(state, 'enigma'), { mode: 0o700 });
    // The unit's arguments after main.js, with %S (the state root) here; then a free port on loopback.
    const args = setting('ExecStart')!
      .slice(`/usr/bin/node ${INSTALLED_ENTRY} `.length)
      .split(/\s+/)
      .map((arg) => arg.replaceAll('%S', state));
    const program: Program = runProcess(process.execPath, [serverEntry, ...args, '--port', '0', '--host', '127.0.0.1'], { NODE_ENV: 'production' });
    cleanups.push(() => program.stop());
    program.child.stdin.end(); // StandardInput=null: EOF at once

    const [, port] = await program.waitFor(/listening on https:\/\/127\.0\.0\.1:(\d+)/);
    await program.waitFor(/^type help for commands$/);
    expect(program.lines).toContain(`database: ${path.join(state, 'enigma', 'accounts.db')} (0 users)`);
    // Serving after the console read EOF: socket.io answers its handshake.
    const status = await new Promise<number | undefined>((resolve, reject) => {
      request({ host: '127.0.0.1', port: Number(port), path: '/socket.io/?EIO=4&transport=polling', rejectUnauthorized: false }, (response) => {
        response.resume();
        resolve(response.statusCode);
      })
        .on('error', reject)
        .end();
    });
    expect(status).toBe(200);
    expect(program.child.exitCode).toBeNull();

    program.child.kill('SIGTERM');
    expect(await program.exited).toBe(0);
    expect(program.lines).toEqual(expect.arrayContaining(['shutting down (SIGTERM)...', 'bye']));
  }, 30_000);
});
