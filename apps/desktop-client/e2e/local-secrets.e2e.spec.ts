// Attacks from the same computer (issue 16, items 3 and 4), against the real
// app process and a real Chromium:
// - a neighbour: another server on another port of 127.0.0.1, visited by the
//   same browser. Browsers share cookies across ports, so it used to receive
//   the UI's session cookie and, replaying it with a forged Origin from Node,
//   drive the bridge (read the chat key, send as the user);
// - another local user reading command lines (/proc/PID/cmdline): the launch
//   token was in the browser's, the chat key in the app's (--invite).
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { ChatClient, formatInvite } from '@enigma/client';
import { generateKey } from '@enigma/crypto';
import { spawnSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { mkdtemp, rm, stat, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import { WebSocket } from 'ws';
import { chromiumArgs, findChromium } from '../../../tools/testing/chromium.mjs';
import { desktopEntry, runProcess, runProgram, startServerProcess, type Program } from '../../../tools/testing/processes.mjs';
import { BRIDGE_PROTOCOL } from '../src/shared/bridge-protocol.js';

const executablePath = findChromium();
const xvfb = spawnSync('sh', ['-c', 'command -v xvfb-run && command -v chromium'], { encoding: 'utf8' }).status === 0;
if (!xvfb) {
  if (process.env['CI']) throw new Error('CI must run the command-line test: install xvfb and chromium');
  console.warn('\n*** SKIPPING the command-line test of the app window: xvfb-run or chromium is missing (apt-get install xvfb chromium) ***\n');
}
const launchLine = /open (http:\/\/127\.0\.0\.1:\d+\/#token=\S+)/;
const password = 'a-long-local-passphrase-9';
const fingerprint = 'AB'.repeat(32);

function openBridge(url: string, headers: Record<string, string>, protocols: string[] = []): Promise<'open' | 'refused'> {
  return new Promise((resolve) => {
    const socket = new WebSocket(url, protocols, { headers });
    socket.once('open', () => {
      socket.close();
      resolve('open');
    });
    socket.once('error', () => resolve('refused'));
  });
}

/** Resolves once the program's stderr matches (the two pipes are not ordered against each other). */
function stderrMatching(program: Program, pattern: RegExp): Promise<string> {
  return new Promise((resolve) => {
    const check = (): void => {
      if (!pattern.test(program.stderr)) return;
      program.child.stderr.off('data', check);
      resolve(program.stderr);
    };
    program.child.stderr.on('data', check);
    check();
  });
}

(executablePath === undefined ? describe.skip : describe)('a neighbour on another port of 127.0.0.1', () => {
  let work: string;
  let app: Program;
  let browser: Browser;
  let context: BrowserContext;
  let page: Page;
  let ui: string;
  let neighbour: Server;
  const seenByNeighbour: string[] = [];

  beforeAll(async () => {
    work = await mkdtemp(path.join(tmpdir(), 'enigma-e2e-neighbour-'));
    app = runProgram(desktopEntry, ['--no-window', '--profile-dir', path.join(work, 'profile'), '--server', 'https://127.0.0.1:1']);
    const [, url] = await app.waitFor(launchLine);
    ui = new URL(url!).origin;
    // The neighbour: any local program with a port, which the user's browser visits.
    neighbour = createServer((request, response) => {
      if (request.headers.cookie !== undefined) seenByNeighbour.push(request.headers.cookie);
      response.writeHead(200, { 'content-type': 'text/html' }).end('<title>neighbour</title><p>hello</p>');
    });
    await new Promise<void>((resolve) => neighbour.listen(0, '127.0.0.1', resolve));
    browser = await chromium.launch({ executablePath, args: chromiumArgs });
    context = await browser.newContext({ locale: 'en-US' });
    page = await context.newPage();
    await page.goto(url!);
    await page.locator('[name="username"]').waitFor();
  }, 60_000);

  afterAll(async () => {
    await browser?.close();
    await app?.stop();
    await new Promise((resolve) => neighbour?.close(resolve));
    await rm(work, { recursive: true, force: true });
  });

  it('should get nothing from the browser that opens the bridge from outside it, while the UI keeps working', async () => {
    const neighbourUrl = `http://127.0.0.1:${(neighbour.address() as AddressInfo).port}/`;
    const visit = await context.newPage();
    await visit.goto(neighbourUrl);
    await visit.goto(`${neighbourUrl}again`);
    // Everything the browser holds for 127.0.0.1, as the neighbour saw it and as the browser lists it.
    const held = (await context.cookies()).filter((cookie) => cookie.domain === '127.0.0.1').map((cookie) => `${cookie.name}=${cookie.value}`);
    const cookie = [...new Set([...seenByNeighbour.flatMap((header) => header.split('; ')), ...held])].join('; ');

    // A raw client replays all of it with a forged Origin: refused.
    const bridge = `${ui.replace('http', 'ws')}/bridge`;
    expect(await openBridge(bridge, { origin: ui, cookie })).toBe('refused');
    expect(await openBridge(bridge, { origin: ui, cookie }, [BRIDGE_PROTOCOL])).toBe('refused');
    expect(seenByNeighbour).toEqual([]);
    // The neighbour's page itself cannot open it either (foreign Origin, no secret).
    const fromPage = await visit.evaluate(
      (url) =>
        new Promise<string>((resolve) => {
          const socket = new WebSocket(url, ['enigma-bridge']);
          socket.onopen = () => resolve('open');
          socket.onerror = () => resolve('refused');
        }),
      bridge,
    );
    expect(fromPage).toBe('refused');
    // Nor does a tab that opens the UI's address without the launch link.
    const stray = await context.newPage();
    await stray.goto(`${ui}/`);
    await stray.locator('main.fatal', { hasText: 'not opened by it' }).waitFor();

    // The user's window still works, and survives a reload.
    // "Generate" asks the host over the bridge for a new chat key.
    const generated = async (): Promise<void> => {
      await page.getByRole('button', { name: 'Generate' }).click();
      await page.waitForFunction(() => /^[\w-]{43}=$/.test(document.querySelector<HTMLInputElement>('[name="chatKey"]')?.value ?? ''));
    };
    await generated();
    await page.reload();
    await page.locator('[name="chatKey"]').fill('');
    await generated();
    expect(page.url()).toBe(`${ui}/`); // the spent token is gone from the address bar
  }, 60_000);
});

/** Every process below `root`, and any whose command line names `marker` (in case it was re-parented). */
function processTree(root: number, marker: string): Array<{ pid: number; argv: string[] }> {
  const parents = new Map<number, number>();
  const argvs = new Map<number, string[]>();
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      parents.set(Number(entry), Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]));
      argvs.set(Number(entry), readFileSync(`/proc/${entry}/cmdline`, 'utf8').split('\0'));
    } catch {
      /* gone meanwhile */
    }
  }
  const inTree = (pid: number): boolean => {
    for (let at: number | undefined = pid; at !== undefined && at > 1; at = parents.get(at)) if (at === root) return true;
    return false;
  };
  return [...argvs].filter(([pid, argv]) => inTree(pid) || argv.some((arg) => arg.includes(marker))).map(([pid, argv]) => ({ pid, argv }));
}

