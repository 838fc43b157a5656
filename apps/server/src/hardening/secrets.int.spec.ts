// The real server process, logging at debug level, through a session of
// registering, chatting, resuming and making mistakes: afterwards no password,
// chat key, plaintext or session token may be found anywhere it wrote.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { ChatClient, type ChatMessage } from '@enigma/client';
import { generateKey } from '@enigma/crypto';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { io } from 'socket.io-client';
import { startServerProcess, type Program } from '../../../../tools/testing/processes.mjs';
import { call } from '../testing/harness.js';

const alicePassword = 'Alice-s3cret-passphrase-a1f9';
const bobPassword = 'Bob-s3cret-passphrase-77c2d';
const typoPassword = 'Typo-s3cret-in-the-name-field';
const marker = `plaintext-marker-${Math.random().toString(36).slice(2)}`;
const afterResume = `second-marker-${Math.random().toString(36).slice(2)}`;

async function filesUnder(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { withFileTypes: true, recursive: true });
  return entries.filter((e) => e.isFile()).map((e) => path.join(e.parentPath, e.name));
}

function until<T>(client: ChatClient, event: 'message' | 'state', test: (payload: T) => boolean): Promise<T> {
  return new Promise((resolve) => {
    const off = client.on(event, (payload) => {
      if (test(payload as T)) {
        off();
        resolve(payload as T);
      }
    });
  });
}

