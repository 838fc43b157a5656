import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { ChatClient } from '@enigma/client';
import { generateKey } from '@enigma/crypto';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';
import { chromiumArgs, findChromium } from '../../../tools/testing/chromium.mjs';
import { desktopEntry, runProgram, startServerProcess, type Program } from '../../../tools/testing/processes.mjs';

const executablePath = findChromium();
// The README's pictures are made on request only: `npm run screenshots` names
// docs/screenshots here. A plain test run keeps its pictures in its temporary
// folder, so `npm test` leaves the tracked ones (and `git status`) alone.
const screenshotDir = process.env['ENIGMA_SCREENSHOT_DIR'];
if (screenshotDir !== undefined && executablePath === undefined) throw new Error('npm run screenshots needs Chromium (apt-get install chromium)');
const password = 'a-long-desktop-passphrase-7';

(executablePath === undefined ? describe.skip : describe)('the desktop client in a browser window', () => {
  let work: string;
  let server: { program: Program; url: string; fingerprint: string | undefined };
  let app: Program;
  let browser: Browser;
  let page: Page;
  let bot: ChatClient;
  let screenshots: string;
  const chatKey = generateKey();

  beforeAll(async () => {
    work = await mkdtemp(path.join(tmpdir(), 'enigma-e2e-'));
    server = await startServerProcess(path.join(work, 'server'));
    app = runProgram(desktopEntry, ['--no-window', '--profile-dir', path.join(work, 'profile'), '--server', server.url]);
    const [, url] = await app.waitFor(/open (http:\/\/127\.0\.0\.1:\d+\/#token=\S+)/);
    browser = await chromium.launch({ executablePath, args: chromiumArgs });
    const context = await browser.newContext({ locale: 'en-US' });
    page = await context.newPage();
    await page.goto(url!);
    screenshots = screenshotDir === undefined ? path.join(work, 'screenshots') : path.resolve(screenshotDir);
    await mkdir(screenshots, { recursive: true });

    bot = new ChatClient({ chatKey });
    await bot.connect({ url: server.url, fingerprint: server.fingerprint });
    expect((await bot.register('бот', password)).type).toBe('LOGIN_SUCCESSFUL');
  }, 60_000);

  afterAll(async () => {
    bot?.close();
    await browser?.close();
    await app?.stop();
    await server?.program.stop();
    await rm(work, { recursive: true, force: true });
  });

  const field = (name: string) => page.locator(`[name="${name}"]`);
  const errorText = () => page.locator('.error').first().textContent();

  it('should show every login error as a clear sentence', async () => {
    await field('chatKey').fill(chatKey);
    await field('username').fill('nobody-here');
    await field('password').fill(password);
    await page.locator('button[name="login"]').click();
    // First contact: trust-on-first-use shows the fingerprint the server printed.
    await expect(page.locator('.fingerprint').textContent()).resolves.toContain(server.fingerprint);
    await page.getByRole('button', { name: 'Trust and connect' }).click();
    await page.locator('[data-error="unknownUser"]').waitFor();
    expect(await errorText()).toBe('There is no user with this name.');

    await field('username').fill('бот');
    await field('password').fill('not the password');
    await page.locator('button[name="login"]').click();
    await page.locator('[data-error="wrongPassword"]').waitFor();

    await page.locator('button[name="register"]').click();
    await page.locator('[data-error="nameTaken"]').waitFor();

    await field('username').fill('Марина');
    await field('password').fill('short');
    await page.locator('button[name="register"]').click();
    await page.locator('[data-error="weakPassword"]').waitFor();
    expect(await errorText()).toBe('This password is too weak: use at least 12 characters.');
    await page.screenshot({ path: path.join(screenshots, 'login.png') });
  }, 60_000);

  it('should register, then chat both ways with a second user in Cyrillic', async () => {
    await field('username').fill('Марина');
    await field('password').fill(password);
    await page.locator('button[name="register"]').click();
    await page.locator('.chat').waitFor();
    await expect(page.locator('.online').textContent()).resolves.toContain('бот');

    const received = new Promise<string>((resolve) => bot.on('message', (m) => m.from === 'Марина' && resolve(m.text ?? '')));
    await field('message').fill('Привет, бот! Как дела?');
    await field('message').press('Enter');
    expect(await received).toBe('Привет, бот! Как дела?');
    await page.locator('.message.own .text', { hasText: 'Привет, бот! Как дела?' }).waitFor();

    await bot.send('Всё отлично, Марина 🙂');
    await page.locator('.message:not(.own) .text', { hasText: 'Всё отлично, Марина 🙂' }).waitFor();
    await expect(page.locator('.message:not(.own) .from').last().textContent()).resolves.toBe('бот');

    // Shift+Enter adds a line instead of sending.
    await field('message').fill('первая строка');
    await field('message').press('Shift+Enter');
    await field('message').pressSequentially('вторая');
    await page.locator('button[name="send"]').click();
    await page.locator('.message.own .text', { hasText: 'первая строка\nвторая' }).waitFor();
    await page.screenshot({ path: path.join(screenshots, 'chat.png') });
  }, 60_000);

  it('should show a locked placeholder for a message under another key', async () => {
    const stranger = new ChatClient({ chatKey: generateKey() });
    await stranger.connect({ url: server.url, fingerprint: server.fingerprint });
    await stranger.register('чужой', password);
    await stranger.send('you cannot read this');
    await page.locator('.message.locked .text', { hasText: 'encrypted with a key you do not have' }).waitFor();
    stranger.close();
  }, 60_000);

  it('should show reconnecting while the server is stopped and resume the chat when it starts', async () => {
    server.program.command('stop');
    await page.locator('.connection[data-state="reconnecting"], .connection[data-state="offline"]').waitFor();
    server.program.command('start');
    await page.locator('.connection[data-state="connected"]').waitFor({ timeout: 30_000 });
    await bot.send('снова на связи');
    await page.locator('.message .text', { hasText: 'снова на связи' }).waitFor({ timeout: 30_000 });
  }, 90_000);

  it('should explain rate limiting with the time left, an unreachable server and a changed certificate', async () => {
    await page.getByRole('button', { name: 'Log out' }).click();
    await field('username').waitFor();

    // Wrong passwords until the server throttles the account: then even the right one waits.
    await field('username').fill('бот');
    const outcomes: Array<string | null> = [];
    for (let attempt = 0; attempt < 8 && !outcomes.includes('rateLimited'); attempt++) {
      await field('password').fill(`wrong password ${attempt}`);
      await page.locator('button[name="login"]').click();
      outcomes.push(await page.locator('form[aria-busy="false"] [data-error]').getAttribute('data-error'));
    }
    expect(outcomes).toEqual([...Array(outcomes.length - 1).fill('wrongPassword'), 'rateLimited']);
    expect(await errorText()).toMatch(/^Too many attempts\. Try again in \d+ s\.$/);
    await field('password').fill(password);
    await page.locator('button[name="login"]').click();
    expect(await page.locator('form[aria-busy="false"] [data-error]').getAttribute('data-error')).toBe('rateLimited');

    await field('server').fill('https://127.0.0.1:1');
    await page.locator('button[name="login"]').click();
    await page.locator('[data-error="unreachable"]').waitFor();

    // Another server (another certificate) now answers at the pinned address.
    const port = new URL(server.url).port;
    await server.program.stop();
    server = await startServerProcess(path.join(work, 'impostor'), ['--port', port]);
    await field('server').fill(server.url);
    await page.locator('button[name="login"]').click();
    await page.locator('[data-error="certificateChanged"]').waitFor();
    expect(await errorText()).toMatch(/certificate changed/);
  }, 90_000);
});
