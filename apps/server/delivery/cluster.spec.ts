// Several server nodes on one Redis and one PostgreSQL (real servers, started
// for this suite): any node serves any client; presence, history and the seq
// order agree everywhere; a node killed with SIGKILL loses nothing.
import { afterAll, afterEach, beforeAll, describe, expect, it } from '@jest/globals';
import { ChatClient, type ChatMessage } from '@enigma/client';
import { generateKey } from '@enigma/crypto';
import type { PresenceEvent } from '@enigma/protocol';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { serviceOrSkip, startPostgres, startRedis, type PostgresService, type RunningService } from '../../../tools/testing/services.mjs';
import { checkDelivery, password, pause, seededRandom, seedAccounts, ServerProcess, storedMessages, Workers } from './support.js';

const runs = serviceOrSkip('redis') && serviceOrSkip('postgres');
const seed = Number(process.env['DELIVERY_SEED'] ?? Date.now() % 1_000_000);
const random = seededRandom(seed);

/** Resolves with the first event of that kind that satisfies the test. */
function next<T>(subscribe: (handler: (value: T) => void) => () => void, test: (value: T) => boolean = () => true): Promise<T> {
  return new Promise((resolve) => {
    const off = subscribe((value) => {
      if (!test(value)) return;
      off();
      resolve(value);
    });
  });
}

