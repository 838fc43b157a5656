// Scenario 4, login burst: 200 clients send LOGIN_ATTEMPTING at the same
// instant (accounts created beforehand). Logins per second and the server's
// event-loop delay during the burst (argon2id runs on libuv's thread pool, so
// the loop should stay responsive). Baseline: the same number of argon2id
// verifications alone, without a server: the floor any login path pays.
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { burstRound, medianRound } from '../lib/burst.mjs';
import { LoadGenerator } from '../lib/load.mjs';
import { PASSWORD, seedDataDir } from '../lib/seed.mjs';
import { startServer } from '../lib/servers.mjs';
import { log, median, ratio, round, waitForQuietMachine } from '../lib/util.mjs';

const floorScript = fileURLToPath(new URL('../lib/argon2-floor.mjs', import.meta.url));

export async function loginBurst({ quick }) {
  const logins = 200;
  const rounds = quick ? 1 : 3;
  const seed = await seedDataDir({ accounts: logins });
  const server = await startServer('enigma', { dataDir: seed.dataDir });
  const load = new LoadGenerator(2);
  const samples = [];
  try {
    for (let i = 0; i < rounds; i++) {
      await waitForQuietMachine({ maxWaitMs: quick ? 1000 : 3000 });
      const sample = await burstRound(load, {
        url: server.url,
        clients: logins,
        auth: { kind: 'login', usernames: seed.usernames, password: PASSWORD },
        server,
      });
      log(
        `login burst: ${sample.ok}/${logins} in ${sample.allServedMs} ms (${sample.perSec}/s), loop p99 ${sample.eventLoopDelayP99Ms} ms, max ${sample.eventLoopDelayMaxMs} ms`,
      );
      samples.push(sample);
    }
  } finally {
    await load.close();
    await server.stop();
    seed.remove();
  }
  await waitForQuietMachine({ maxWaitMs: quick ? 1000 : 3000 });
  const floor = JSON.parse(execFileSync(process.execPath, [floorScript, String(logins), String(rounds)], { encoding: 'utf8' }));
  const result = medianRound(samples);
  const baselineLoginsPerSec = round(median(floor.map((f) => f.perSec)));
  log(`login burst baseline: ${baselineLoginsPerSec} argon2id verifications/s without a server`);
  return {
    logins,
    ok: result.ok,
    failed: result.failed,
    eventLoopDelayP99Ms: result.eventLoopDelayP99Ms,
    eventLoopDelayMaxMs: result.eventLoopDelayMaxMs,
    loginsPerSec: result.perSec,
    allServedMs: result.allServedMs,
    p50Ms: result.p50Ms,
    p99Ms: result.p99Ms,
    baselineLoginsPerSec,
    ratio: ratio(result.perSec, baselineLoginsPerSec),
    rounds: samples,
  };
}
