// Scenario 2, memory: what one idle, logged-in connection costs the server.
// A fresh server per measurement: RSS and heap (from its `stats` line, RSS
// cross-checked in /proc) before and after connecting N clients.
import { LoadGenerator } from '../lib/load.mjs';
import { accountsFor, authFor, seedDataDir } from '../lib/seed.mjs';
import { startServer } from '../lib/servers.mjs';
import { log, ratio, round, sleep } from '../lib/util.mjs';

const KINDS = ['enigma', 'socketio', 'ws'];
async function measure(kind, connections, settleMs) {
  const seed = kind === 'enigma' ? await seedDataDir({ accounts: accountsFor(connections), sessions: connections }) : undefined;
  const server = await startServer(kind, { dataDir: seed?.dataDir });
  const load = new LoadGenerator(2);
  try {
    await sleep(settleMs);
    const before = await server.stats();
    const vmBefore = server.vmRssBytes();
    const connection = await load.connect(kind, server.url, connections, authFor(kind, seed, connections));
    await sleep(settleMs);
    const after = await server.stats();
    const vmAfter = server.vmRssBytes();
    const held = after.sessions;
    const result = {
      connections,
      connected: connection.connected - connection.failed,
      failed: connection.failed,
      firstError: connection.firstError ?? null,
      sessionsSeenByServer: held,
      connectMs: round(connection.ms),
      rssBeforeBytes: before.rssBytes,
      rssAfterBytes: after.rssBytes,
      // Per connection actually held, so a partial run still gives a fair figure.
      bytesPerConnection: held > 0 ? Math.round((after.rssBytes - before.rssBytes) / held) : null,
      heapBytesPerConnection: held > 0 ? Math.round((after.heapBytes - before.heapBytes) / held) : null,
      procRssBytesPerConnection: held > 0 ? Math.round((vmAfter - vmBefore) / held) : null,
    };
    log(
      `memory ${kind} ${connections}: ${result.connected} held (${result.failed} failed) in ${Math.round(connection.ms)} ms; ${result.bytesPerConnection} B RSS, ${result.heapBytesPerConnection} B heap per connection`,
    );
    return result;
  } catch (error) {
    log(`memory ${kind} ${connections}: failed: ${error.message}`);
    return { connections, error: String(error.message), bytesPerConnection: null };
  } finally {
    await load.disconnect().catch(() => undefined);
    await load.close();
    await server.stop();
    seed?.remove();
  }
}

export async function memory({ quick }) {
  const sizes = quick ? [1000] : [1000, 10_000];
  const runs = [];
  for (const connections of sizes) {
    const row = { connections };
    // Long enough for the server's allocations to settle and a GC or two to run.
    // bare ws only at the smaller size: it is the floor, not the comparison, and time is short.
    for (const kind of KINDS)
      row[kind] =
        kind === 'ws' && connections > 1000 ? { connections, skipped: true, bytesPerConnection: null } : await measure(kind, connections, quick ? 1500 : 3000);
    row.ratio = ratio(row.enigma.bytesPerConnection, row.socketio.bytesPerConnection);
    row.heapRatio = ratio(row.enigma.heapBytesPerConnection, row.socketio.heapBytesPerConnection);
    runs.push(row);
  }
  return runs;
}
