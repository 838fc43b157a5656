// Look-alike usernames (issue 16, item 2) as an operator meets them: the real
// server process on a database that already holds an impostor, its console
// through a stdin pipe, and clients registering and logging in.
import { afterAll, beforeAll, describe, expect, it, jest } from '@jest/globals';
import { ChatClient } from '@enigma/client';
import { generateKey } from '@enigma/crypto';
import type { ServerNotice } from '@enigma/protocol';
import Database from 'better-sqlite3';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { consoleCommand, startServerProcess, type Program } from '../../../tools/testing/processes.mjs';

jest.setTimeout(60_000);

const chatKey = generateKey();
const strong = 'a-long-newcomer-passphrase-31';
// What the seed database holds: the real alice, an impostor with a Cyrillic а
// (registered before the rules), and bob.
const LEGACY = [
  { id: 1, username: 'alice', password: 'alice-legacy-pw' },
  { id: 2, username: '\u0430lice', password: 'impostor-legacy-pw' },
  { id: 3, username: 'bob', password: 'bob-legacy-pw' },
];

interface Running {
  program: Program;
  url: string;
  fingerprint: string;
}

describe('look-alike usernames, through the real server process', () => {
  const clients: ChatClient[] = [];
  let root: string;
  let file: string;
  let server: Running;

  const connected = async (): Promise<ChatClient> => {
    const client = new ChatClient({ chatKey });
    clients.push(client);
    await client.connect({ url: server.url, fingerprint: server.fingerprint });
    return client;
  };
  const usernames = (): string[] => {
    const db = new Database(file, { readonly: true });
    const rows = db.prepare('SELECT username FROM users ORDER BY id').all() as Array<{ username: string }>;
    db.close();
    return rows.map((row) => row.username);
  };

  beforeAll(async () => {
    root = await mkdtemp(path.join(tmpdir(), 'enigma-names-'));
    const dataDir = path.join(root, 'data');
    await mkdir(dataDir, { recursive: true });
    file = path.join(dataDir, 'accounts.db');
    const seed = new Database(file);
    seed.exec('CREATE TABLE users (id INTEGER PRIMARY KEY, username TEXT, password TEXT)');
    for (const row of LEGACY) seed.prepare('INSERT INTO users (id, username, password) VALUES (?, ?, ?)').run(row.id, row.username, row.password);
    seed.close();
    server = (await startServerProcess(dataDir)) as Running;
  }, 60_000);
  afterAll(async () => {
    for (const client of clients) client.close();
    server?.program.stop();
    await rm(root, { recursive: true, force: true });
  });

  it('should report the existing look-alike and rule-breaking names with their ids, changing nothing', async () => {
    const lines = await consoleCommand(server.program, 'names', /^names: to act on one of them/);
    expect(lines).toEqual([
      "names: 3 users; 1 groups of look-alike names, 1 names against today's rules (registered before them; nothing was changed)",
      '  look alike: #1 alice, #2 \u0430lice [U+0430]',
      '  against the rules: #2 \u0430lice [U+0430]: a username must not mix scripts (this one mixes Cyrillic, Latin)',
      'names: to act on one of them use its id, e.g. kick #12, ban #12',
    ]);
    expect(usernames()).toEqual(LEGACY.map((row) => row.username));
  });

  it('should refuse new names that pass for an existing one, and register others', async () => {
    const client = await connected();
    expect(await client.register('AIice', strong)).toEqual({
      type: 'INVALID_USERNAME',
      kind: 'confusable',
      reason: "looks like an existing user's name; choose another",
    });
    expect(await client.register('\u0412\u041e\u0412', strong)).toMatchObject({ type: 'INVALID_USERNAME', kind: 'confusable' });
    for (const impostor of ['\uff41lice', '\u03b1lice', 'alice\u034f', 'alice\ufe0f', 'alice\u180b', 'alice\u3164', '\u3164']) {
      expect(await client.register(impostor, strong)).toEqual({ type: 'INVALID_USERNAME', reason: expect.any(String) });
    }
    expect(await client.register('Анна_42', strong)).toMatchObject({ type: 'LOGIN_SUCCESSFUL', username: 'Анна_42', registered: true });
    expect(usernames()).toEqual([...LEGACY.map((row) => row.username), 'Анна_42']);
  });

  it('should refuse to act on an ambiguous name and act on the user an id names', async () => {
    const impostor = await connected();
    const real = await connected();
    expect(await impostor.login('\u0430lice', 'impostor-legacy-pw')).toMatchObject({ type: 'LOGIN_SUCCESSFUL', username: '\u0430lice' });
    expect(await real.login('alice', 'alice-legacy-pw')).toMatchObject({ type: 'LOGIN_SUCCESSFUL', username: 'alice' });

    for (const command of ['kick', 'ban']) {
      expect(await consoleCommand(server.program, `${command} alice`, new RegExp(`^${command}: `))).toEqual([
        `${command}: alice is ambiguous: #1 alice, #2 \u0430lice [U+0430] look alike; say which with ${command} #ID`,
      ]);
    }

    const notices: ServerNotice[] = [];
    real.on('notice', (notice) => void notices.push(notice));
    const banned = new Promise<ServerNotice>((resolve) => impostor.on('notice', resolve));
    expect(await consoleCommand(server.program, 'ban #2', /^ban|^banned/)).toEqual(['banned #2 \u0430lice [U+0430]']);
    expect(await banned).toMatchObject({ kind: 'banned' });

    const again = await connected();
    expect(await again.login('\u0430lice', 'impostor-legacy-pw')).toEqual({ type: 'BANNED' });
    const other = await connected();
    expect(await other.login('alice', 'alice-legacy-pw')).toMatchObject({ type: 'LOGIN_SUCCESSFUL', username: 'alice' });
    expect(notices).toEqual([]);

    expect(await consoleCommand(server.program, 'unban #2', /^unban/)).toEqual(['unbanned #2 \u0430lice [U+0430]']);
    expect(await consoleCommand(server.program, 'kick #99', /^kick/)).toEqual(['kick: no user #99']);
    // bob has no look-alike: his name is enough.
    expect(await consoleCommand(server.program, 'kick bob', /^kick/)).toEqual(['kick: #3 bob is not online (their saved sessions are revoked)']);
  });
});

