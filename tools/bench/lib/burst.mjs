// A login burst: N fresh clients connect, then all send their login (or
// resume) at the same instant; the figures are per-client times to the reply.
import { median, percentile, round } from './util.mjs';

/**
 * @param {import('./load.mjs').LoadGenerator} load
 * @param {{ url: string, clients: number, auth: object, server?: { stats(): Promise<object> } }} options
 *   server: when given, its event-loop delay is reset before and read after the burst
 */
export async function burstRound(load, { url, clients, auth, server }) {
  const connection = await load.connect('burst', url, clients);
  if (connection.failed > 0) throw new Error(`${connection.failed} clients failed to connect: ${connection.firstError}`);
  try {
    await server?.stats(); // resets the event-loop histogram
    const results = await load.burst('burst', auth);
    const stats = await server?.stats();
    const ok = results.filter((r) => r.ok);
    const allServedMs = Math.max(...results.map((r) => r.ms));
    return {
      clients,
      ok: ok.length,
      failed: results.length - ok.length,
      firstError: results.find((r) => !r.ok)?.error ?? null,
      allServedMs: round(allServedMs),
      perSec: round(clients / (allServedMs / 1000)),
      p50Ms: round(
        percentile(
          ok.map((r) => r.ms),
          50,
        ),
      ),
      p99Ms: round(
        percentile(
          ok.map((r) => r.ms),
          99,
        ),
      ),
      historyMessages: ok.length ? Math.min(...ok.map((r) => r.history)) : null,
      replyBytes: ok.length ? Math.max(...ok.map((r) => r.bytes)) : null,
      eventLoopDelayP99Ms: stats?.loopP99Ms ?? null,
      eventLoopDelayMaxMs: stats?.loopMaxMs ?? null,
    };
  } finally {
    await load.disconnect('burst');
  }
}

/** Median of each numeric field over rounds (the other fields from the first round). */
export function medianRound(rounds) {
  const out = { ...rounds[0], rounds: rounds.length };
  for (const key of Object.keys(rounds[0])) {
    const values = rounds.map((r) => r[key]).filter((v) => typeof v === 'number');
    if (values.length === rounds.length) out[key] = round(median(values));
  }
  out.failed = Math.max(...rounds.map((r) => r.failed));
  return out;
}
