// What the server shows on HTTP(S) to anyone who connects: socket.io and
// nothing else, no listings or stack traces, and no door for web pages on
// other origins (docs/security.md, "Web origins").
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { Socket } from 'socket.io-client';
import { call, startTestServer, strongPassword, type TestServer } from '../testing/harness.js';
import { clientFrom, connected, rawRequest, rawUpgrade, type RawResponse } from '../testing/hostile.js';

const evil = 'https://evil.example';

/** Nothing in an answer may reveal the server's insides. */
function expectNoInternals(response: RawResponse): void {
  expect(response.headers['x-content-type-options']).toBe('nosniff');
  expect(response.headers['x-powered-by']).toBeUndefined();
  expect(response.headers['server']).toBeUndefined();
  expect(response.body).not.toMatch(/\n\s+at |node_modules|\/work\/|Error:|<html|<a href/i);
  expect(response.body.length).toBeLessThan(200);
}

describe('the HTTP surface', () => {
  let target: TestServer;
  beforeAll(async () => {
    target = await startTestServer();
  });
  afterAll(() => target.stop());

  it.each([
    ['GET', '/'],
    ['GET', '/index.html'],
    ['GET', '/../etc/passwd'],
    ['GET', '/%2e%2e/%2e%2e/etc/passwd'],
    ['GET', '/.env'],
    ['GET', '/accounts.db'],
    ['GET', '/tls-key.pem'],
    ['GET', '/socket.io'],
    ['HEAD', '/'],
    ['POST', '/'],
    ['DELETE', '/socket.ioX/'],
  ])('should answer %s %s with a bare 404', async (method, path) => {
    const response = await rawRequest(target, method, path, {}, method === 'POST' ? 'x'.repeat(10_000) : undefined);
    expect(response.status).toBe(404);
    expect(response.headers['content-type']).toBe('text/plain; charset=utf-8');
    expect(response.body).toBe(method === 'HEAD' ? '' : 'not found\n');
    expectNoInternals(response);
  });

  it.each([
    ['GET', '/socket.io/', 'Transport unknown'],
    ['GET', '/socket.io/socket.io.js', 'Transport unknown'],
    ['GET', '/socket.io/?EIO=4&transport=carrier-pigeon', 'Transport unknown'],
    ['GET', '/socket.io/?EIO=99&transport=polling', 'Unsupported protocol version'],
    ['GET', '/socket.io/?EIO=4&transport=polling&sid=../../etc/passwd', 'Session ID unknown'],
    ['POST', '/socket.io/?EIO=4&transport=polling', 'Bad handshake method'],
    ['GET', '/socket.io/?EIO=4&transport=websocket', 'Bad request'],
  ])('should answer %s %s with a short 400 and no internals', async (method, path, message) => {
    const response = await rawRequest(target, method, path);
    expect(response.status).toBe(400);
    expect(JSON.parse(response.body)).toEqual({ code: expect.any(Number), message });
    expectNoInternals(response);
  });

  it('should give a web page on another origin no CORS permission, and refuse its handshake', async () => {
    const handshake = await rawRequest(target, 'GET', '/socket.io/?EIO=4&transport=polling', { origin: evil });
    expect(handshake.status).toBe(403);
    expect(handshake.headers['access-control-allow-origin']).toBeUndefined();
    expect(JSON.parse(handshake.body)).toMatchObject({ message: `connections from the web origin ${evil} are not allowed` });
    expectNoInternals(handshake);

    const preflight = await rawRequest(target, 'OPTIONS', '/socket.io/?EIO=4&transport=polling', { origin: evil, 'access-control-request-method': 'POST' });
    expect(preflight.headers['access-control-allow-origin']).toBeUndefined();
    expect(preflight.headers['access-control-allow-credentials']).toBeUndefined();

    const opaque = await rawRequest(target, 'GET', '/socket.io/?EIO=4&transport=polling', { origin: 'null' });
    expect(opaque.status).toBe(403);
  });

  it('should refuse a WebSocket handshake from another origin, which CORS would not stop', async () => {
    const upgrade = await rawUpgrade(target, { headers: { origin: evil } });
    expect(upgrade).toEqual({ upgraded: false, status: 400, body: `connections from the web origin ${evil} are not allowed` });

    const socket = clientFrom(target, '127.0.0.1', { extraHeaders: { origin: evil } });
    await expect(connected(socket)).rejects.toThrow(/websocket error/);
    socket.disconnect();
  });

  it('should accept clients that send no Origin (Node, the SDK) and those naming the server itself (python websocket-client)', async () => {
    const plain = await rawRequest(target, 'GET', '/socket.io/?EIO=4&transport=polling');
    expect(plain.status).toBe(200);
    expect(plain.headers['access-control-allow-origin']).toBeUndefined();

    const self = new URL(target.url).origin;
    const sameOrigin = await rawUpgrade(target, { headers: { origin: self } });
    expect(sameOrigin.upgraded).toBe(true);
    if (sameOrigin.upgraded) sameOrigin.socket.destroy();

    const socket = await connected(clientFrom(target, '127.0.0.1'));
    expect(await call(socket, 'REGISTER_CLIENT_', { username: 'originless', password: strongPassword })).toMatchObject({ type: 'LOGIN_SUCCESSFUL' });
    socket.disconnect();
  });
});