describe('accounts of an old database whose names differ only in case', () => {
  let root: string;
  let server: Running;
  const clients: ChatClient[] = [];

  beforeAll(async () => {
    root = await mkdtemp(path.join(tmpdir(), 'enigma-case-names-'));
    const dataDir = path.join(root, 'data');
    await mkdir(dataDir, { recursive: true });
    const seed = new Database(path.join(dataDir, 'accounts.db'));
    seed.exec('CREATE TABLE users (id INTEGER PRIMARY KEY, username TEXT, password TEXT)');
    seed.prepare('INSERT INTO users (id, username, password) VALUES (?, ?, ?)').run(1, 'Bob', 'upper-bob-legacy-pw');
    seed.prepare('INSERT INTO users (id, username, password) VALUES (?, ?, ?)').run(2, 'bob', 'lower-bob-legacy-pw');
    seed.close();
    server = (await startServerProcess(dataDir)) as Running;
  }, 60_000);
  afterAll(async () => {
    for (const client of clients) client.close();
    await server?.program.stop();
    await rm(root, { recursive: true, force: true });
  });

  it('should disconnect only the account an id names, not the other spelling', async () => {
    const login = async (name: string, password: string): Promise<ChatClient> => {
      const client = new ChatClient({ chatKey });
      clients.push(client);
      await client.connect({ url: server.url, fingerprint: server.fingerprint });
      expect(await client.login(name, password)).toMatchObject({ type: 'LOGIN_SUCCESSFUL', username: name });
      return client;
    };
    const upper = await login('Bob', 'upper-bob-legacy-pw');
    const lower = await login('bob', 'lower-bob-legacy-pw');
    const lowerNotices: ServerNotice[] = [];
    lower.on('notice', (notice) => void lowerNotices.push(notice));
    const kicked = new Promise<ServerNotice>((resolve) => upper.on('notice', resolve));

    expect(await consoleCommand(server.program, 'kick #1', /^kick/)).toEqual([expect.stringMatching(/^kicked #1 Bob/)]);
    expect(await kicked).toMatchObject({ kind: 'kicked' });
    // The other spelling is still connected and logged in: it sends, and was told nothing.
    await expect(lower.send('всё ещё здесь')).resolves.toMatchObject({ seq: expect.any(Number) });
    expect(lowerNotices).toEqual([]);
  });
});
