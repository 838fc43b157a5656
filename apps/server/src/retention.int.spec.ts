// Retention (`--retention`) and the console's `backup`, through the real
// server process (`node dist/main.js`), its console, raw socket.io clients
// and the SDK.
import { afterEach, describe, expect, it, jest } from '@jest/globals';
import { ChatClient, type ChatMessage, type PrunedEvent } from '@enigma/client';
import { openDatabase, SqlMessageStore } from '@enigma/auth-store';
import { Fernet, generateKey } from '@enigma/crypto';
import { encodeFrame, parseFrame, type Relayed } from '@enigma/protocol';
import Database from 'better-sqlite3';
import { stat } from 'node:fs/promises';
import path from 'node:path';
import { io as connectClient, type Socket } from 'socket.io-client';
import { PASSWORD, seedDataDir } from '../../../tools/fixtures/seed-data-dir.mjs';
import { startServerProcess, type Program, retentionState, untilPruned } from '../../../tools/testing/processes.mjs';

jest.setTimeout(60_000);

const DAY = 86_400_000;
const key = generateKey();
const fernet = new Fernet(key);
const frame = (text: string): string => encodeFrame(fernet.encrypt(text));

type Reply = { type: string } & Record<string, unknown>;
const call = (socket: Socket, event: string, payload: unknown): Promise<Reply> => socket.timeout(10_000).emitWithAck(event, payload) as Promise<Reply>;

/** Rows written straight into the data dir's database, as a server that ran long ago would have left them. */
async function insertMessages(dataDir: string, rows: Array<{ text: string; ts: number }>): Promise<void> {
  const database = await openDatabase(path.join(dataDir, 'accounts.db'));
  try {
    for (const row of rows) {
      const f = frame(row.text);
      await database.current().query('INSERT INTO messages (id, sender, ts, frame) VALUES (?, ?, ?, ?)', [f.slice(0, 32), 'bench00000', row.ts, f]);
    }
  } finally {
    await database.close();
  }
}

