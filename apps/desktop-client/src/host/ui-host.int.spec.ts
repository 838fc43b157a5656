import { afterEach, beforeEach, describe, expect, it } from '@jest/globals';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { WebSocket } from 'ws';
import { UiHost } from './ui-host.js';

interface Answer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

function get(url: string, headers: Record<string, string> = {}): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = request(url, { headers }, (res) => {
      let body = '';
      res.on('data', (chunk: Buffer) => (body += chunk.toString()));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
    });
    req.on('error', reject);
    req.end();
  });
}

function openBridge(url: string, headers: Record<string, string>): Promise<'open' | 'refused'> {
  return new Promise((resolve) => {
    const socket = new WebSocket(url, { headers });
    socket.once('open', () => {
      socket.close();
      resolve('open');
    });
    socket.once('error', () => resolve('refused'));
  });
}

describe('UiHost (the loopback host of the desktop UI)', () => {
  let dir: string;
  let host: UiHost;
  const bridged: WebSocket[] = [];

  beforeEach(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'enigma-ui-'));
    await writeFile(path.join(dir, 'index.html'), '<title>Enigma</title>');
    host = await UiHost.start(dir, (socket) => bridged.push(socket));
  });
  afterEach(async () => {
    await host.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('should listen on 127.0.0.1 only, at a random port', () => {
    expect(host.origin).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect(host.launchUrl.startsWith(`${host.origin}/?token=`)).toBe(true);
  });

  it('should turn the one-time launch link into a cookie, and refuse the link a second time', async () => {
    const first = await get(host.launchUrl);
    expect(first.status).toBe(302);
    const cookie = String(first.headers['set-cookie']).split(';')[0]!;
    expect(String(first.headers['set-cookie'])).toMatch(/HttpOnly; SameSite=Strict/);

    const page = await get(`${host.origin}/`, { cookie });
    expect(page.status).toBe(200);
    expect(page.body).toContain('<title>Enigma</title>');

    expect((await get(host.launchUrl)).status).toBe(403);
  });

  it('should refuse everything without the cookie, with a wrong Host header, or outside the UI folder', async () => {
    const cookie = String((await get(host.launchUrl)).headers['set-cookie']).split(';')[0]!;
    expect((await get(`${host.origin}/`)).status).toBe(403);
    expect((await get(`${host.origin}/`, { cookie, host: 'evil.example:80' })).status).toBe(403);
    expect((await get(`${host.origin}/../../etc/passwd`, { cookie })).status).toBe(404);
    expect((await get(`${host.origin}/%2e%2e/secret`, { cookie })).status).toBe(404);
  });

  it('should open the bridge only for our own Origin with the cookie', async () => {
    const cookie = String((await get(host.launchUrl)).headers['set-cookie']).split(';')[0]!;
    const bridge = `${host.origin.replace('http', 'ws')}/bridge`;
    expect(await openBridge(bridge, { cookie, origin: 'http://evil.example' })).toBe('refused');
    expect(await openBridge(bridge, { origin: host.origin })).toBe('refused');
    expect(await openBridge(bridge, { cookie, origin: host.origin })).toBe('open');
    expect(bridged).toHaveLength(1);
  });
});