(xvfb ? describe : describe.skip)('secrets and command lines', () => {
  let work: string;

  beforeAll(async () => {
    work = await mkdtemp(path.join(tmpdir(), 'enigma-e2e-argv-'));
  });
  afterAll(async () => {
    await rm(work, { recursive: true, force: true });
  });

  it('should put neither the launch token nor the chat key on any command line of the app, its browser or their children', async () => {
    const chatKey = generateKey();
    const inviteToken = 'Tok3nOfTheOperator_abc';
    const inviteFile = path.join(work, 'invite.txt');
    await writeFile(inviteFile, `${formatInvite({ url: 'https://127.0.0.1:1', fingerprint, chatKey, inviteToken })}\n`, { mode: 0o600 });
    const profileDir = path.join(work, 'profile');
    const app = runProcess('xvfb-run', ['-a', process.execPath, desktopEntry, '--profile-dir', profileDir, '--invite-file', inviteFile]);
    try {
      await app.waitFor(/^Enigma window opened$/);
      await app.waitFor(/^UI connected$/); // the window traded the token and opened the bridge
      const tree = processTree(app.child.pid!, profileDir);
      const browserProcess = tree.find(({ argv }) => argv.some((arg) => arg.startsWith('--app=')));
      expect(browserProcess).toBeDefined();
      // The browser was handed a file, which holds the token: readable by this user only.
      const appArg = browserProcess!.argv.find((arg) => arg.startsWith('--app='))!.slice('--app='.length);
      expect(appArg).toMatch(/^file:\/\//);
      const launchFile = fileURLToPath(appArg);
      expect((await stat(launchFile)).mode & 0o777).toBe(0o600);
      expect((await stat(path.dirname(launchFile))).mode & 0o777).toBe(0o700);
      expect((await stat(path.join(profileDir, 'window'))).mode & 0o777).toBe(0o700);
      const launchToken = /#token=([\w-]+)/.exec(readFileSync(launchFile, 'utf8'))?.[1];
      expect(launchToken).toMatch(/^[\w-]{32}$/);

      const commandLines = tree.map(({ argv }) => argv.join(' '));
      expect(commandLines.length).toBeGreaterThan(3); // xvfb-run, Xvfb, node, chromium and its children
      for (const line of commandLines) {
        expect(line).not.toContain(launchToken);
        expect(line).not.toContain('token=');
        expect(line).not.toContain(chatKey);
        expect(line).not.toContain(inviteToken);
      }
      // Closing the window ends the app, which removes the launch page.
      process.kill(browserProcess!.pid, 'SIGTERM');
      await app.waitFor(/^Enigma window closed$/);
      await app.exited;
      await expect(stat(path.dirname(launchFile))).rejects.toThrow(/ENOENT/);
    } finally {
      await app.stop();
    }
  }, 60_000);
});

(executablePath === undefined ? describe.skip : describe)('handing the app an invite without a command line', () => {
  let work: string;
  let server: { program: Program; url: string; fingerprint: string | undefined };
  let browser: Browser;
  let bot: ChatClient;
  const apps: Program[] = [];
  const chatKey = generateKey();
  let link: string;

  beforeAll(async () => {
    work = await mkdtemp(path.join(tmpdir(), 'enigma-e2e-invite-file-'));
    server = await startServerProcess(path.join(work, 'server'));
    link = formatInvite({ url: server.url, fingerprint: server.fingerprint, chatKey });
    browser = await chromium.launch({ executablePath, args: chromiumArgs });
    bot = new ChatClient({ chatKey });
    await bot.connect({ url: server.url, fingerprint: server.fingerprint });
    expect((await bot.register('локальный-бот', password)).type).toBe('LOGIN_SUCCESSFUL');
  }, 60_000);

  afterAll(async () => {
    bot?.close();
    await browser?.close();
    for (const app of apps) await app.stop();
    await server?.program.stop();
    await rm(work, { recursive: true, force: true });
  });

  const start = (args: string[]): Program => {
    const app = runProgram(desktopEntry, ['--no-window', '--profile-dir', path.join(work, `profile-${apps.length}`), ...args]);
    apps.push(app);
    return app;
  };

  /** Opens the app's UI, registers `name` and sends a line: the bot reads it only if the app got the chat key. */
  const joinAndSpeak = async (app: Program, name: string): Promise<void> => {
    const [, url] = await app.waitFor(launchLine);
    const page = await (await browser.newContext({ locale: 'en-US' })).newPage();
    await page.goto(url!);
    const field = (fieldName: string) => page.locator(`[name="${fieldName}"]`);
    await expect(field('chatKey').inputValue()).resolves.toBe(chatKey);
    await field('username').fill(name);
    await field('password').fill(password);
    await page.locator('button[name="register"]').click();
    await page.locator('.chat').waitFor();
    const heard = new Promise<string>((resolve) => bot.on('message', (m) => m.from === name && resolve(m.text ?? '')));
    await field('message').fill(`привет от ${name}`);
    await field('message').press('Enter');
    expect(await heard).toBe(`привет от ${name}`);
    await page.context().close();
  };

  it('should join with the key from --invite-file (owner-only, no warning)', async () => {
    const file = path.join(work, 'invite-600.txt');
    await writeFile(file, `${link}\n`, { mode: 0o600 });
    const app = start(['--invite-file', file]);
    await joinAndSpeak(app, 'из-файла');
    expect(app.stderr).toBe('');
  }, 60_000);

  it('should join with the key from standard input (--invite -)', async () => {
    const app = start(['--invite', '-']);
    app.child.stdin.end(`${link}\n`);
    await joinAndSpeak(app, 'из-потока');
    expect(app.stderr).toBe('');
  }, 60_000);

  it('should warn when the invite file can be read by others, or the invite is on the command line, and still start', async () => {
    const file = path.join(work, 'invite-644.txt');
    await writeFile(file, link, { mode: 0o644 });
    const readable = start(['--invite-file', file]);
    await readable.waitFor(launchLine);
    expect(await stderrMatching(readable, /invite-644\.txt can be read/)).toMatch(
      /^enigma: warning: .*invite-644\.txt can be read by other users \(mode 644\)/,
    );
    expect(readable.stderr).not.toContain(chatKey);

    const onArgv = start(['--invite', link]);
    await onArgv.waitFor(launchLine);
    expect(await stderrMatching(onArgv, /command line/)).toMatch(/^enigma: warning: an invite on the command line can be read by other users/);
    expect(onArgv.stderr).not.toContain(chatKey);
  }, 60_000);
});
