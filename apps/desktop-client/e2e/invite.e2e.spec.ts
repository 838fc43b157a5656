// A newcomer joins an invite-only server (`--registration invite`) from the
// desktop app: the operator's console prints an invite link, the newcomer
// pastes it (or starts the app with --invite) and only picks a name and a
// password. Real server process, real app process, Chromium.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { generateKey } from '@enigma/crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';
import { chromiumArgs, findChromium } from '../../../tools/testing/chromium.mjs';
import { desktopEntry, runProgram, startServerProcess, type Program } from '../../../tools/testing/processes.mjs';
import { strings } from '../src/ui/i18n.js';

const executablePath = findChromium();
const password = 'a-long-invited-passphrase-5';

(executablePath === undefined ? describe.skip : describe)('joining an invite-only server from the desktop client', () => {
  let work: string;
  let server: { program: Program; url: string; fingerprint: string | undefined };
  let browser: Browser;
  const apps: Program[] = [];
  const chatKey = generateKey();

  beforeAll(async () => {
    work = await mkdtemp(path.join(tmpdir(), 'enigma-e2e-invite-'));
    server = await startServerProcess(path.join(work, 'server'), ['--registration', 'invite']);
    browser = await chromium.launch({ executablePath, args: chromiumArgs });
  }, 60_000);

  afterAll(async () => {
    await browser?.close();
    for (const app of apps) await app.stop();
    await server?.program.stop();
    await rm(work, { recursive: true, force: true });
  });

  /** `invite create` on the server console: the link as the operator shares it, chat key appended. */
  const inviteLink = async (): Promise<string> => {
    const from = server.program.lines.length;
    server.program.command('invite create');
    const [, link] = await server.program.waitFor(/^ {2}(enigma:\/\/127\.0\.0\.1:\d+\/#fp=[0-9A-F]{64}&invite=[\w-]{22}&key=)$/, from);
    return `${link}${chatKey}`;
  };

  /** The app (`--no-window`) with its own profile, and a page on its UI in `locale`. */
  const openApp = async (args: string[], locale: string): Promise<Page> => {
    const app = runProgram(desktopEntry, ['--no-window', '--profile-dir', path.join(work, `profile-${apps.length}`), ...args]);
    apps.push(app);
    const [, url] = await app.waitFor(/open (http:\/\/127\.0\.0\.1:\d+\/#token=\S+)/);
    const page = await (await browser.newContext({ locale })).newPage();
    await page.goto(url!);
    return page;
  };

  it('should tell a newcomer without an invite what to do, then register in one step from a pasted invite link', async () => {
    const page = await openApp(['--server', server.url], 'en-US');
    const field = (name: string) => page.locator(`[name="${name}"]`);
    await field('chatKey').fill(chatKey);
    await field('username').fill('Алёна');
    await field('password').fill(password);
    await page.locator('button[name="register"]').click();
    await page.getByRole('button', { name: 'Trust and connect' }).click();
    await page.locator('[data-error="inviteMissing"]').waitFor();
    expect(await page.locator('.error').textContent()).toBe(strings.en.errors.inviteMissing);

    // Pasting the link turns the view into registration: Enter now registers.
    await field('server').fill(await inviteLink());
    await expect(page.locator('.invited').textContent()).resolves.toBe(strings.en.invited);
    await expect(page.locator('form').getAttribute('data-mode')).resolves.toBe('register');
    await field('password').press('Enter');
    await page.locator('.chat').waitFor();
    await expect(page.locator('.online').textContent()).resolves.toContain('Алёна');

    const from = server.program.lines.length;
    server.program.command('invite list');
    await server.program.waitFor(/^ {2}[0-9a-f]{8} {2}0\/1 uses left {2}used/, from);
  }, 90_000);

  it('should open ready to register from --invite, and explain a used invite in Russian', async () => {
    const link = await inviteLink();
    const page = await openApp(['--invite', link], 'ru-RU');
    const field = (name: string) => page.locator(`[name="${name}"]`);
    // The fingerprint and chat key came with the link: only a name and a password are asked.
    await expect(page.locator('.invited').textContent()).resolves.toBe(strings.ru.invited);
    await expect(field('chatKey').inputValue()).resolves.toBe(chatKey);
    await field('username').fill('Борис');
    await field('password').fill(password);
    await field('password').press('Enter');
    await page.locator('.chat').waitFor();

    // Someone else tries the same link: it has been used.
    await page.getByRole('button', { name: strings.ru.logout }).click();
    await field('server').fill(link);
    await page.locator('.invited').waitFor();
    await field('username').fill('Вера');
    await field('password').fill(password);
    await field('password').press('Enter');
    await page.locator('[data-error="inviteUsed"]').waitFor();
    expect(await page.locator('.error').textContent()).toBe(strings.ru.errors.inviteUsed);
    // The dead invite is forgotten: the view is back to logging in.
    await expect(page.locator('.invited').count()).resolves.toBe(0);
    await expect(page.locator('form').getAttribute('data-mode')).resolves.toBe('login');
  }, 90_000);
});
