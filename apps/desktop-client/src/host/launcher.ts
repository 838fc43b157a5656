import { spawn, type ChildProcess } from 'node:child_process';
import { accessSync, constants } from 'node:fs';
import path from 'node:path';

/** Chromium-family browsers that open a page as an app window (`--app=URL`). */
export function browserCandidates(platform: NodeJS.Platform = process.platform, env: NodeJS.ProcessEnv = process.env): string[] {
  if (platform === 'darwin') {
    return ['Google Chrome', 'Chromium', 'Microsoft Edge', 'Brave Browser'].map((app) => `/Applications/${app}.app/Contents/MacOS/${app}`);
  }
  if (platform === 'win32') {
    const roots = [env['PROGRAMFILES'], env['PROGRAMFILES(X86)'], env['LOCALAPPDATA']].filter((root): root is string => root !== undefined);
    const apps = ['Google\\Chrome\\Application\\chrome.exe', 'Microsoft\\Edge\\Application\\msedge.exe', 'BraveSoftware\\Brave-Browser\\Application\\brave.exe', 'Chromium\\Application\\chrome.exe'];
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

/**
 * Opens the UI in a Chromium-family browser in app mode with its own profile
 * directory (so it is a separate window and process we can wait on); falls
 * back to the system's default browser.
 */
export function openAppWindow(url: string, userDataDir: string, extraArgs: string[] = []): AppWindow {
  const browser = findBrowser();
  if (browser !== undefined) {
    // Chromium refuses to start as root without --no-sandbox (containers, kiosks).
    const asRoot = process.getuid?.() === 0 ? ['--no-sandbox'] : [];
    const child: ChildProcess = spawn(
      browser,
      [`--app=${url}`, `--user-data-dir=${userDataDir}`, '--no-first-run', '--no-default-browser-check', '--disable-background-networking', ...asRoot, ...extraArgs],
      { stdio: 'ignore' },
    );
    const closed = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    return { kind: 'app', closed, close: () => void child.kill() };
  }
  const opener = process.platform === 'darwin' ? ['open', url] : process.platform === 'win32' ? ['cmd', '/c', 'start', '""', url] : ['xdg-open', url];
  spawn(opener[0]!, opener.slice(1), { stdio: 'ignore', detached: true }).on('error', () => undefined).unref();
  return { kind: 'default-browser', closed: new Promise<void>(() => undefined), close: () => undefined };
}