describe('retention and backup, through the real server process', () => {
  const cleanups: Array<() => unknown> = [];
  afterEach(async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
  });

  const seeded = async (sessions = 2): Promise<Awaited<ReturnType<typeof seedDataDir>>> => {
    const seed = await seedDataDir({ accounts: 2, sessions });
    cleanups.push(() => seed.remove());
    return seed;
  };
  const start = async (dataDir: string, args: string[] = []): Promise<{ program: Program; url: string; fingerprint: string | undefined }> => {
    const server = await startServerProcess(dataDir, args);
    cleanups.push(() => server.program.stop());
    return server;
  };
  const raw = async (url: string): Promise<Socket> => {
    const socket = connectClient(url, { transports: ['websocket'], rejectUnauthorized: false, reconnection: false, forceNew: true } as never);
    cleanups.push(() => socket.close());
    await new Promise<void>((resolve, reject) => {
      socket.once('connect', resolve);
      socket.once('connect_error', reject);
    });
    return socket;
  };
  const sdk = (): { client: ChatClient; messages: ChatMessage[]; pruned: PrunedEvent[] } => {
    const client = new ChatClient({ chatKey: key });
    cleanups.push(() => client.close());
    const messages: ChatMessage[] = [];
    const pruned: PrunedEvent[] = [];
    client.on('message', (m) => messages.push(m));
    client.on('pruned', (e) => pruned.push(e));
    return { client, messages, pruned };
  };
  const oldAndRecent = (): Array<{ text: string; ts: number }> => [
    ...[1, 2, 3, 4, 5].map((n) => ({ text: `old ${n}`, ts: Date.now() - 10 * DAY })),
    ...[1, 2].map((n) => ({ text: `recent ${n}`, ts: Date.now() - 3_600_000 })),
  ];

  it('should delete messages older than --retention and keep the rest; logins, resumes and history say where it cut', async () => {
    const seed = await seeded();
    await insertMessages(seed.dataDir, oldAndRecent()); // seqs 1-5 ten days old, 6-7 an hour old
    const { program, url, fingerprint } = await start(seed.dataDir, ['--retention', '1d']);
    expect(program.lines).toContainEqual(expect.stringMatching(/^retention: 1d \(checked every 1m\)/));
    await untilPruned(program, 6);

    // A login: the backlog starts where retention cut, and the SDK says so.
    const member = sdk();
    await member.client.connect({ url, fingerprint });
    expect(await member.client.login(seed.usernames[0]!, PASSWORD)).toMatchObject({ type: 'LOGIN_SUCCESSFUL', lastSeq: 7, prunedBefore: 6 });
    expect(member.messages.map((m) => [m.seq, m.text])).toEqual([
      [6, 'recent 1'],
      [7, 'recent 2'],
    ]);
    expect(member.pruned).toEqual([{ before: 6 }]);
    expect(member.client.prunedBefore).toBe(6);
    // Paging back ends at the cut: nothing older will come.
    expect(await member.client.history({ beforeSeq: 6 })).toEqual([]);
    expect(member.pruned).toEqual([{ before: 6 }, { before: 6 }]);

    // A resume from before the pruned range: what remains, and the marker.
    const socket = await raw(url);
    const resumed = await call(socket, 'RESUME_SESSION', { session: seed.sessions[1], afterSeq: 2 });
    expect(resumed).toMatchObject({ type: 'LOGIN_SUCCESSFUL', lastSeq: 7, prunedBefore: 6 });
    expect((resumed['history'] as Relayed[]).map((m) => m.seq)).toEqual([6, 7]);

    // New messages are kept, numbered on from the last one.
    expect(await member.client.send('new')).toMatchObject({ seq: 8 });
    const page = await call(socket, 'HISTORY', { afterSeq: 0, limit: 100 });
    expect(page).toMatchObject({ type: 'HISTORY', prunedBefore: 6 });
    expect((page['messages'] as Relayed[]).map((m) => m.seq)).toEqual([6, 7, 8]);
  });

  it('should keep every message without --retention, and answer as a v1 server does', async () => {
    const seed = await seeded();
    await insertMessages(seed.dataDir, oldAndRecent());
    const { program, url } = await start(seed.dataDir);
    expect((await retentionState(program)).line).toBe('retention: off (every message is kept)');
    const socket = await raw(url);
    const resumed = await call(socket, 'RESUME_SESSION', { session: seed.sessions[0], afterSeq: 0 });
    expect((resumed['history'] as Relayed[]).map((m) => m.seq)).toEqual([1, 2, 3, 4, 5, 6, 7]);
    expect(resumed).not.toHaveProperty('prunedBefore');
    expect(await call(socket, 'HISTORY', { beforeSeq: 3 })).not.toHaveProperty('prunedBefore');
  });

  it('should let an SDK client that was away longer than the retention resume: told what it missed, shown what remains, no wait for the pruned seqs', async () => {
    const seed = await seeded();
    const first = await start(seed.dataDir);
    const port = new URL(first.url).port;
    const away = sdk();
    await away.client.connect({ url: first.url, fingerprint: first.fingerprint });
    expect(await away.client.login(seed.usernames[0]!, PASSWORD)).toMatchObject({ type: 'LOGIN_SUCCESSFUL', lastSeq: 0 });
    // The server goes down with the client still holding its session (it keeps trying to reconnect).
    await first.program.stop();
    // Meanwhile: messages it never saw, then retention removes the first five.
    await insertMessages(seed.dataDir, oldAndRecent());
    const database = await openDatabase(path.join(seed.dataDir, 'accounts.db'));
    expect(await new SqlMessageStore(database).prune(Date.now() - DAY, 1000)).toBe(5);
    await database.close();

    const shown = new Promise<void>((resolve) => away.client.on('message', (m) => m.seq === 7 && resolve()));
    await start(seed.dataDir, ['--port', port]);
    await shown; // the client reconnected and resumed from seq 0 by itself
    expect(away.pruned).toEqual([{ before: 6, missedFrom: 1 }]);
    expect(away.messages.map((m) => [m.seq, m.text])).toEqual([
      [6, 'recent 1'],
      [7, 'recent 2'],
    ]);
    // A live message right after is shown at once (the pruned seqs are no gap to wait out).
    const live = new Promise<ChatMessage>((resolve) => away.client.on('message', (m) => m.seq === 8 && resolve(m)));
    await away.client.send('back');
    expect((await live).text).toBe('back');
    expect(away.client.lastSeq).toBe(8);
  });

  it('should prune messages sent a moment ago with a short retention (2s), and number on after a restart with the chat empty', async () => {
    const seed = await seeded();
    let server = await start(seed.dataDir, ['--retention', '2s']);
    expect(server.program.lines).toContainEqual(expect.stringMatching(/^retention: 2s \(checked every 1s\)/));
    const member = sdk();
    await member.client.connect({ url: server.url, fingerprint: server.fingerprint });
    await member.client.login(seed.usernames[0]!, PASSWORD);
    for (const text of ['one', 'two', 'three']) await member.client.send(text);
    await untilPruned(server.program, 4);
    member.client.close();
    await server.program.stop();

    server = await start(seed.dataDir);
    const socket = await raw(server.url);
    const resumed = await call(socket, 'RESUME_SESSION', { session: seed.sessions[0], afterSeq: 0 });
    // Everything is gone, but the numbering is not reset: a client that saw seq 3 is not confused by a new seq 1.
    expect(resumed).toMatchObject({ type: 'LOGIN_SUCCESSFUL', history: [], lastSeq: 3, prunedBefore: 4 });
    expect(await call(socket, 'CLIENT_TO_SERVER', frame('four'))).toMatchObject({ type: 'ACCEPTED', seq: 4 });
  });

  it('should write a backup while clients keep sending; a server started on the copy has every message acknowledged before it, whole', async () => {
    const senders = 6;
    const seed = await seeded(senders + 1);
    // A history of some size (~25 MB), so the copy takes many steps with frames arriving between them.
    const history = new Database(path.join(seed.dataDir, 'accounts.db'));
    const insert = history.prepare('INSERT INTO messages (id, sender, ts, frame) VALUES (?, ?, ?, ?)');
    history.transaction(() => {
      for (let n = 0; n < 12_000; n++) {
        const f = frame(`message ${n} from 9 ${'x'.repeat(1500)}`);
        insert.run(f.slice(0, 32), 'bench00000', Date.now(), f);
      }
    })();
    history.close();
    const { program, url } = await start(seed.dataDir);
    const sockets = await Promise.all(seed.sessions.slice(0, senders).map(() => raw(url)));
    for (const [i, socket] of sockets.entries())
      expect(await call(socket, 'RESUME_SESSION', { session: seed.sessions[i], afterSeq: 0 })).toMatchObject({ type: 'LOGIN_SUCCESSFUL' });

    // Each sender: one frame in flight, as the SDK does, until told to stop.
    const accepted: string[] = [];
    let sending = true;
    const loops = sockets.map(async (socket, sender) => {
      for (let n = 0; sending; n++) {
        const reply = await call(socket, 'CLIENT_TO_SERVER', frame(`message ${n} from ${sender}`));
        if (reply.type === 'ACCEPTED') accepted.push(reply['id'] as string);
      }
    });
    while (accepted.length < 300) await new Promise((resolve) => setTimeout(resolve, 20));

    const before = new Set(accepted); // acknowledged before the command was given
    const from = program.lines.length;
    program.command('backup backups/copy.db');
    const [line] = await program.waitFor(/^backup: .*/, from);
    const duringBackup = accepted.length - before.size;
    sending = false;
    await Promise.all(loops);
    expect(line).toMatch(/^backup: wrote .*backups\/copy\.db \([\d.]+ MB\) in [\d.]+ s/);
    const copy = path.join(seed.dataDir, 'backups', 'copy.db');
    expect((await stat(copy)).mode & 0o777).toBe(0o600);

    // Not twice: an existing file is refused unless --overwrite is given.
    const again = program.lines.length;
    program.command('backup backups/copy.db');
    expect((await program.waitFor(/^backup: .*/, again))[0]).toMatch(/already exists; choose another name, or add --overwrite/);
    await program.stop();

    // A server on the copy (its own data dir for TLS, the copy as its database).
    const restored = await start(seed.dataDir, ['--database', copy]);
    const socket = await raw(restored.url);
    expect(await call(socket, 'RESUME_SESSION', { session: seed.sessions[senders], afterSeq: 0 })).toMatchObject({ type: 'LOGIN_SUCCESSFUL' });
    const stored: Relayed[] = [];
    for (;;) {
      const page = await call(socket, 'HISTORY', { afterSeq: stored.at(-1)?.seq ?? 0, limit: 500 });
      // Pages are bounded in bytes too (and in rate): `more` says whether to go on.
      if (page.type === 'RATE_LIMITED') {
        await new Promise((resolve) => setTimeout(resolve, page['retryAfterMs'] as number));
        continue;
      }
      stored.push(...(page['messages'] as Relayed[]));
      if (page['more'] !== true) break;
    }
    const ids = new Set(stored.map((m) => m.id));
    expect(stored.length).toBeGreaterThanOrEqual(12_000 + before.size);
    expect([...before].filter((id) => !ids.has(id))).toEqual([]);
    // Whole frames only, in an unbroken run of seqs: nothing half-written.
    expect(stored.map((m) => m.seq)).toEqual(stored.map((_, i) => i + 1));
    for (const message of stored) {
      expect(parseFrame(message.frame).id).toBe(message.id);
      expect(fernet.decryptText(message.frame.slice(32))).toMatch(/^message \d+ from \d( x+)?$/);
    }
    await restored.program.stop();
    const file = new Database(copy, { readonly: true });
    try {
      expect(file.pragma('integrity_check')).toEqual([{ integrity_check: 'ok' }]);
    } finally {
      file.close();
    }
    process.stdout.write(`backup while sending: ${before.size} acknowledged before it, ${duringBackup} during it, ${stored.length} in the copy\n`);
  });
});
