// The registration policy as an operator and a newcomer meet it: the real
// server process (`node dist/main.js --registration ...`), its console, and
// the SDK reading the invite link the console printed.
import { afterAll, beforeAll, describe, expect, it, jest } from '@jest/globals';
import { ChatClient, parseInvite } from '@enigma/client';
import { generateKey } from '@enigma/crypto';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { consoleCommand, startServerProcess, type Program } from '../../../tools/testing/processes.mjs';

jest.setTimeout(30_000);

const password = 'a-long-newcomer-passphrase-31';
const chatKey = generateKey();

interface Running {
  program: Program;
  url: string;
  fingerprint: string;
}

async function start(dataDir: string, args: string[]): Promise<Running> {
  return (await startServerProcess(dataDir, args)) as Running;
}

describe('registration policy, through the real server process', () => {
  const clients: ChatClient[] = [];
  let root: string;

  beforeAll(async () => {
    root = await mkdtemp(path.join(tmpdir(), 'enigma-registration-'));
  });
  afterAll(async () => {
    for (const client of clients) client.close();
    await rm(root, { recursive: true, force: true });
  });

  const connected = async (server: Running): Promise<ChatClient> => {
    const client = new ChatClient({ chatKey });
    clients.push(client);
    await client.connect({ url: server.url, fingerprint: server.fingerprint });
    return client;
  };

  // Every registration here comes from 127.0.0.1, which may try 10 an hour
  // and send 5 bad tokens an hour: the tests below stay within both.
  describe('with --registration invite', () => {
    let server: Running;
    let logFile: string;
    const tokens: string[] = [];

    /** `invite create ...`: the token and the first link, as an operator copies them. */
    const createInvite = async (options = ''): Promise<{ id: string; token: string; link: string; lines: string[] }> => {
      const lines = await consoleCommand(server.program, `invite create ${options}`.trim(), /^ {2}enigma:\/\//);
      const id = /^invite ([0-9a-f]{8}) created/.exec(lines[0] ?? '')?.[1];
      const token = lines.map((line) => /^token \(shown this once; the server keeps only its hash\): (\S+)$/.exec(line)?.[1]).find(Boolean);
      const link = lines.find((line) => line.startsWith('  enigma://'))?.trim();
      if (id === undefined || token === undefined || link === undefined) throw new Error(`unexpected output:\n${lines.join('\n')}`);
      tokens.push(token);
      return { id, token, link, lines };
    };

    beforeAll(async () => {
      logFile = path.join(root, 'invite.log');
      server = await start(path.join(root, 'invite'), ['--registration', 'invite', '--log-level', 'debug', '--log-file', logFile]);
    }, 60_000);
    afterAll(() => server?.program.stop());

    it('should say so on start and in status', async () => {
      await server.program.waitFor(/^registration: by invite only \(console: invite create\)$/);
      expect(await consoleCommand(server.program, 'status', /^registration: /)).toContain('registration: invite');
    });

    it('should refuse a registration without a token: INVITE_INVALID missing', async () => {
      const client = await connected(server);
      expect(await client.register('stranger', password)).toEqual({ type: 'INVITE_INVALID', reason: 'missing' });
    });

    it('should print a token once, in links a newcomer registers with in one step, and answer used the second time', async () => {
      const { token, link, lines } = await createInvite();
      expect(lines[0]).toMatch(/^invite [0-9a-f]{8} created: 1 use, expires \d{4}-\d\d-\d\dT\S+Z \(in 1w\)$/);
      expect(token).toMatch(/^[A-Za-z0-9_-]{22}$/);
      expect(link).toBe(`enigma://${new URL(server.url).host}/#fp=${server.fingerprint.replaceAll(':', '')}&invite=${token}&key=`);

      // The newcomer's link: the operator appended the chat key.
      const invite = parseInvite(`${link}${chatKey}`);
      expect(invite).toEqual({ url: server.url, fingerprint: server.fingerprint, inviteToken: token, chatKey });
      const newcomer = new ChatClient({ chatKey: invite.chatKey });
      clients.push(newcomer);
      await newcomer.connect({ url: invite.url, fingerprint: invite.fingerprint });
      expect(await newcomer.register('Мария', password, { invite: invite.inviteToken })).toMatchObject({
        type: 'LOGIN_SUCCESSFUL',
        username: 'Мария',
        registered: true,
      });

      const second = await connected(server);
      expect(await second.register('copycat', password, { invite: token })).toEqual({ type: 'INVITE_INVALID', reason: 'used' });
    });

    it('should let an invite made with --uses 2 register two people', async () => {
      const { token, lines } = await createInvite('--uses 2 --expires 30d');
      expect(lines[0]).toMatch(/created: 2 uses, expires \S+ \(in 30d\)$/);
      for (const name of ['first-of-two', 'second-of-two']) {
        const client = await connected(server);
        expect(await client.register(name, password, { invite: token })).toMatchObject({ type: 'LOGIN_SUCCESSFUL', username: name });
      }
      const third = await connected(server);
      expect(await third.register('third-of-two', password, { invite: token })).toEqual({ type: 'INVITE_INVALID', reason: 'used' });
    });

    it('should answer unknown for a revoked invite', async () => {
      const { id, token } = await createInvite('--expires never');
      expect(await consoleCommand(server.program, `invite revoke ${id}`, /^invite revoke|^invite revoked/)).toEqual([
        'invite revoked: its token no longer registers anyone',
      ]);
      const client = await connected(server);
      expect(await client.register('too-late', password, { invite: token })).toEqual({ type: 'INVITE_INVALID', reason: 'unknown' });
    });

    it('should list invites with id, uses and expiry, never a token', async () => {
      const lines = await consoleCommand(server.program, 'invite list', /^\d+ invites?$/);
      expect(lines[0]).toBe('2 invites'); // the revoked one is gone
      expect(lines.slice(1)).toEqual([
        expect.stringMatching(/^ {2}[0-9a-f]{8} {2}0\/1 uses left {2}used {5}expires \S+Z {2}created \S+Z$/),
        expect.stringMatching(/^ {2}[0-9a-f]{8} {2}0\/2 uses left {2}used {5}expires \S+Z {2}created \S+Z$/),
      ]);
      for (const token of tokens) expect(lines.join('\n')).not.toContain(token);
    });

    it('should answer bad arguments with one clear line, echoing no token', async () => {
      const cases: Array<[string, string]> = [
        ['invite create --uses 0', 'invite create: --uses takes a whole number from 1 to 1000'],
        ['invite create --uses 1001', 'invite create: --uses takes a whole number from 1 to 1000'],
        ['invite create --expires soon', 'invite create: --expires: expected a whole number and a unit: s, m, h, d or w (e.g. 90d), or never'],
        ['invite create --expires', 'invite create: --expires needs a value; usage: invite create [--uses N] [--expires 7d|never]'],
        ['invite create --forever', 'invite create: unknown option "--forever"; usage: invite create [--uses N] [--expires 7d|never]'],
        ['invite revoke', 'usage: invite revoke ID (or the token itself)'],
        [`invite revoke ${tokens[2]}`, 'invite revoke: no such invite (see invite list)'], // revoked above
        ['invite list everything', 'usage: invite list'],
        ['invite frobnicate', 'usage: invite [create [--uses N] [--expires 7d|never] | list | revoke ID]'],
      ];
      for (const [command, answer] of cases) {
        expect(await consoleCommand(server.program, command, /^(invite|usage)/)).toEqual([answer]);
      }
      expect((await consoleCommand(server.program, 'invite list', /^\d+ invites?$/))[0]).toBe('2 invites');
    });

    it('should keep the bare invite command, pointing to invite create', async () => {
      const lines = await consoleCommand(server.program, 'invite', /^registration is by invite only/);
      expect(lines).toEqual([
        'invite links (the server never holds the chat key: append it as key=... before sharing):',
        `  enigma://${new URL(server.url).host}/#fp=${server.fingerprint.replaceAll(':', '')}&key=`,
        'registration is by invite only: invite create makes a link that also lets a newcomer register',
      ]);
    });

    it('should never write a token to the log or the data dir', async () => {
      await server.program.stop();
      const dataDir = path.join(root, 'invite');
      const files = [logFile, ...(await readdir(dataDir)).map((name) => path.join(dataDir, name))];
      const written = Buffer.concat(await Promise.all(files.map((file) => readFile(file))));
      expect(written.length).toBeGreaterThan(0);
      expect(written.includes('Мария')).toBe(true); // the scan reads what is there
      for (const token of tokens) expect(written.includes(token)).toBe(false);
      expect(server.program.stderr).toBe('');
    });
  });

  describe('with --registration closed', () => {
    it('should refuse every registration with REGISTRATION_CLOSED while members still log in', async () => {
      const dataDir = path.join(root, 'closed');
      // Everyone is in: the operator restarts the server closed.
      const open = await start(dataDir, []);
      await open.program.waitFor(/^registration: open/);
      expect(await (await connected(open)).register('member', password)).toMatchObject({ type: 'LOGIN_SUCCESSFUL' });
      await open.program.stop();

      const closed = await start(dataDir, ['--registration', 'closed']);
      try {
        await closed.program.waitFor(/^registration: closed \(members log in; nobody new may register\)$/);
        const client = await connected(closed);
        expect(await client.register('latecomer', password)).toEqual({
          type: 'REGISTRATION_CLOSED',
          reason: 'this server takes no new accounts; ask its operator',
        });
        expect(await client.register('latecomer', password, { invite: 'q2Xc-9_ZtJr0bQm1pLk4aw' })).toMatchObject({ type: 'REGISTRATION_CLOSED' });
        expect(await client.login('member', password)).toMatchObject({ type: 'LOGIN_SUCCESSFUL', username: 'member' });
        expect(await consoleCommand(closed.program, 'invite', /^registration is closed/)).toContain(
          'registration is closed: these links are for existing members',
        );
        // An invite made now says it will not work until the policy changes.
        expect(await consoleCommand(closed.program, 'invite create', /^note: /)).toContain(
          'note: registration is closed: invites work only with --registration invite',
        );
      } finally {
        await closed.program.stop();
      }
    }, 60_000);
  });
});