describe('secrets at rest and in logs', () => {
  let root: string;
  let dataDir: string;
  let logFile: string;
  let program: Program;
  let url: string;
  let fingerprint: string;
  const chatKey = generateKey();
  const tokens: string[] = [];
  const clients: ChatClient[] = [];

  beforeAll(async () => {
    root = await mkdtemp(path.join(tmpdir(), 'enigma-secrets-'));
    dataDir = path.join(root, 'data');
    logFile = path.join(root, 'logs', 'server.log');
    ({ program, url, fingerprint } = (await startServerProcess(dataDir, ['--log-level', 'debug', '--log-file', logFile])) as {
      program: Program;
      url: string;
      fingerprint: string;
    });
  });
  afterAll(async () => {
    for (const client of clients) client.close();
    await program?.stop();
    await rm(root, { recursive: true, force: true });
  });

  const client = (): ChatClient => {
    const c = new ChatClient({ chatKey });
    clients.push(c);
    return c;
  };

  it('should register, chat, resume and refuse mistakes', async () => {
    const alice = client();
    const bob = client();
    await alice.connect({ url, fingerprint });
    await bob.connect({ url, fingerprint });
    const aliceLogin = await alice.register('alice', alicePassword);
    const bobLogin = await bob.register('bob', bobPassword);
    expect(aliceLogin.type).toBe('LOGIN_SUCCESSFUL');
    expect(bobLogin.type).toBe('LOGIN_SUCCESSFUL');
    if (aliceLogin.type === 'LOGIN_SUCCESSFUL') tokens.push(aliceLogin.session);
    if (bobLogin.type === 'LOGIN_SUCCESSFUL') tokens.push(bobLogin.session);

    const seen = until<ChatMessage>(bob, 'message', (m) => m.text === marker);
    await alice.send(marker);
    expect(await seen).toMatchObject({ from: 'alice', text: marker });

    // The operator pauses and restarts: both clients come back by resuming their sessions.
    const aliceBack = until<string>(alice, 'state', (s) => s === 'connected');
    const bobBack = until<string>(bob, 'state', (s) => s === 'connected');
    program.command('stop');
    await program.waitFor(/^stopped: /);
    program.command('start');
    await Promise.all([aliceBack, bobBack]);
    const seenAgain = until<ChatMessage>(alice, 'message', (m) => m.text === afterResume);
    await bob.send(afterResume);
    expect(await seenAgain).toMatchObject({ from: 'bob', text: afterResume });

    // Mistakes, through the SDK...
    const clumsy = client();
    await clumsy.connect({ url, fingerprint });
    expect(await clumsy.login('alice', bobPassword)).toMatchObject({ type: 'INVALID_PASSWORD' });
    expect(await clumsy.login(typoPassword, typoPassword)).toMatchObject({ type: 'INVALID_USERNAME' });
    expect(await clumsy.register('alice', alicePassword)).toEqual({ type: 'USER_IN_DATABASE' });
    expect(await clumsy.register('carol', 'short')).toMatchObject({ type: 'INVALID_PASSWORD' });

    // ...and by hand, with secrets inside malformed requests.
    const ca = (await readFile(path.join(dataDir, 'tls-cert.pem'), 'utf8')).toString();
    // Only the pinned certificate is trusted; its name need not match 127.0.0.1.
    const raw = io(url, { transports: ['websocket'], ca, reconnection: false, forceNew: true, checkServerIdentity: () => undefined } as Parameters<
      typeof io
    >[1]);
    await new Promise<void>((resolve) => raw.once('connect', () => resolve()));
    const ask = (event: string, ...args: unknown[]): Promise<{ type: string }> => call(raw, event, ...args);
    expect(await ask('LOGIN_ATTEMPTING', { username: 'alice', password: alicePassword, key: chatKey })).toMatchObject({ type: 'MALFORMED_REQUEST' });
    expect(await ask('LOGIN_ATTEMPTING', { username: 'alice', password: { value: alicePassword } })).toMatchObject({ type: 'MALFORMED_REQUEST' });
    expect(await ask('RESUME_SESSION', { session: tokens[0], afterSeq: -1 })).toMatchObject({ type: 'MALFORMED_REQUEST' });
    expect(await ask('RESUME_SESSION', { session: `${tokens[0]}x`, afterSeq: 0 })).toEqual({ type: 'SESSION_EXPIRED' });
    expect(await ask('CLIENT_TO_SERVER', marker)).toEqual({ type: 'NOT_LOGGED_IN' });
    expect(await ask('HISTORY', { limit: alicePassword })).toEqual({ type: 'NOT_LOGGED_IN' });
    raw.disconnect();
  }, 60_000);

  it('should leave none of them in the data dir (database, WAL), the logs, stdout or stderr', async () => {
    const secrets: Record<string, string> = {
      alicePassword,
      bobPassword,
      typoPassword,
      chatKey,
      marker,
      afterResume,
      aliceSession: tokens[0]!,
      bobSession: tokens[1]!,
    };
    /** Every (place, name) where a needle occurs, as UTF-8 or UTF-16 (SQLite may store text either way). */
    const scan = async (needles: Record<string, string>): Promise<string[]> => {
      const places: Array<[string, Buffer]> = [];
      for (const file of [...(await filesUnder(dataDir)), ...(await filesUnder(path.dirname(logFile)))])
        places.push([path.relative(root, file), await readFile(file)]);
      places.push(['stdout', Buffer.from(program.lines.join('\n'))], ['stderr', Buffer.from(program.stderr)]);
      const found: string[] = [];
      for (const [place, bytes] of places) {
        for (const [name, needle] of Object.entries(needles)) {
          if (bytes.includes(Buffer.from(needle, 'utf8')) || bytes.includes(Buffer.from(needle, 'utf16le'))) found.push(`${name} in ${place}`);
        }
      }
      return found;
    };

    // While the server runs: the WAL holds the recent writes.
    expect((await filesUnder(dataDir)).map((f) => path.basename(f))).toEqual(expect.arrayContaining(['accounts.db', 'tls-cert.pem', 'tls-key.pem']));
    // The scan does see what is stored (or finding nothing would prove nothing).
    expect(await scan({ bob: 'bob' })).toEqual(expect.arrayContaining([expect.stringMatching(/^bob in data\/accounts\.db/)]));
    expect(await scan(secrets)).toEqual([]);

    program.command('status');
    await program.waitFor(/^online: /);
    await program.stop();
    const log = await readFile(logFile, 'utf8');
    expect(log).toMatch(/"msg":"server started"/);
    expect(log).toMatch(/"msg":"paused"/);
    // After a clean stop everything is checkpointed into the database file.
    expect(await scan(secrets)).toEqual([]);
  });
});
