// The delivery guarantees under faults (docs/delivery.md): the real server
// process is killed with SIGKILL and restarted on the same data dir and port,
// client connections are cut, frozen and refused by a proxy, and SDK clients
// in several processes must still end up with every accepted message exactly
// once, in seq order, with nothing acknowledged lost.
import { afterEach, describe, expect, it } from '@jest/globals';
import { generateKey } from '@enigma/crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { startFaultProxy, type FaultProxy } from '../../../tools/testing/fault-proxy.mjs';
import { checkDelivery, password, pause, seededRandom, seedAccounts, ServerProcess, storedMessages, Workers } from './support.js';

const seed = Number(process.env['DELIVERY_SEED'] ?? Date.now() % 1_000_000);
const random = seededRandom(seed);
const between = (min: number, max: number): number => min + Math.floor(random() * (max - min));

describe('delivery under faults', () => {
  const cleanups: Array<() => Promise<unknown>> = [];
  afterEach(async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
  });

  async function setUp(usernames: string[], serverArgs: string[] = []): Promise<{ server: ServerProcess; chatKey: string }> {
    const dataDir = await mkdtemp(path.join(tmpdir(), 'enigma-delivery-'));
    cleanups.push(() => rm(dataDir, { recursive: true, force: true }));
    await seedAccounts(path.join(dataDir, 'accounts.db'), usernames);
    const server = new ServerProcess(dataDir, serverArgs);
    await server.start();
    cleanups.push(() => server.stop());
    return { server, chatKey: generateKey() };
  }

  async function startWorkers(url: string, fingerprint: string, chatKey: string, usernames: string[]): Promise<Workers> {
    const workers = new Workers();
    cleanups.push(() => workers.exit());
    await workers.request({ type: 'join', url, fingerprint, chatKey, accounts: usernames.map((username) => ({ username, password })) });
    return workers;
  }

  async function proxyTo(server: ServerProcess): Promise<FaultProxy> {
    const proxy = await startFaultProxy(server.port);
    cleanups.push(() => proxy.close());
    return proxy;
  }

  it('loses and doubles nothing while the server is killed with SIGKILL and connections are cut at random', async () => {
    const perSender = 500;
    const names = Array.from({ length: 10 }, (_, i) => `member-${i}`);
    const { server, chatKey } = await setUp(names);
    const proxy = await proxyTo(server);
    const url = `https://127.0.0.1:${proxy.port}`;
    // Ten clients in two processes.
    const groups = [
      await startWorkers(url, server.fingerprint, chatKey, names.slice(0, 5)),
      await startWorkers(url, server.fingerprint, chatKey, names.slice(5)),
    ];

    let chatting = true;
    const chatted = Promise.all(groups.map((g) => g.request({ type: 'chat', count: perSender }))).finally(() => (chatting = false));
    let kills = 0;
    let drops = 0;
    const chaos = (async () => {
      // Three or four kills at random moments while the members write.
      const planned = between(3, 5);
      while (kills < planned) {
        await pause(between(1_000, 5_000));
        await server.kill();
        kills += 1;
        await pause(between(100, 1_500));
        await server.start();
      }
    })();
    const cutting = (async () => {
      while (chatting) {
        await pause(between(200, 900));
        if (proxy.dropRandom(random)) drops += 1;
      }
    })();
    await Promise.all([chatted, chaos, cutting]);
    const total = names.length * perSender;
    await Promise.all(groups.map((g) => g.request({ type: 'await', total })));

    const reports = (await Promise.all(groups.map((g) => g.report()))).flat();
    await server.stop();
    const counts = checkDelivery(reports, Object.fromEntries(names.map((n) => [n, perSender])), await storedMessages(server.database));
    expect(counts.stored).toBe(total);
    expect(counts.deliveries).toBe(total * names.length);
    expect(kills).toBeGreaterThanOrEqual(3);
    console.log(`delivery (seed ${seed}): ${JSON.stringify({ ...counts, serverKills: kills, connectionsCut: drops })}`);
  }, 240_000);

  it('catches a client up on everything after it was offline across a server restart, beyond one resume page', async () => {
    const senders = ['sender-0', 'sender-1', 'sender-2', 'sender-3'];
    const perSender = 300; // 1,200 messages: more than the 1,000 a resume reply carries
    const { server, chatKey } = await setUp(['traveller', ...senders]);
    const proxy = await proxyTo(server);
    const traveller = await startWorkers(`https://127.0.0.1:${proxy.port}`, server.fingerprint, chatKey, ['traveller']);
    const chat = await startWorkers(server.url, server.fingerprint, chatKey, senders);

    proxy.goOffline();
    await chat.request({ type: 'chat', count: perSender / 2 });
    // Everything the server kept in memory about the traveller's connection dies here.
    await server.kill();
    await server.start();
    await chat.request({ type: 'chat', count: perSender / 2, from: perSender / 2 });
    proxy.restore();
    await traveller.request({ type: 'await', total: senders.length * perSender });

    const reports = [...(await traveller.report()), ...(await chat.report())];
    await server.stop();
    const counts = checkDelivery(reports, Object.fromEntries(senders.map((n) => [n, perSender])), await storedMessages(server.database));
    expect(reports[0]!.states).toContain('reconnecting');
    console.log(`offline catch-up (seed ${seed}): ${JSON.stringify(counts)}`);
  }, 120_000);

  it('notices a connection that died silently (a sleeping laptop) by the ping timeout, then resends and catches up', async () => {
    const { server, chatKey } = await setUp(['sleeper', 'talker-0', 'talker-1'], ['--ping-interval', '500', '--ping-timeout', '500']);
    const proxy = await proxyTo(server);
    const sleeper = await startWorkers(`https://127.0.0.1:${proxy.port}`, server.fingerprint, chatKey, ['sleeper']);
    const talkers = await startWorkers(server.url, server.fingerprint, chatKey, ['talker-0', 'talker-1']);

    proxy.freezeAll();
    // The sleeper writes while its connection is dead without knowing it; the others talk on.
    await Promise.all([sleeper.request({ type: 'chat', count: 5 }), talkers.request({ type: 'chat', count: 50 })]);
    await Promise.all([sleeper.request({ type: 'await', total: 105 }), talkers.request({ type: 'await', total: 105 })]);

    const reports = [...(await sleeper.report()), ...(await talkers.report())];
    await server.stop();
    const sleeperReport = reports[0]!;
    expect(sleeperReport.states).toContain('reconnecting');
    // Five from the sleeper, fifty from each talker: one check for all three senders.
    const counts = checkDelivery(reports, { sleeper: 5, 'talker-0': 50, 'talker-1': 50 }, await storedMessages(server.database));
    expect(counts.stored).toBe(105);
    console.log(`silent connection (seed ${seed}): ${JSON.stringify(counts)}`);
  }, 120_000);
});