(runs ? describe : describe.skip)('several nodes on Redis and PostgreSQL', () => {
  let redis: RunningService;
  let postgres: PostgresService;
  const cleanups: Array<() => Promise<unknown>> = [];

  beforeAll(async () => {
    [redis, postgres] = await Promise.all([startRedis(), startPostgres()]);
  }, 60_000);
  afterAll(async () => {
    await redis?.stop();
    await postgres?.stop();
  });
  afterEach(async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
  });

  /** A fresh database and Redis namespace (flushed) per test, and `count` nodes sharing them and one certificate. */
  async function startNodes(count: number, usernames: string[] = [], args: string[] = []): Promise<{ nodes: ServerProcess[]; database: string }> {
    const database = await postgres.createDatabase();
    const { Redis } = await import('ioredis');
    const flush = new Redis(redis.url);
    await flush.flushall();
    flush.disconnect();
    if (usernames.length > 0) await seedAccounts(database, usernames);

    const nodes: ServerProcess[] = [];
    for (let i = 0; i < count; i += 1) {
      const dataDir = await mkdtemp(path.join(tmpdir(), `enigma-node-${i}-`));
      cleanups.push(() => rm(dataDir, { recursive: true, force: true }));
      // The first node makes the certificate; the others present the same one (one invite, one pin).
      const tls = i === 0 ? [] : ['--tls-cert', path.join(nodes[0]!.dataDir, 'tls-cert.pem'), '--tls-key', path.join(nodes[0]!.dataDir, 'tls-key.pem')];
      const node = new ServerProcess(dataDir, ['--database-url', database, '--redis-url', redis.url, ...tls, ...args]);
      await node.start();
      cleanups.push(() => node.stop());
      nodes.push(node);
    }
    return { nodes, database };
  }

  async function client(node: ServerProcess, chatKey: string): Promise<ChatClient> {
    const chat = new ChatClient({ chatKey });
    await chat.connect({ url: node.url, fingerprint: node.fingerprint });
    cleanups.push(async () => chat.close());
    return chat;
  }

  it('lets clients on three nodes chat: one account everywhere, presence announced once, the same history and seq order on every node, throttles shared', async () => {
    const { nodes } = await startNodes(3);
    const chatKey = generateKey();
    const alice = await client(nodes[0]!, chatKey);
    const joinedSeenByAlice: string[] = [];
    alice.on('joined', (event) => joinedSeenByAlice.push(event.username));
    expect((await alice.register('alice', password)).type).toBe('LOGIN_SUCCESSFUL');

    const bob = await client(nodes[1]!, chatKey);
    const bobJoined = next<PresenceEvent>(
      (h) => alice.on('joined', h),
      (e) => e.username === 'bob',
    );
    expect((await bob.register('bob', password)).type).toBe('LOGIN_SUCCESSFUL');
    await bobJoined;

    // Registered on node 1, logs in on node 3 — and is told who is online on every node.
    const aliceOnNode3 = await client(nodes[2]!, chatKey);
    await expect(aliceOnNode3.login('alice', password)).resolves.toMatchObject({ type: 'LOGIN_SUCCESSFUL', online: ['alice', 'bob'] });

    // Messages from every node reach every client, in one seq order.
    const everyone = [alice, bob, aliceOnNode3];
    const received = everyone.map(() => [] as ChatMessage[]);
    everyone.forEach((c, i) => c.on('message', (m) => received[i]!.push(m)));
    const all = Promise.all(
      everyone.map((c) =>
        next<ChatMessage>(
          (h) => c.on('message', h),
          (m) => m.text === 'from node 3',
        ),
      ),
    );
    await alice.send('from node 1');
    await bob.send('from node 2');
    await aliceOnNode3.send('from node 3');
    await all;
    for (const messages of received) expect(messages.map((m) => m.text)).toEqual(['from node 1', 'from node 2', 'from node 3']);
    expect(new Set(received.map((messages) => messages.map((m) => m.seq).join()))).toHaveProperty('size', 1);

    // A second session of alice (on node 3) was no news: bob joined, nobody else.
    expect(joinedSeenByAlice).toEqual(['bob']);

    // History is the same on every node.
    const histories = await Promise.all(everyone.map((c) => c.history()));
    for (const history of histories) expect(history.map((m) => m.id)).toEqual(received[0]!.map((m) => m.id));

    // Every node's console sees the whole cluster.
    for (const node of nodes) {
      const [, users, sessions] = await node.ask('status', /online: (\d+) users in (\d+) sessions/);
      expect([Number(users), Number(sessions)]).toEqual([2, 3]);
    }
    expect((await nodes[1]!.ask('status', /cluster: this is node \S+, (\d+) nodes alive/))[1]).toBe('3');

    // Bob leaves: announced once; alice's second session leaving is no news while her first stays.
    const bobLeft = next<PresenceEvent>((h) => alice.on('left', h));
    bob.close();
    expect((await bobLeft).username).toBe('bob');
    const leftSeenByAlice: string[] = [];
    alice.on('left', (event) => leftSeenByAlice.push(event.username));
    await aliceOnNode3.logout();
    const marker = next<ChatMessage>(
      (h) => alice.on('message', h),
      (m) => m.text === 'still here',
    );
    await alice.send('still here');
    await marker;
    await expect(nodes[2]!.ask('status', /online: (\d+) users in (\d+) sessions/)).resolves.toContain('online: 1 users in 1 sessions');
    expect(leftSeenByAlice).toEqual([]);

    // Throttles are shared: guesses spread over two nodes block the account on the third.
    const guesser = [await client(nodes[0]!, chatKey), await client(nodes[1]!, chatKey)];
    for (let i = 0; i < 6; i += 1) await guesser[i % 2]!.login('bob', `wrong-password-${i}`);
    const owner = await client(nodes[2]!, chatKey);
    await expect(owner.login('bob', password)).resolves.toMatchObject({ type: 'RATE_LIMITED' });
  }, 120_000);

  it('keeps every message when a node is killed with SIGKILL: its clients move to the others and catch up, nothing lost or doubled', async () => {
    const names = Array.from({ length: 6 }, (_, i) => `member-${i}`);
    const { nodes, database } = await startNodes(3, names);
    const chatKey = generateKey();
    const urls = nodes.map((n) => n.url);
    // Member i starts on node i % 3 and knows the others.
    const accounts = names.map((username, i) => ({ username, password, url: [...urls.slice(i % 3), ...urls.slice(0, i % 3)] }));
    const groups = [new Workers(), new Workers()];
    for (const group of groups) cleanups.push(() => group.exit());
    await groups[0]!.request({ type: 'join', fingerprint: nodes[0]!.fingerprint, chatKey, accounts: accounts.slice(0, 3) });
    await groups[1]!.request({ type: 'join', fingerprint: nodes[0]!.fingerprint, chatKey, accounts: accounts.slice(3) });

    const perSender = 200;
    const chatted = Promise.all(groups.map((g) => g.request({ type: 'chat', count: perSender })));
    await pause(1_000 + Math.floor(random() * 3_000));
    await nodes[0]!.kill();
    await chatted;
    const total = names.length * perSender;
    await Promise.all(groups.map((g) => g.request({ type: 'await', total })));

    const reports = (await Promise.all(groups.map((g) => g.report()))).flat();
    const counts = checkDelivery(reports, Object.fromEntries(names.map((n) => [n, perSender])), await storedMessages(database));
    expect(counts.stored).toBe(total);
    // The members that started on the killed node went through a reconnect.
    for (const report of reports.filter((r) => ['member-0', 'member-3'].includes(r.username))) expect(report.states).toContain('reconnecting');
    console.log(`cluster node kill (seed ${seed}): ${JSON.stringify(counts)}`);
  }, 180_000);

  it('shares registration invites between nodes, and counts bad tokens from an address on every node together', async () => {
    const { nodes } = await startNodes(2, [], ['--registration', 'invite']);
    const chatKey = generateKey();
    const invite = async (node: ServerProcess): Promise<string> =>
      (await node.ask('invite create', /^token \(shown this once; the server keeps only its hash\): (\S+)$/))[1]!;
    const token = await invite(nodes[0]!);
    // Made on node 1, used on node 2, spent for node 1 too.
    await expect((await client(nodes[1]!, chatKey)).register('newcomer', password, { invite: token })).resolves.toMatchObject({ type: 'LOGIN_SUCCESSFUL' });
    await expect((await client(nodes[0]!, chatKey)).register('copycat', password, { invite: token })).resolves.toEqual({
      type: 'INVITE_INVALID',
      reason: 'used',
    });
    // Four wrong tokens split over the nodes: with the spent one, five from this address.
    for (let i = 0; i < 4; i++) {
      const reply = await (await client(nodes[(i + 1) % 2]!, chatKey)).register('guesser', password, { invite: `wrong-token-${i}-000000000` });
      expect(reply).toEqual({ type: 'INVITE_INVALID', reason: 'unknown' });
    }
    // Neither node alone saw five, yet both now refuse this address, even a good token.
    const fresh = await invite(nodes[1]!);
    for (const node of nodes)
      await expect((await client(node, chatKey)).register('guesser', password, { invite: fresh })).resolves.toMatchObject({ type: 'RATE_LIMITED' });
  }, 120_000);
});