describe('the HTTP surface with --allowed-origins', () => {
  let target: TestServer;
  let socket: Socket | undefined;
  beforeAll(async () => {
    target = await startTestServer({ limits: { allowedOrigins: ['https://chat.example'] } });
  });
  afterAll(async () => {
    socket?.disconnect();
    await target.stop();
  });

  it('should let the named origin in, with CORS for it alone', async () => {
    const allowed = await rawRequest(target, 'GET', '/socket.io/?EIO=4&transport=polling', { origin: 'https://chat.example' });
    expect(allowed.status).toBe(200);
    expect(allowed.headers['access-control-allow-origin']).toBe('https://chat.example');
    const upgrade = await rawUpgrade(target, { headers: { origin: 'https://chat.example' } });
    expect(upgrade.upgraded).toBe(true);
    if (upgrade.upgraded) upgrade.socket.destroy();

    const other = await rawRequest(target, 'GET', '/socket.io/?EIO=4&transport=polling', { origin: evil });
    expect(other.status).toBe(403);
    expect(other.headers['access-control-allow-origin']).toBeUndefined();
  });
});

describe('the HTTP surface without TLS (behind a proxy, or in development)', () => {
  let target: TestServer;
  beforeAll(async () => {
    target = await startTestServer({ tls: 'off' });
  });
  afterAll(() => target.stop());

  it('should refuse a DNS-rebinding page, which names itself in both Origin and Host', async () => {
    const port = new URL(target.url).port;
    const rebinding = { origin: `http://evil.example:${port}`, host: `evil.example:${port}` };
    const handshake = await rawRequest(target, 'GET', '/socket.io/?EIO=4&transport=polling', rebinding);
    expect(handshake.status).toBe(403);
    const upgrade = await rawUpgrade(target, { headers: rebinding });
    expect(upgrade).toMatchObject({ upgraded: false, status: 400 });
  });

  it('should still accept a client that names the server by its own address or localhost, on its port', async () => {
    const port = new URL(target.url).port;
    for (const origin of [`http://127.0.0.1:${port}`, `http://localhost:${port}`]) {
      const handshake = await rawRequest(target, 'GET', '/socket.io/?EIO=4&transport=polling', { origin });
      expect({ origin, status: handshake.status }).toEqual({ origin, status: 200 });
    }
    const otherPort = await rawRequest(target, 'GET', '/socket.io/?EIO=4&transport=polling', { origin: `http://127.0.0.1:${Number(port) + 1}` });
    expect(otherPort.status).toBe(403);
  });
});
