// Retention (issue 15): does deleting a large backlog stall the relay? The
// same server, with the same clients sending at the same rate, runs twice:
//   baseline  - no --retention;
//   pruning   - --retention 90d.
// Each starts on an empty database, logs its clients in, warms up, then the
// console's `database history.db` switches to a SQLite file holding
// 1,000,000 messages a year old (the switch itself is in both runs; with
// --retention the server prunes a newly selected database at once, 1,000
// rows per batch, while the load goes on).
// Measured, in steps of equal length: the server's own event-loop delay
// (perf_hooks monitorEventLoopDelay, read and reset with the console's
// `stats`) and the clients' send->receive latency. The pruning run's steps
// are those that ran while the console's `status` said "pruning now"; the
// baseline runs as many.
import Database from 'better-sqlite3';
import { copyFileSync } from 'node:fs';
import path from 'node:path';
import { LoadGenerator } from '../lib/load.mjs';
import { accountsFor, seedDataDir } from '../lib/seed.mjs';
import { startServer } from '../lib/servers.mjs';
import { Fernet, generateKey } from '@enigma/crypto';
import { encodeFrame } from '@enigma/protocol';
import { log, median, ratio, round, waitForQuietMachine } from '../lib/util.mjs';
import { runStep } from './fanout.mjs';

const YEAR_MS = 365 * 86_400_000;
const RETENTION_LINE = /^retention: .*?, (pruning now|idle); (\d+) removed since start/;

/** Bulk rows straight into the file (the server's own append path would take an hour for a million). */
function seedOldMessages(file, count) {
  const db = new Database(file);
  db.pragma('journal_mode = WAL');
  // One real frame of a 100-byte message; ids only need to be unique (the server never re-checks stored rows).
  const frame = encodeFrame(new Fernet(generateKey()).encrypt('m'.repeat(100)));
  const token = frame.slice(32);
  const insert = db.prepare('INSERT INTO messages (id, sender, ts, frame) VALUES (?, ?, ?, ?)');
  const ts = Date.now() - YEAR_MS;
  const chunk = db.transaction((from, to) => {
    for (let i = from; i < to; i++) {
      const id = i.toString(16).padStart(32, '0');
      insert.run(id, 'bench00000', ts + i, id + token);
    }
  });
  for (let from = 0; from < count; from += 100_000) chunk(from, Math.min(count, from + 100_000));
  db.pragma('wal_checkpoint(TRUNCATE)');
  db.close();
}

async function retentionStatus(server) {
  const line = await server.console('status', /^retention: /);
  const m = RETENTION_LINE.exec(line); // none: retention off (the baseline)
  return { pruning: m?.[1] === 'pruning now', removed: Number(m?.[2] ?? 0) };
}

