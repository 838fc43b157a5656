import { spawn, type ChildProcess } from 'node:child_process';
import { accessSync, constants, rmSync } from 'node:fs';
import { chmod, mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';

/** Chromium-family browsers that open a page as an app window (`--app=URL`). */
export function browserCandidates(platform: NodeJS.Platform = process.platform, env: NodeJS.ProcessEnv = process.env): string[] {
  if (platform === 'darwin') {
    return ['Google Chrome', 'Chromium', 'Microsoft Edge', 'Brave Browser'].map((app) => `/Applications/${app}.app/Contents/MacOS/${app}`);
  }
  if (platform === 'win32') {
    const roots = [env['PROGRAMFILES'], env['PROGRAMFILES(X86)'], env['LOCALAPPDATA']].filter((root): root is string => root !== undefined);
    const apps = [
      'Google\\Chrome\\Application\\chrome.exe',
      'Microsoft\\Edge\\Application\\msedge.exe',
      'BraveSoftware\\Brave-Browser\\Application\\brave.exe',
      'Chromium\\Application\\chrome.exe',
    ];
    return roots.flatMap((root) => apps.map((app) => path.win32.join(root, app)));
  }
  const names = ['google-chrome', 'google-chrome-stable', 'chromium', 'chromium-browser', 'microsoft-edge', 'microsoft-edge-stable', 'brave-browser', 'brave'];
  const dirs = (env['PATH'] ?? '/usr/bin:/usr/local/bin').split(path.delimiter).filter(Boolean);
  return [...new Set([...names.flatMap((name) => dirs.map((dir) => path.join(dir, name))), '/snap/bin/chromium'])];
}

export function findBrowser(candidates: string[] = browserCandidates()): string | undefined {
  return candidates.find((candidate) => {
    try {
      accessSync(candidate, constants.X_OK);
      return true;
    } catch {
      return false;
    }
  });
}

export interface AppWindow {
  /** How the window was opened: an app window we control, or the default browser. */
  kind: 'app' | 'default-browser';
  /** Resolves when the app window closes (never for the default browser). */
  closed: Promise<void>;
  close(): void;
}

/** A page on disk that sends the browser on to the launch URL. */
export interface LaunchPage {
  /** `file:///…/launch.html`: safe to put on a command line, the secret is inside. */
  url: string;
  file: string;
  /** Synchronous, so that it can run in an 'exit' handler too. */
  remove(): void;
}

function htmlAttribute(value: string): string {
  return value.replace(/&/g, '&amp;').replace(/"/g, '&quot;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

/**
 * Writes a page that forwards to `launchUrl` (which holds the one-time
 * token) into a fresh private directory under `parent`: the directory is 0700
 * and the file 0600, so only this user (and the browser running as this user)
 * can read it. A command line, by contrast, is readable by every local user in
 * /proc/PID/cmdline, and the token once was: a local decoy read it first and
 * took the session. The token is spent when the UI first uses it, so the file
 * is worthless afterwards; it goes when the app exits.
 */
export async function writeLaunchPage(launchUrl: string, parent: string = tmpdir()): Promise<LaunchPage> {
  const directory = await mkdtemp(path.join(parent, 'enigma-launch-'));
  await chmod(directory, 0o700);
  const file = path.join(directory, 'launch.html');
  const target = htmlAttribute(launchUrl);
  const page = `<!doctype html>
<meta charset="utf-8">
<meta name="referrer" content="no-referrer">
<meta http-equiv="refresh" content="0;url=${target}">
<title>Enigma</title>
<script>location.replace(${JSON.stringify(launchUrl).replace(/</g, '\\u003c')});</script>
<p><a href="${target}">Open Enigma</a></p>
`;
  // 'wx': never follow or reuse something already at this path.
  await writeFile(file, page, { mode: 0o600, flag: 'wx' });
  return { url: pathToFileURL(file).href, file, remove: () => rmSync(directory, { recursive: true, force: true }) };
}

/**
 * Opens the UI in a Chromium-family browser in app mode with its own profile
 * directory (so it is a separate window and process we can wait on); falls
 * back to the system's default browser. `url` goes on the browser's command
 * line, where every local user can read it: pass a LaunchPage's url, never
 * the launch URL itself.
 */
export function openAppWindow(url: string, userDataDir: string, extraArgs: string[] = []): AppWindow {
  const browser = findBrowser();
  if (browser !== undefined) {
    // Chromium refuses to start as root without --no-sandbox (containers, kiosks).
    const asRoot = process.getuid?.() === 0 ? ['--no-sandbox'] : [];
    const child: ChildProcess = spawn(
      browser,
      [
        `--app=${url}`,
        `--user-data-dir=${userDataDir}`,
        '--no-first-run',
        '--no-default-browser-check',
        '--disable-background-networking',
        ...asRoot,
        ...extraArgs,
      ],
      { stdio: 'ignore' },
    );
    const closed = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    return { kind: 'app', closed, close: () => void child.kill() };
  }
  const opener = process.platform === 'darwin' ? ['open', url] : process.platform === 'win32' ? ['cmd', '/c', 'start', '""', url] : ['xdg-open', url];
  spawn(opener[0]!, opener.slice(1), { stdio: 'ignore', detached: true })
    .on('error', () => undefined)
    .unref();
  return { kind: 'default-browser', closed: new Promise<void>(() => undefined), close: () => undefined };
}
