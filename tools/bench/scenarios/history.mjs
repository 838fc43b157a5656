// Scenario 5, history: 200 clients log in together while the chat holds a
// 100-message backlog, which every LOGIN_SUCCESSFUL carries. Time until all
// are served. Password logins are dominated by argon2id, so the backlog's own
// cost is isolated with resumes (no password hashing): resume with the whole
// backlog (afterSeq 0) against resume with nothing to catch up (the baseline).
import { burstRound, medianRound } from '../lib/burst.mjs';
import { LoadGenerator } from '../lib/load.mjs';
import { PASSWORD, seedDataDir } from '../lib/seed.mjs';
import { startServer } from '../lib/servers.mjs';
import { log, ratio, waitForQuietMachine } from '../lib/util.mjs';

export async function history({ quick }) {
  const clients = 200;
  const backlog = 100;
  const rounds = quick ? 1 : 2;
  const seed = await seedDataDir({ accounts: clients, sessions: clients, messages: backlog, messageBytes: 100 });
  const server = await startServer('enigma', { dataDir: seed.dataDir, args: ['--history', String(backlog)] });
  const load = new LoadGenerator(2);
  const runs = { login: [], resume: [], resumeEmpty: [] };
  const auths = {
    login: { kind: 'login', usernames: seed.usernames, password: PASSWORD },
    resume: { kind: 'resume', tokens: seed.sessions, afterSeq: 0 },
    resumeEmpty: { kind: 'resume', tokens: seed.sessions, afterSeq: backlog },
  };
  try {
    for (let i = 0; i < rounds; i++) {
      // Interleaved, so the comparison is not skewed by when each ran.
      for (const [name, auth] of Object.entries(auths)) {
        await waitForQuietMachine({ maxWaitMs: quick ? 1000 : 3000 });
        const sample = await burstRound(load, { url: server.url, clients, auth, server });
        log(
          `history ${name}: ${sample.ok}/${clients} served in ${sample.allServedMs} ms, ${sample.historyMessages} messages each, reply ${sample.replyBytes} B`,
        );
        runs[name].push(sample);
      }
    }
  } finally {
    await load.close();
    await server.stop();
    seed.remove();
  }
  const login = medianRound(runs.login);
  const resume = medianRound(runs.resume);
  const resumeEmpty = medianRound(runs.resumeEmpty);
  return {
    clients,
    backlog,
    messageBytes: 100,
    historyMessagesPerReply: login.historyMessages,
    replyBytes: login.replyBytes,
    allServedMs: login.allServedMs,
    p50Ms: login.p50Ms,
    p99Ms: login.p99Ms,
    failed: login.failed + resume.failed + resumeEmpty.failed,
    resumeAllServedMs: resume.allServedMs,
    resumeP99Ms: resume.p99Ms,
    baselineResumeAllServedMs: resumeEmpty.allServedMs,
    baselineResumeP99Ms: resumeEmpty.p99Ms,
    // What serving the backlog adds to a resume storm.
    historyCostRatio: ratio(resume.allServedMs, resumeEmpty.allServedMs),
    eventLoopDelayP99Ms: login.eventLoopDelayP99Ms,
    rounds: runs,
  };
}
