// A server with --retention has removed older messages: the desktop app says
// so in the timeline (in the user's language) instead of showing a chat that
// silently starts in the middle. Real server process, real app, Chromium.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { ChatClient } from '@enigma/client';
import { generateKey } from '@enigma/crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { chromium, type Browser } from 'playwright-core';
import { chromiumArgs, findChromium } from '../../../tools/testing/chromium.mjs';
import { desktopEntry, runProgram, startServerProcess, untilPruned, type Program } from '../../../tools/testing/processes.mjs';
import { strings } from '../src/ui/i18n.js';

const executablePath = findChromium();
const password = 'a-long-retained-passphrase-7';

(executablePath === undefined ? describe.skip : describe)('the desktop app on a server with retention', () => {
  let work: string;
  let server: { program: Program; url: string; fingerprint: string | undefined };
  let browser: Browser;
  let app: Program | undefined;
  const chatKey = generateKey();
  const bot = new ChatClient({ chatKey });

  beforeAll(async () => {
    work = await mkdtemp(path.join(tmpdir(), 'enigma-e2e-retention-'));
    server = await startServerProcess(path.join(work, 'server'), ['--retention', '2s']);
    browser = await chromium.launch({ executablePath, args: chromiumArgs });
  }, 60_000);

  afterAll(async () => {
    bot.close();
    await browser?.close();
    await app?.stop();
    await server?.program.stop();
    await rm(work, { recursive: true, force: true });
  });

  it('should tell a user logging in that older messages were removed, and chat on', async () => {
    await bot.connect({ url: server.url, fingerprint: server.fingerprint });
    await bot.register('bot', password);
    for (const text of ['первое', 'второе', 'третье']) await bot.send(text);
    await untilPruned(server.program, 4);

    app = runProgram(desktopEntry, ['--no-window', '--profile-dir', path.join(work, 'profile'), '--server', server.url]);
    const [, url] = await app.waitFor(/open (http:\/\/127\.0\.0\.1:\d+\/#token=\S+)/);
    const page = await (await browser.newContext({ locale: 'ru-RU' })).newPage();
    await page.goto(url!);
    const field = (name: string) => page.locator(`[name="${name}"]`);
    await field('chatKey').fill(chatKey);
    await field('username').fill('Алёна');
    await field('password').fill(password);
    await page.locator('button[name="register"]').click();
    await page.getByRole('button', { name: strings.ru.trust }).click();
    await page.locator('.chat').waitFor();

    await expect(page.locator('.event.pruned').textContent()).resolves.toBe(strings.ru.pruned);
    // Nothing of what retention removed shows, and the chat still works.
    await expect(page.locator('.message').count()).resolves.toBe(0);
    const received = new Promise<string>((resolve) => bot.on('message', (m) => resolve(m.text)));
    await field('message').fill('привет после очистки');
    await field('message').press('Enter');
    await expect(received).resolves.toBe('привет после очистки');
    await expect(page.locator('.event.pruned').count()).resolves.toBe(1);
  }, 90_000);
});
