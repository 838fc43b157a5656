// The delivery guarantees under faults (docs/delivery.md): the real server
// process is killed with SIGKILL and restarted on the same data dir and port,
// client connections are cut, frozen and refused by a proxy, and SDK clients
// in several processes must still end up with every accepted message exactly
// once, in seq order, with nothing acknowledged lost.
import { afterEach, describe, expect, it } from '@jest/globals';
import { openDatabase, SqlMessageStore, SqlUserStore } from '@enigma/auth-store';
import { createPasswordHasher, generateKey } from '@enigma/crypto';
import { fork, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { startFaultProxy, type FaultProxy } from '../../../tools/testing/fault-proxy.mjs';
import { runProgram, serverEntry, type Program } from '../../../tools/testing/processes.mjs';

const workerEntry = fileURLToPath(new URL('./chat-worker.mjs', import.meta.url));
const password = 'delivery-suite-passphrase-7';

/** A reproducible random sequence (mulberry32): the seed is printed, so a failure can be replayed. */
function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
const seed = Number(process.env['DELIVERY_SEED'] ?? Date.now() % 1_000_000);
const random = seededRandom(seed);
const between = (min: number, max: number): number => min + Math.floor(random() * (max - min));
const pause = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

interface Received {
  id: string;
  seq: number;
  from: string;
  text?: string;
  locked: boolean;
}
interface MemberReport {
  username: string;
  received: Received[];
  accepted: Array<{ n: number; id: string; seq: number }>;
  states: string[];
  errors: string[];
}

/** A process of SDK clients (chat-worker.mjs), driven by request/reply over IPC. */
class Workers {
  readonly #child: ChildProcess;
  readonly #waiting = new Map<number, { resolve(reply: Record<string, unknown>): void; reject(error: Error): void }>();
  #next = 0;
  readonly ready: Promise<void>;

  public constructor() {
    this.#child = fork(workerEntry, [], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
    this.ready = new Promise((resolve) => this.#child.once('message', () => resolve()));
    this.#child.on('message', (message: Record<string, unknown>) => {
      const waiter = this.#waiting.get(message['request'] as number);
      if (waiter === undefined) return;
      this.#waiting.delete(message['request'] as number);
      if (message['type'] === 'failed') waiter.reject(new Error(String(message['error'])));
      else waiter.resolve(message);
    });
    this.#child.once('exit', (code) => {
      for (const waiter of this.#waiting.values()) waiter.reject(new Error(`chat worker exited with ${code}`));
    });
  }

  public async request(command: Record<string, unknown>): Promise<Record<string, unknown>> {
    await this.ready;
    const request = this.#next++;
    return new Promise((resolve, reject) => {
      this.#waiting.set(request, { resolve, reject });
      this.#child.send({ ...command, request });
    });
  }

  public async report(): Promise<MemberReport[]> {
    return (await this.request({ type: 'report' }))['members'] as MemberReport[];
  }

  public async exit(): Promise<void> {
    if (this.#child.exitCode !== null) return;
    const exited = new Promise((resolve) => this.#child.once('exit', resolve));
    await this.request({ type: 'exit' }).catch(() => undefined);
    await exited;
  }
}

/** The server as a real process on a fixed port, which can be killed and started again. */
class ServerProcess {
  #program: Program | undefined;
  public port = 0;
  public fingerprint = '';

  public constructor(
    public readonly dataDir: string,
    private readonly extraArgs: string[] = [],
  ) {}

  public async start(): Promise<void> {
    const program = runProgram(serverEntry, ['--host', '127.0.0.1', '--port', String(this.port), '--data-dir', this.dataDir, ...this.extraArgs]);
    this.#program = program;
    const [, port] = await program.waitFor(/listening on https:\/\/127\.0\.0\.1:(\d+)/);
    this.port = Number(port);
    this.fingerprint = (await program.waitFor(/fingerprint \(SHA-256\): (\S+)/))[1]!;
  }

  public get url(): string {
    return `https://127.0.0.1:${this.port}`;
  }

  public async kill(): Promise<void> {
    const program = this.#program;
    this.#program = undefined;
    program?.child.kill('SIGKILL');
    await program?.exited;
  }

  public async stop(): Promise<void> {
    await this.#program?.stop();
    this.#program = undefined;
  }
}

/** Accounts are written straight into the database: the registration throttle is not what is tested here. */
async function seedAccounts(dataDir: string, usernames: string[]): Promise<void> {
  const database = await openDatabase(path.join(dataDir, 'accounts.db'));
  const users = new SqlUserStore(database, createPasswordHasher({ memoryKiB: 1024, iterations: 1, parallelism: 1 }), { sessionTtlMs: 3_600_000, minPasswordLength: 12 });
  for (const username of usernames) expect((await users.register(username, password)).type).toBe('registered');
  await database.close();
}

async function storedMessages(dataDir: string): Promise<Array<{ id: string; seq: number }>> {
  const database = await openDatabase(path.join(dataDir, 'accounts.db'));
  try {
    return await new SqlMessageStore(database).page({ afterSeq: 0, limit: 1_000_000 });
  } finally {
    await database.close();
  }
}

/**
 * The guarantees, checked for every member against every acknowledgement.
 * Returns the counts it checked, for the log.
 */
function checkDelivery(reports: MemberReport[], sent: Record<string, number>, stored: Array<{ id: string; seq: number }>): Record<string, number> {
  const accepted = new Map<string, { from: string; n: number; seq: number }>();
  for (const report of reports.filter((r) => sent[r.username] !== undefined)) {
    // No sender's message is missing, and a sender's messages got seqs in the order written.
    expect(report.accepted.map((a) => a.n).sort((a, b) => a - b)).toEqual([...Array(sent[report.username]).keys()]);
    const bySendOrder = [...report.accepted].sort((a, b) => a.n - b.n).map((a) => a.seq);
    expect(bySendOrder).toEqual([...bySendOrder].sort((a, b) => a - b));
    for (const a of report.accepted) accepted.set(a.id, { from: report.username, n: a.n, seq: a.seq });
  }
  expect(accepted.size).toBe(Object.values(sent).reduce((a, b) => a + b, 0));

  // Nothing acknowledged is lost from the store, and nothing is stored twice.
  const storedIds = new Set(stored.map((m) => m.id));
  expect(storedIds.size).toBe(stored.length);
  for (const id of accepted.keys()) expect(storedIds.has(id)).toBe(true);

  let deliveries = 0;
  for (const report of reports) {
    const ids = report.received.map((m) => m.id);
    expect(new Set(ids).size).toBe(ids.length); // exactly once
    const seqs = report.received.map((m) => m.seq);
    expect(seqs).toEqual([...seqs].sort((a, b) => a - b)); // in seq order
    const byId = new Map(report.received.map((m) => [m.id, m]));
    for (const [id, expected] of accepted) {
      const got = byId.get(id);
      if (got === undefined) throw new Error(`${report.username} never got ${expected.from} #${expected.n} (seq ${expected.seq})`);
      expect({ from: got.from, seq: got.seq, text: got.text }).toEqual({ from: expected.from, seq: expected.seq, text: `${expected.from} #${expected.n}` });
    }
    deliveries += report.received.length;
  }
  return { members: reports.length, senders: Object.keys(sent).length, accepted: accepted.size, stored: stored.length, deliveries };
}

describe('delivery under faults', () => {
  const cleanups: Array<() => Promise<unknown>> = [];
  afterEach(async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
  });

  async function setUp(usernames: string[], serverArgs: string[] = []): Promise<{ server: ServerProcess; chatKey: string }> {
    const dataDir = await mkdtemp(path.join(tmpdir(), 'enigma-delivery-'));
    cleanups.push(() => rm(dataDir, { recursive: true, force: true }));
    await seedAccounts(dataDir, usernames);
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
    const groups = [await startWorkers(url, server.fingerprint, chatKey, names.slice(0, 5)), await startWorkers(url, server.fingerprint, chatKey, names.slice(5))];

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
    const counts = checkDelivery(reports, Object.fromEntries(names.map((n) => [n, perSender])), await storedMessages(server.dataDir));
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
    const counts = checkDelivery(reports, Object.fromEntries(senders.map((n) => [n, perSender])), await storedMessages(server.dataDir));
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
    const counts = checkDelivery(reports, { sleeper: 5, 'talker-0': 50, 'talker-1': 50 }, await storedMessages(server.dataDir));
    expect(counts.stored).toBe(105);
    console.log(`silent connection (seed ${seed}): ${JSON.stringify(counts)}`);
  }, 120_000);
});
