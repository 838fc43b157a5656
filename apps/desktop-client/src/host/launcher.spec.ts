import { describe, expect, it } from '@jest/globals';
import { browserCandidates, findBrowser } from './launcher.js';

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
    expect(found).toEqual(expect.arrayContaining(['C:\\Program Files\\Microsoft\\Edge\\Application\\msedge.exe', 'C:\\Users\\u\\AppData\\Local\\Google\\Chrome\\Application\\chrome.exe']));
  });

  it('should pick the first candidate that exists and is executable', () => {
    expect(findBrowser(['/nonexistent/chrome', process.execPath])).toBe(process.execPath);
    expect(findBrowser(['/nonexistent/chrome'])).toBeUndefined();
  });
});