export async function retention({ quick, quietWaitMs }) {
  const rows = quick ? 400_000 : 1_000_000;
  const clients = quick ? 50 : 100;
  const rate = 20; // frames/s: 2,000 (quick 1,000) deliveries/s, a busy chat
  const durationMs = 1500;
  const drainMs = 500;
  const maxSteps = quick ? 20 : 60;

  const seed = await seedDataDir({ accounts: accountsFor(clients), sessions: clients });
  const t0 = Date.now();
  const historyFile = path.join(seed.dataDir, 'history.db');
  copyFileSync(path.join(seed.dataDir, 'accounts.db'), historyFile);
  seedOldMessages(historyFile, rows);
  log(`retention: ${rows} messages a year old seeded in ${Math.round((Date.now() - t0) / 1000)} s`);
  const load = new LoadGenerator(2);
  const runs = {};
  let stepId = 0;
  try {
    for (const [name, args] of [
      ['baseline', []],
      ['pruning', ['--retention', '90d']],
    ]) {
      const server = await startServer('enigma', { dataDir: seed.dataDir, args });
      try {
        await load.connectAll(name, server.url, clients, { kind: 'resume', tokens: seed.sessions });
        server.groups = [name];
        await runStep(load, server, { stepId: (++stepId % 250) + 1, rate, durationMs: 1000, clients, drainMs, p99LimitMs: Infinity }); // warm-up
        await waitForQuietMachine({ maxWaitMs: quietWaitMs });
        await server.stats(); // from here on
        const switched = Date.now();
        await server.console('database history.db', /^database: now using /);
        const steps = [];
        for (let i = 0; i < maxSteps; i++) {
          const step = await runStep(load, server, { stepId: (++stepId % 250) + 1, rate, durationMs, clients, drainMs, p99LimitMs: Infinity });
          const stats = await server.stats();
          const status = await retentionStatus(server);
          steps.push({
            loopP99Ms: stats.loopP99Ms,
            loopMaxMs: stats.loopMaxMs,
            p50Ms: step.p50Ms,
            p99Ms: step.p99Ms,
            maxMs: step.maxMs,
            delivered: step.delivered,
            expected: step.expected,
            otherCpuCores: step.otherCpuCores,
            pruningAtEnd: status.pruning,
            removedAtEnd: status.removed,
          });
          log(
            `retention ${name} step ${i + 1}: event loop p99 ${stats.loopP99Ms} ms, max ${stats.loopMaxMs} ms; send->receive p99 ${step.p99Ms} ms; ${status.pruning ? 'pruning' : 'idle'}, ${status.removed} removed`,
          );
          // The baseline runs 8 steps; pruning runs until the backlog is gone.
          if (name === 'baseline' ? i + 1 >= 8 : !status.pruning) break;
        }
        let status = await retentionStatus(server);
        while (status.pruning && Date.now() - switched < 600_000) {
          await new Promise((resolve) => setTimeout(resolve, 250));
          status = await retentionStatus(server);
        }
        runs[name] = { steps, removed: status.removed, secondsFromSwitch: round((Date.now() - switched) / 1000) };
      } finally {
        await load.disconnect(name).catch(() => undefined);
        await server.stop();
      }
    }
  } finally {
    await load.close();
    seed.remove();
  }
  // The first step after the switch carries the switch itself (opening and
  // migrating the file, a spike in both runs): it is reported apart, and the
  // comparison is of the steps after it. Pruning steps: those that ran, at
  // least partly, while batches were being deleted.
  const pruningSteps = runs.pruning.steps.filter((s, i, all) => i === 0 || s.pruningAtEnd || all[i - 1].pruningAtEnd);
  const summary = (steps) =>
    steps.length === 0
      ? null
      : {
          steps: steps.length,
          loopP99MsMedian: round(median(steps.map((s) => s.loopP99Ms))),
          loopP99MsWorst: round(Math.max(...steps.map((s) => s.loopP99Ms))),
          loopMaxMs: round(Math.max(...steps.map((s) => s.loopMaxMs))),
          sendReceiveP99MsMedian: round(median(steps.map((s) => s.p99Ms))),
          sendReceiveMaxMs: round(Math.max(...steps.map((s) => s.maxMs))),
          delivered: steps.reduce((a, s) => a + s.delivered, 0),
          expected: steps.reduce((a, s) => a + s.expected, 0),
        };
  const baseline = summary(runs.baseline.steps.slice(1));
  const pruning = summary(pruningSteps.slice(1));
  return {
    rows,
    clients,
    rate,
    durationMsPerStep: durationMs,
    removed: runs.pruning.removed,
    pruningSeconds: runs.pruning.secondsFromSwitch,
    baseline,
    pruning,
    switchStep: { baseline: summary(runs.baseline.steps.slice(0, 1)), pruning: summary(pruningSteps.slice(0, 1)) },
    loopP99Ratio: ratio(pruning?.loopP99MsMedian, baseline?.loopP99MsMedian),
    loopP99WorstRatio: ratio(pruning?.loopP99MsWorst, baseline?.loopP99MsWorst),
    loopMaxRatio: ratio(pruning?.loopMaxMs, baseline?.loopMaxMs),
    sendReceiveP99Ratio: ratio(pruning?.sendReceiveP99MsMedian, baseline?.sendReceiveP99MsMedian),
    runs,
  };
}
