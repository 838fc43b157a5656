#!/usr/bin/env node
// Enigma benchmarks, each against a baseline measured in the same run.
//   npm run bench                 full run (about 14 minutes)
//   npm run bench -- --quick      smaller sizes of the five core scenarios, under 2 minutes
//   node tools/bench/run.mjs --only=fanout,memory   some scenarios (after a build)
//   node tools/bench/run.mjs --quick --only=cluster  fan-out on 1 and 2 nodes (PostgreSQL + Redis)
//   node tools/bench/run.mjs --quick --only=stall    others' p99 while 5% of clients stop reading
//   node tools/bench/run.mjs --only=retention        event-loop delay while 1,000,000 old messages are pruned
//   npm run bench -- --record     full run, kept: results/full.json and docs/bench-fanout.svg
// Prints a table on stdout (progress goes to stderr) and writes
// tools/bench/results/latest.json (and, for a full run, latest-fanout.svg),
// both ignored by git: a run leaves `git status` clean. Only --record
// rewrites the tracked record that docs/benchmarks.md quotes.
import { execFileSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { fileURLToPath } from 'node:url';
import { children } from './lib/servers.mjs';
import { fanoutSvg } from './lib/svg.mjs';
import { log, median, ratio, round, table } from './lib/util.mjs';
import { cluster } from './scenarios/cluster.mjs';
import { fanout } from './scenarios/fanout.mjs';
import { fernet } from './scenarios/fernet.mjs';
import { history } from './scenarios/history.mjs';
import { loginBurst } from './scenarios/login-burst.mjs';
import { memory } from './scenarios/memory.mjs';
import { retention } from './scenarios/retention.mjs';
import { stall } from './scenarios/stall.mjs';

const args = process.argv.slice(2);
const quick = args.includes('--quick');
const only = args
  .find((a) => a.startsWith('--only='))
  ?.slice('--only='.length)
  .split(',');
const record = args.includes('--record');
if (record && (quick || only)) {
  process.stderr.write('bench: --record keeps a full run only (without --quick or --only)\n');
  process.exit(2);
}
const resultsDir = fileURLToPath(new URL('./results/', import.meta.url));
const svgPath = fileURLToPath(new URL('../../docs/bench-fanout.svg', import.meta.url));
// Other people's work on a shared machine ruins latency figures: each
// measurement first waits (this long at most) for the machine to go quiet.
const quietWaitMs = quick ? 1000 : 5000;

const SCENARIOS = {
  // Fernet first: it needs no servers and is the most sensitive to other load.
  fernet: () => fernet({ quick }),
  fanout: () => fanout({ quick, quietWaitMs }),
  memory: () => memory({ quick }),
  loginBurst: () => loginBurst({ quick }),
  history: () => history({ quick }),
  cluster: () => cluster({ quick, quietWaitMs }),
  stall: () => stall({ quick, quietWaitMs }),
  retention: () => retention({ quick, quietWaitMs }),
};
/**
 * A quick run is the five core scenarios (about 100 s); cluster, stall and
 * retention, which start databases, hold steps of 20 s or seed a million
 * rows, run in full runs and on request (`--quick --only=cluster,stall`).
 */
const QUICK_DEFAULT = new Set(['fernet', 'fanout', 'memory', 'loginBurst', 'history']);

/** Which code was measured: other work may be in progress in the working tree. */
function source() {
  const git = (...argv) => {
    try {
      return execFileSync('git', argv, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
    } catch {
      return null;
    }
  };
  const dirty = git('status', '--porcelain', '--', 'apps', 'libs');
  return { commit: git('rev-parse', '--short', 'HEAD'), uncommittedFilesInAppsAndLibs: dirty === null ? null : dirty.split('\n').filter(Boolean).length };
}

function machine() {
  const cpus = os.cpus();
  return {
    cpuModel: cpus[0]?.model ?? 'unknown',
    cores: cpus.length,
    memoryBytes: os.totalmem(),
    node: process.version,
    platform: `${os.type()} ${os.release()} ${os.arch()}`,
    loadAverageAtStart: os.loadavg().map((l) => round(l)),
  };
}

/** The headline figures of the fan-out run, as results/latest.json names them. */
function summarizeFanout(f) {
  const { enigma, socketio, ws } = f.servers;
  const sustainedAt = (server, rate) => server.steps.find((s) => s.sustained && s.rate === rate);
  // p99s at each server's own best rate are at different loads; the fair
  // latency comparison is at the highest rate both sustained (median p99 of
  // the steps held there, over all rounds).
  const common = enigma.steps
    .filter((s) => s.sustained && sustainedAt(socketio, s.rate))
    .map((s) => s.rate)
    .sort((a, b) => b - a)[0];
  const p99At = (server, rate) => median(server.steps.filter((s) => s.sustained && s.rate === rate).map((s) => s.p99Ms));
  return {
    clients: f.clients,
    deliveriesPerSec: enigma.best?.deliveriesPerSec ?? 0,
    baselineDeliveriesPerSec: socketio.best?.deliveriesPerSec ?? 0,
    ratio: ratio(enigma.best?.deliveriesPerSec ?? 0, socketio.best?.deliveriesPerSec),
    sendRate: enigma.best?.rate ?? null,
    baselineSendRate: socketio.best?.rate ?? null,
    p50Ms: enigma.best?.p50Ms ?? null,
    p99Ms: enigma.best?.p99Ms ?? null,
    baselineP50Ms: socketio.best?.p50Ms ?? null,
    baselineP99Ms: socketio.best?.p99Ms ?? null,
    commonRate: common ?? null,
    p99AtCommonRateMs: common ? p99At(enigma, common) : null,
    baselineP99AtCommonRateMs: common ? p99At(socketio, common) : null,
    p99RatioAtCommonRate: common ? ratio(p99At(enigma, common), p99At(socketio, common)) : null,
    rounds: f.rounds,
    // Each round's own ratio of best rates, to show the spread behind the median.
    ratioByRound: enigma.bestRateByRound.map((rate, i) => ratio(rate, socketio.bestRateByRound[i])),
    serverCpuUsPerDelivery: enigma.best?.serverCpuUsPerDelivery ?? null,
    baselineServerCpuUsPerDelivery: socketio.best?.serverCpuUsPerDelivery ?? null,
    stoppedBy: enigma.stoppedBy,
    baselineStoppedBy: socketio.stoppedBy,
    bareWs: {
      deliveriesPerSec: ws.best?.deliveriesPerSec ?? 0,
      sendRate: ws.best?.rate ?? null,
      p50Ms: ws.best?.p50Ms ?? null,
      p99Ms: ws.best?.p99Ms ?? null,
      serverCpuUsPerDelivery: ws.best?.serverCpuUsPerDelivery ?? null,
      stoppedBy: ws.stoppedBy,
      ratioEnigmaToWs: ratio(enigma.best?.deliveriesPerSec ?? 0, ws.best?.deliveriesPerSec),
    },
    durationMsPerStep: f.durationMs,
    p99LimitMs: f.p99LimitMs,
    floorP99Ms: f.floorP99Ms,
    servers: f.servers,
  };
}

function summarizeMemory(runs) {
  const largest = runs[runs.length - 1];
  return {
    connections: largest.connections,
    bytesPerConnection: largest.enigma.bytesPerConnection,
    baselineBytesPerConnection: largest.socketio.bytesPerConnection,
    ratio: largest.ratio,
    heapBytesPerConnection: largest.enigma.heapBytesPerConnection,
    baselineHeapBytesPerConnection: largest.socketio.heapBytesPerConnection,
    heapRatio: largest.heapRatio,
    held: largest.enigma.sessionsSeenByServer ?? 0,
    bareWsBytesPerConnection: largest.ws.bytesPerConnection,
    byConnections: runs,
  };
}

function goals(r) {
  const g = {};
  if (r.fanout && !r.fanout.error) {
    g.fanout = { target: 'deliveries/s >= 0.85x bare socket.io, p99 <= 1.5x', deliveriesRatio: r.fanout.ratio, p99Ratio: r.fanout.p99RatioAtCommonRate };
    g.fanout.met = (r.fanout.ratio ?? 0) >= 0.85 && r.fanout.p99RatioAtCommonRate !== null && r.fanout.p99RatioAtCommonRate <= 1.5;
  }
  if (r.memory && !r.memory.error) {
    const tenK = r.memory.byConnections.find((m) => m.connections === 10_000);
    g.memory = {
      target: '<= 1.3x bare socket.io per connection; 10,000 connections held',
      ratio: r.memory.ratio,
      held10k: tenK ? tenK.enigma.sessionsSeenByServer === 10_000 : null,
    };
    // A quick run does not try 10,000 connections, so it cannot decide this goal.
    g.memory.met = tenK === undefined ? null : r.memory.ratio !== null && r.memory.ratio <= 1.3 && g.memory.held10k === true;
  }
  if (r.fernet && !r.fernet.error) {
    g.fernet = { target: '>= 2.5x Python cryptography, both directions', worstRatio: r.fernet.ratioVsPython.worstOfAllSizes };
    g.fernet.met = g.fernet.worstRatio !== null && g.fernet.worstRatio >= 2.5;
  }
  return g;
}

const fmt = (v) => (v === null || v === undefined ? '-' : typeof v === 'number' ? String(round(v)) : String(v));

function report(r) {
  const parts = [`Enigma benchmarks (${r.mode}), ${r.date}`, `${r.machine.cpuModel}, ${r.machine.cores} cores, Node ${r.machine.node}`, ''];
  if (r.fanout?.servers) {
    const f = r.fanout;
    parts.push(
      `Fan-out: ${f.clients} clients, steps of ${f.durationMsPerStep / 1000} s, sustained = p99 <= ${f.p99LimitMs} ms (max of 100 ms and 2x the unloaded bare-ws p99 of ${fmt(f.floorP99Ms)} ms) and >= 99% delivered`,
    );
    parts.push(
      table([
        ['server', 'best rate/s', 'deliveries/s', 'p50 ms', 'p99 ms', 'server CPU µs/delivery', 'search stopped by'],
        ...Object.entries({ Enigma: 'enigma', 'bare socket.io': 'socketio', 'bare ws': 'ws' }).map(([label, kind]) => {
          const best = f.servers[kind].best;
          return [
            label,
            fmt(best?.rate),
            fmt(best?.deliveriesPerSec ?? 0),
            fmt(best?.p50Ms),
            fmt(best?.p99Ms),
            fmt(best?.serverCpuUsPerDelivery),
            f.servers[kind].stoppedBy,
          ];
        }),
      ]),
    );
    if (f.rounds > 1)
      parts.push(
        `median of ${f.rounds} rounds; best rate/s by round: ${['enigma', 'socketio', 'ws'].map((kind) => `${kind} ${f.servers[kind].bestRateByRound.map(fmt).join(', ')}`).join('; ')}; ratio by round: ${f.ratioByRound.map(fmt).join(', ')}`,
      );
    parts.push(
      `ratio (Enigma / bare socket.io deliveries/s): ${fmt(f.ratio)}; p99 at ${fmt(f.commonRate)}/s (both sustained): ${fmt(f.p99AtCommonRateMs)} vs ${fmt(f.baselineP99AtCommonRateMs)} ms (${fmt(f.p99RatioAtCommonRate)}x)`,
      '',
    );
  }
  if (r.memory?.byConnections) {
    parts.push('Memory per idle logged-in connection (server RSS delta / connections; heap delta)');
    parts.push(
      table([
        ['connections', 'Enigma B', 'bare socket.io B', 'bare ws B', 'ratio', 'Enigma heap B', 'socket.io heap B', 'Enigma held'],
        ...r.memory.byConnections.map((m) => [
          m.connections,
          fmt(m.enigma.bytesPerConnection),
          fmt(m.socketio.bytesPerConnection),
          fmt(m.ws.bytesPerConnection),
          fmt(m.ratio),
          fmt(m.enigma.heapBytesPerConnection),
          fmt(m.socketio.heapBytesPerConnection),
          `${fmt(m.enigma.sessionsSeenByServer)}${m.enigma.error ? ` (${m.enigma.error})` : ''}`,
        ]),
      ]),
      '',
    );
  }
  if (r.fernet?.bySize) {
    parts.push(
      `Fernet operations/s (median of ${r.fernet.rounds} rounds)${r.fernet.python.executable ? `; Python ${r.fernet.python.version}, cryptography ${r.fernet.python.cryptography}` : `; Python: ${r.fernet.python.reason}`}`,
    );
    parts.push(
      table([
        ['message', 'op', 'ours', 'npm fernet', 'Python', 'ours/Python', 'ours/npm'],
        ...Object.entries(r.fernet.bySize).flatMap(([size, s]) => [
          [
            `${size} B`,
            'encrypt',
            fmt(s.encryptPerSec),
            fmt(s.npmFernetEncryptPerSec),
            fmt(s.pythonEncryptPerSec),
            fmt(s.ratioVsPython.encrypt),
            fmt(s.ratioVsNpmFernet.encrypt),
          ],
          [
            `${size} B`,
            'decrypt',
            fmt(s.decryptPerSec),
            fmt(s.npmFernetDecryptPerSec),
            fmt(s.pythonDecryptPerSec),
            fmt(s.ratioVsPython.decrypt),
            fmt(s.ratioVsNpmFernet.decrypt),
          ],
        ]),
      ]),
      '',
    );
  }
  if (r.loginBurst?.logins) {
    const l = r.loginBurst;
    parts.push(
      `Login burst: ${l.logins} logins at once: ${fmt(l.loginsPerSec)} logins/s (all served in ${fmt(l.allServedMs)} ms, p99 ${fmt(l.p99Ms)} ms), event-loop delay p99 ${fmt(l.eventLoopDelayP99Ms)} ms, max ${fmt(l.eventLoopDelayMaxMs)} ms`,
    );
    parts.push(`  baseline: ${fmt(l.baselineLoginsPerSec)} argon2id verifications/s with no server (ratio ${fmt(l.ratio)}); failed: ${l.failed}`, '');
  }
  if (r.history?.clients) {
    const h = r.history;
    parts.push(
      `History: ${h.clients} clients log in together, ${h.backlog}-message backlog (${fmt(h.replyBytes)} B reply): all served in ${fmt(h.allServedMs)} ms (p50 ${fmt(h.p50Ms)}, p99 ${fmt(h.p99Ms)} ms)`,
    );
    parts.push(
      `  resumes with the backlog: ${fmt(h.resumeAllServedMs)} ms; baseline resumes with nothing to catch up: ${fmt(h.baselineResumeAllServedMs)} ms (${fmt(h.historyCostRatio)}x)`,
      '',
    );
  }
  if (r.cluster && !r.cluster.error) {
    const c = r.cluster;
    if (c.reason) parts.push(`Cluster: not measured: ${c.reason}`, '');
    else {
      parts.push(
        `Cluster fan-out on PostgreSQL + Redis: ${c.clients} clients, steps of ${c.durationMsPerStep / 1000} s, sustained = p99 <= ${c.p99LimitMs} ms and >= 99% delivered`,
      );
      parts.push(
        table([
          ['nodes', 'best rate/s', 'deliveries/s', 'p50 ms', 'p99 ms', 'server CPU µs/delivery'],
          ...[c.oneNode, c.twoNodes].map((n) => [n.nodes, fmt(n.sendRate), fmt(n.deliveriesPerSec), fmt(n.p50Ms), fmt(n.p99Ms), fmt(n.serverCpuUsPerDelivery)]),
        ]),
      );
      parts.push(`ratio (2 nodes / 1 node deliveries/s): ${fmt(c.ratio)}`, '');
    }
  }
  if (r.stall?.baseline) {
    const s = r.stall;
    parts.push(
      `Slow consumers: ${s.clients} clients, ${s.rate} frames/s of ${s.frameBytes}, steps of ${s.durationMsPerStep / 1000} s, --max-buffered-bytes ${s.maxBufferedBytes}; figures of the clients that kept reading`,
    );
    parts.push(
      table([
        ['step', 'p50 ms', 'p99 ms', 'deliveries/s', 'delivered'],
        ['everyone reading', fmt(s.baseline.p50Ms), fmt(s.baseline.p99Ms), fmt(s.baseline.deliveriesPerSec), `${s.baseline.delivered}/${s.baseline.expected}`],
        [
          `${s.stalled} stalled`,
          fmt(s.withStalled.p50Ms),
          fmt(s.withStalled.p99Ms),
          fmt(s.withStalled.deliveriesPerSec),
          `${s.withStalled.delivered}/${s.withStalled.expected}`,
        ],
      ]),
    );
    parts.push(`p99 ratio (stalled / baseline): ${fmt(s.p99Ratio)}; stalled clients disconnected by the server: ${s.stalledDisconnected}/${s.stalled}`, '');
  }
  if (r.retention?.switchStep) {
    const t = r.retention;
    parts.push(
      `Retention: ${t.removed}/${t.rows} messages a year old pruned by --retention 90d (1,000 per batch) in ${fmt(t.pruningSeconds)} s while ${t.clients} clients exchange ${t.rate} frames/s; steps of ${t.durationMsPerStep / 1000} s; server event-loop delay (monitorEventLoopDelay, 10 ms resolution)`,
    );
    const row = (label, s) =>
      s
        ? [
            label,
            s.steps,
            fmt(s.loopP99MsMedian),
            fmt(s.loopP99MsWorst),
            fmt(s.loopMaxMs),
            fmt(s.sendReceiveP99MsMedian),
            fmt(s.sendReceiveMaxMs),
            `${s.delivered}/${s.expected}`,
          ]
        : [label, 0, '-', '-', '-', '-', '-', '-'];
    parts.push(
      table([
        ['run', 'steps', 'loop p99 ms (median)', 'loop p99 ms (worst)', 'loop max ms', 'send->receive p99 ms (median)', 'send->receive max ms', 'delivered'],
        row('baseline (no pruning)', t.baseline),
        row('while pruning', t.pruning),
        row('  switch step, baseline', t.switchStep.baseline),
        row('  switch step, pruning', t.switchStep.pruning),
      ]),
    );
    parts.push(
      `ratios (pruning / baseline, steps after the switch): loop p99 median ${fmt(t.loopP99Ratio)}x, worst ${fmt(t.loopP99WorstRatio)}x, loop max ${fmt(t.loopMaxRatio)}x, send->receive p99 ${fmt(t.sendReceiveP99Ratio)}x`,
      '',
    );
  }
  for (const [name, value] of Object.entries(r)) if (value?.error) parts.push(`${name}: FAILED: ${value.error}`);
  parts.push(r.mode === 'quick' ? 'Goals (a quick run has 200 clients and short rounds: indicative only; the goals are judged on a full run):' : 'Goals:');
  for (const [name, g] of Object.entries(r.goals))
    parts.push(
      `  ${name.padEnd(7)} ${g.met === null ? 'n/a    ' : g.met ? 'MET    ' : 'NOT MET'} (${g.target}): ${JSON.stringify(Object.fromEntries(Object.entries(g).filter(([k]) => !['target', 'met'].includes(k))))}`,
    );
  return parts.join('\n');
}

// An interrupted run ends the servers and load workers it started.
for (const signal of ['SIGINT', 'SIGTERM']) {
  process.on(signal, () => {
    for (const child of children) child.kill();
    process.exit(130);
  });
}

async function main() {
  const started = Date.now();
  const results = {
    date: new Date().toISOString(),
    mode: quick ? 'quick' : 'full',
    command: `node tools/bench/run.mjs ${args.join(' ')}`.trim(),
    machine: machine(),
    source: source(),
  };
  for (const [name, run] of Object.entries(SCENARIOS)) {
    if (only ? !only.includes(name) : quick && !QUICK_DEFAULT.has(name)) continue;
    log(`${name}...`);
    const t0 = Date.now();
    try {
      const raw = await run();
      results[name] = name === 'fanout' ? summarizeFanout(raw) : name === 'memory' ? summarizeMemory(raw) : raw;
    } catch (error) {
      log(`${name} failed: ${error.stack ?? error}`);
      results[name] = { error: String(error.message ?? error) };
    }
    log(`${name} done in ${Math.round((Date.now() - t0) / 1000)} s`);
  }
  results.goals = goals(results);
  results.durationSeconds = Math.round((Date.now() - started) / 1000);
  results.machine.loadAverageAtEnd = os.loadavg().map((l) => round(l));

  mkdirSync(resultsDir, { recursive: true });
  const json = `${JSON.stringify(results, null, 2)}\n`;
  writeFileSync(`${resultsDir}latest.json`, json);
  const svg =
    !quick && !only && results.fanout?.servers
      ? fanoutSvg(results.fanout, { title: `Fan-out to ${results.fanout.clients} clients, ${results.date.slice(0, 10)}, ${results.machine.cores} cores` })
      : undefined;
  if (svg !== undefined) writeFileSync(`${resultsDir}latest-fanout.svg`, svg);
  if (record) {
    writeFileSync(`${resultsDir}full.json`, json);
    if (svg !== undefined) writeFileSync(svgPath, svg);
  }
  console.log(report(results));
  console.log(
    `\n(${results.durationSeconds} s; results in tools/bench/results/latest.json${record ? ', recorded in results/full.json and docs/bench-fanout.svg' : ''})`,
  );
}

await main();
