import { afterEach, beforeEach, describe, expect, it } from '@jest/globals';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { WebSocket } from 'ws';
import { BRIDGE_PROTOCOL, LAUNCH_HEADER, SESSION_PROTOCOL_PREFIX } from '../shared/bridge-protocol.js';
import { UiHost } from './ui-host.js';

interface Answer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

function send(url: string, options: { method?: string; headers?: Record<string, string> } = {}): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = request(url, { method: options.method ?? 'GET', headers: options.headers ?? {} }, (res) => {
      let body = '';
      res.on('data', (chunk: Buffer) => (body += chunk.toString()));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
    });
    req.on('error', reject);
    req.end();
  });
}

/** What the UI does with the launch URL: trade its fragment's token for the session secret. */
function trade(host: UiHost, token: string, origin = host.origin): Promise<Answer> {
  return send(`${host.origin}/session`, { method: 'POST', headers: { origin, [LAUNCH_HEADER]: token } });
}

function tokenOf(host: UiHost): string {
  return new URL(host.launchUrl).hash.slice('#token='.length);
}

function openBridge(url: string, headers: Record<string, string>, protocols: string[] = []): Promise<{ outcome: 'open' | 'refused'; protocol?: string }> {
  return new Promise((resolve) => {
    const socket = new WebSocket(url, protocols, { headers });
    socket.once('open', () => {
      socket.close();
      resolve({ outcome: 'open', protocol: socket.protocol });
    });
    socket.once('error', () => resolve({ outcome: 'refused' }));
  });
}

describe('UiHost (the loopback host of the desktop UI)', () => {
  let dir: string;
  let host: UiHost;
  let bridge: string;
  const bridged: WebSocket[] = [];

  beforeEach(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'enigma-ui-'));
    await writeFile(path.join(dir, 'index.html'), '<title>Enigma</title>');
    host = await UiHost.start(dir, (socket) => bridged.push(socket));
    bridge = `${host.origin.replace('http', 'ws')}/bridge`;
    bridged.length = 0;
  });
  afterEach(async () => {
    await host.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('should listen on 127.0.0.1 only, at a random port, with the one-time token in the fragment (never sent over HTTP)', () => {
    expect(host.origin).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect(host.launchUrl).toMatch(new RegExp(`^${host.origin}/#token=[\\w-]{32}$`));
  });

  it('should trade the launch token for the session secret once, for our own Origin only, and never set a cookie', async () => {
    expect((await trade(host, tokenOf(host), 'http://127.0.0.1:1')).status).toBe(403);
    expect((await trade(host, 'x'.repeat(32))).status).toBe(403);
    // As many characters as the token but more bytes (a latin1 header): refused, and the app lives on.
    expect((await trade(host, 'é'.repeat(tokenOf(host).length))).status).toBe(403);
    const first = await trade(host, tokenOf(host));
    expect(first.status).toBe(200);
    expect(JSON.parse(first.body)).toEqual({ secret: expect.stringMatching(/^[\w-]{43}$/) });
    expect(first.headers['set-cookie']).toBeUndefined();
    expect(first.headers['cache-control']).toBe('no-store');
    // Spent: whoever reads the token later (a stale launch page, a decoy) gets nothing.
    expect((await trade(host, tokenOf(host))).status).toBe(403);
  });

  it('should serve the public UI bundle only under its own Host name, and nothing outside the UI folder', async () => {
    const page = await send(`${host.origin}/`);
    expect(page.status).toBe(200);
    expect(page.body).toContain('<title>Enigma</title>');
    expect(page.headers['set-cookie']).toBeUndefined();
    expect((await send(`${host.origin}/`, { headers: { host: 'evil.example:80' } })).status).toBe(403);
    expect((await send(`${host.origin}/../../etc/passwd`)).status).toBe(404);
    expect((await send(`${host.origin}/%2e%2e/secret`)).status).toBe(404);
    expect((await send(`${host.origin}/`, { method: 'POST' })).status).toBe(403);
  });

  it('should open the bridge only with the session secret and our own Origin, and never echo the secret', async () => {
    const { secret } = JSON.parse((await trade(host, tokenOf(host))).body) as { secret: string };
    const withSecret = [BRIDGE_PROTOCOL, `${SESSION_PROTOCOL_PREFIX}${secret}`];
    expect((await openBridge(bridge, { origin: 'http://127.0.0.1:1' }, withSecret)).outcome).toBe('refused');
    expect((await openBridge(bridge, { origin: host.origin })).outcome).toBe('refused');
    expect((await openBridge(bridge, { origin: host.origin }, [BRIDGE_PROTOCOL, `${SESSION_PROTOCOL_PREFIX}${tokenOf(host)}`])).outcome).toBe('refused');
    expect((await openBridge(bridge, { origin: host.origin, host: 'evil.example:80' }, withSecret)).outcome).toBe('refused');
    expect(bridged).toHaveLength(0);
    expect(await openBridge(bridge, { origin: host.origin }, withSecret)).toEqual({ outcome: 'open', protocol: BRIDGE_PROTOCOL });
    expect(bridged).toHaveLength(1);
  });

  it('should give a local neighbour nothing to replay: whatever a browser sends another port of 127.0.0.1 does not open the bridge', async () => {
    // The UI as a browser runs it: the launch URL is loaded (the fragment
    // stays in the browser) and the token traded.
    const launch = await send(host.launchUrl);
    const traded = await trade(host, tokenOf(host));
    expect(traded.status).toBe(200);
    // Cookies are the only thing a browser shares across ports of one host;
    // the host sets none, so a neighbour on another port captures none.
    const cookies = [launch, traded].flatMap((answer) => answer.headers['set-cookie'] ?? []);
    expect(cookies).toEqual([]);
    const replay = { origin: host.origin, cookie: 'enigma_ui=anything' };
    expect((await openBridge(bridge, replay)).outcome).toBe('refused');
    expect((await openBridge(bridge, replay, [BRIDGE_PROTOCOL])).outcome).toBe('refused');
    expect(bridged).toHaveLength(0);
  });
});
