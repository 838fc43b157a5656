// Where does a server's time go in the fan-out, next to bare socket.io's?
// Runs fan-out steps against each server with `--cpu-prof`, then prints the
// functions whose self time differs most, in ms per second of wall time over
// the steps (idle included, so a busier server shows less idle).
//
//   node tools/bench/profile.mjs [--rate=25] [--clients=1000] [--steps=3]   (after a build)
//
// This is how the per-packet slow-consumer listener and the synchronous
// SQLite commit were found (docs/decisions.md). Profiles stay in the printed
// folder for Chrome DevTools or speedscope.
import { mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { LoadGenerator } from './lib/load.mjs';
import { accountsFor, authFor, seedDataDir } from './lib/seed.mjs';
import { startServer } from './lib/servers.mjs';
import { log } from './lib/util.mjs';
import { runStep } from './scenarios/fanout.mjs';

const flag = (name, fallback) => Number(process.argv.find((a) => a.startsWith(`--${name}=`))?.split('=')[1] ?? fallback);
const rate = flag('rate', 25);
const clients = flag('clients', 1000);
const steps = flag('steps', 3);
const KINDS = ['enigma', 'socketio'];
const DURATION_MS = 5000;

/** Self time per function within [from, to] (µs after the profile's start), and the window's length. */
function selfTimes(file, from, to) {
  const profile = JSON.parse(readFileSync(file, 'utf8'));
  const span = { from: profile.startTime + from, to: profile.startTime + to };
  const nodes = new Map(profile.nodes.map((node) => [node.id, node]));
  const self = new Map();
  let at = profile.startTime;
  let windowUs = 0;
  profile.samples.forEach((id, i) => {
    const delta = profile.timeDeltas[i];
    at += delta;
    if (at < span.from || at > span.to) return;
    windowUs += delta;
    const { functionName, url, lineNumber } = nodes.get(id).callFrame;
    const key = `${functionName || '(anonymous)'} ${url.replace(/.*node_modules\//, '').replace(/^file:\/\/.*?\/(apps|libs)\//, '$1/')}:${lineNumber + 1}`;
    self.set(key, (self.get(key) ?? 0) + delta);
  });
  return { self, windowUs };
}

const folder = mkdtempSync(path.join(tmpdir(), 'enigma-profile-'));
const seed = await seedDataDir({ accounts: accountsFor(clients), sessions: clients });
const load = new LoadGenerator(2);
const windows = {};
try {
  for (const [index, kind] of KINDS.entries()) {
    // The profile's clock starts with the server process: steps are located
    // by their offset from this moment (the spawn takes a few ms).
    const started = Date.now();
    const server = await startServer(kind, { dataDir: seed.dataDir, nodeFlags: ['--cpu-prof', `--cpu-prof-dir=${path.join(folder, kind)}`] });
    await load.connect(kind, server.url, clients, authFor(kind, seed, clients));
    await runStep(load, server, { stepId: 100 + index * 10, rate, durationMs: 2000, clients }); // warm-up
    const from = (Date.now() - started) * 1000;
    for (let step = 0; step < steps; step++) {
      const result = await runStep(load, server, { stepId: 101 + index * 10 + step, rate, durationMs: DURATION_MS, clients });
      log(`${kind} ${rate}/s: p50 ${result.p50Ms} ms, p99 ${result.p99Ms} ms, server CPU ${result.serverCpuUsPerDelivery} µs/delivery`);
    }
    windows[kind] = { from, to: (Date.now() - started) * 1000 };
    await load.disconnect();
    await server.stop();
  }
} finally {
  await load.close();
  seed.remove();
}

const measured = {};
for (const kind of KINDS) {
  const dir = path.join(folder, kind);
  // CPU.<date>.<time>.<pid>.<thread>.<n>.cpuprofile: thread 0 is the event loop (Enigma's SQLite writer thread has its own).
  const file = path.join(
    dir,
    readdirSync(dir).find((name) => /\.\d+\.0\.\d+\.cpuprofile$/.test(name)),
  );
  measured[kind] = selfTimes(file, windows[kind].from, windows[kind].to);
}
const perSecond = (kind, key) => ((measured[kind].self.get(key) ?? 0) / measured[kind].windowUs) * 1000;
const keys = new Set(KINDS.flatMap((kind) => [...measured[kind].self.keys()]));
const rows = [...keys]
  .map((key) => ({ key, enigma: perSecond('enigma', key), socketio: perSecond('socketio', key) }))
  .sort((a, b) => Math.abs(b.enigma - b.socketio) - Math.abs(a.enigma - a.socketio));
console.log(`Self time in ms per second of wall time, fan-out at ${rate} frames/s to ${clients} clients (profiles: ${folder})`);
console.log(`${'Enigma'.padStart(8)} ${'socket.io'.padStart(9)} ${'diff'.padStart(7)}  function`);
for (const { key, enigma, socketio } of rows.slice(0, 30))
  console.log(`${enigma.toFixed(1).padStart(8)} ${socketio.toFixed(1).padStart(9)} ${(enigma - socketio).toFixed(1).padStart(7)}  ${key}`);
