// Slow consumers (issue 9): the other clients' latency while 5% of the
// clients stop reading. The Enigma server runs with a 1 MiB slow-consumer
// bound (--max-buffered-bytes) so the policy acts within the step; the
// stalled clients pause their TCP socket, their kernel buffers fill and the
// server's queue for them grows until it cuts them off.
import { LoadGenerator, split } from '../lib/load.mjs';
import { accountsFor, seedDataDir } from '../lib/seed.mjs';
import { startServer } from '../lib/servers.mjs';
import { log, ratio } from '../lib/util.mjs';
import { runStep } from './fanout.mjs';

const MAX_BUFFERED_BYTES = 1024 * 1024;
/**
 * Frames of ~8 KiB (6,000 B of plaintext). On loopback a stalled client's
 * kernel buffers take ~4.5 MB before the server's own queue grows at all
 * (~3.8 MB send buffer + ~0.6-1.4 MB receive buffer), so 40 frames/s of 8 KiB
 * (320 KiB/s) passes 4.5 MB + the 1 MiB bound after ~17 s.
 */
const PAYLOAD_BYTES = 6000;
/** Frames/s, fixed and moderate: 8,000 (quick) / 16,000 (full) deliveries/s. */
const RATE = 40;

export async function stall({ quick, quietWaitMs }) {
  const clients = quick ? 200 : 400;
  const stalled = Math.round(clients * 0.05);
  // The heartbeat is raised to 60 s + 60 s so that, over a stall of this
  // length, only the buffer bound can drop a client.
  const durationMs = quick ? 20_000 : 30_000;
  const drainMs = 2000;
  const seed = await seedDataDir({ accounts: accountsFor(clients), sessions: clients });
  const load = new LoadGenerator(2);
  let server;
  try {
    server = await startServer('enigma', {
      dataDir: seed.dataDir,
      args: ['--max-buffered-bytes', String(MAX_BUFFERED_BYTES), '--ping-interval', '60000', '--ping-timeout', '60000'],
    });
    const connection = await load.connectAll('enigma', server.url, clients, { kind: 'resume', tokens: seed.sessions });
    log(`stall: ${clients} clients logged in in ${Math.round(connection.ms)} ms`);
    const step = (stepId, receivers) =>
      runStep(load, server, { stepId, rate: RATE, durationMs, clients: receivers, quietWaitMs, drainMs, payloadBytes: PAYLOAD_BYTES });
    await runStep(load, server, { stepId: 1, rate: RATE, durationMs: 1000, clients, payloadBytes: PAYLOAD_BYTES }); // warm-up
    const baseline = await step(2, clients);
    log(
      `stall baseline: p50 ${baseline.p50Ms} ms, p99 ${baseline.p99Ms} ms, ${baseline.deliveriesPerSec} deliveries/s, ${baseline.delivered}/${baseline.expected}`,
    );
    // Each worker stalls the last of its clients (the senders are its first).
    await load.call(
      'stall',
      split(stalled, load.size).map((count) => ({ group: 'enigma', count })),
    );
    const withStalled = await step(3, clients - stalled);
    const resumed = await load.call('resume', { group: 'enigma' });
    const stalledDisconnected = resumed.reduce((a, r) => a + r.disconnected, 0);
    log(
      `stall with ${stalled} stalled: p50 ${withStalled.p50Ms} ms, p99 ${withStalled.p99Ms} ms, ${withStalled.deliveriesPerSec} deliveries/s, ${withStalled.delivered}/${withStalled.expected}; ${stalledDisconnected} stalled clients disconnected`,
    );
    const figures = (s) => ({
      p50Ms: s.p50Ms,
      p99Ms: s.p99Ms,
      deliveriesPerSec: s.deliveriesPerSec,
      delivered: s.delivered,
      expected: s.expected,
      otherCpuCores: s.otherCpuCores,
    });
    return {
      clients,
      stalled,
      rate: RATE,
      frameBytes: 'about 8 KiB',
      durationMsPerStep: durationMs,
      maxBufferedBytes: MAX_BUFFERED_BYTES,
      baseline: figures(baseline),
      withStalled: figures(withStalled),
      p99Ratio: ratio(withStalled.p99Ms, baseline.p99Ms),
      stalledDisconnected,
    };
  } finally {
    await load.disconnect().catch(() => undefined);
    await load.close();
    await server?.stop();
    seed.remove();
  }
}
