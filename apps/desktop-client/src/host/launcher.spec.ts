import { describe, expect, it } from '@jest/globals';
import { mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { browserCandidates, findBrowser, writeLaunchPage } from './launcher.js';

describe('browserCandidates', () => {
  it('should look for Chrome, Chromium, Edge and Brave on Linux along PATH', () => {
    const found = browserCandidates('linux', { PATH: '/opt/bin:/usr/bin' });
    expect(found).toEqual(expect.arrayContaining(['/opt/bin/google-chrome', '/usr/bin/chromium', '/usr/bin/microsoft-edge', '/usr/bin/brave-browser']));
  });

  it('should look in /Applications on macOS', () => {
    expect(browserCandidates('darwin', {})).toEqual(
      expect.arrayContaining(['/Applications/Google Chrome.app/Contents/MacOS/Google Chrome', '/Applications/Brave Browser.app/Contents/MacOS/Brave Browser']),
    );
  });

  it('should look under Program Files and LocalAppData on Windows', () => {
    const found = browserCandidates('win32', { PROGRAMFILES: 'C:\\Program Files', LOCALAPPDATA: 'C:\\Users\\u\\AppData\\Local' });
    expect(found).toEqual(
      expect.arrayContaining([
        'C:\\Program Files\\Microsoft\\Edge\\Application\\msedge.exe',
        'C:\\Users\\u\\AppData\\Local\\Google\\Chrome\\Application\\chrome.exe',
      ]),
    );
  });

  it('should pick the first candidate that exists and is executable', () => {
    expect(findBrowser(['/nonexistent/chrome', process.execPath])).toBe(process.execPath);
    expect(findBrowser(['/nonexistent/chrome'])).toBeUndefined();
  });
});

describe('writeLaunchPage', () => {
  it('should put the launch URL in an owner-only file in a private directory, and name only the file', async () => {
    const parent = await mkdtemp(path.join(tmpdir(), 'enigma-launcher-'));
    try {
      const launchUrl = 'http://127.0.0.1:4567/#token=SECRET-one-time-token_abcdefghijkl';
      const page = await writeLaunchPage(launchUrl, parent);
      // What goes on the browser's command line: a file URL, no secret.
      expect(page.url).toMatch(/^file:\/\/\/.+\/launch\.html$/);
      expect(page.url).not.toContain('SECRET');
      expect(fileURLToPath(page.url)).toBe(page.file);
      if (process.platform !== 'win32') {
        expect((await stat(path.dirname(page.file))).mode & 0o777).toBe(0o700);
        expect((await stat(page.file)).mode & 0o777).toBe(0o600);
      }
      const html = await readFile(page.file, 'utf8');
      expect(html).toContain(`location.replace("${launchUrl}")`);
      expect(html).toContain(`content="0;url=${launchUrl}"`);
      page.remove();
      await expect(stat(path.dirname(page.file))).rejects.toThrow(/ENOENT/);
    } finally {
      await rm(parent, { recursive: true, force: true });
    }
  });
});
