import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { generateKey, Fernet } from '@enigma/crypto';
import { encodeFrame } from '@enigma/protocol';
import { stat } from 'node:fs/promises';
import { request } from 'node:https';
import path from 'node:path';
import type { Socket } from 'socket.io-client';
import { runCommand } from './console.js';
import { call, collect, connect, frameOf, nextEvent, registered, startTestServer, strongPassword, type TestServer } from './testing/harness.js';

const key = generateKey();

describe('the Enigma server', () => {
  let target: TestServer;
  const sockets: Socket[] = [];
  const track = (socket: Socket): Socket => (sockets.push(socket), socket);

  beforeAll(async () => {
    target = await startTestServer();
  });
  afterAll(async () => {
    for (const socket of sockets) socket.disconnect();
    await target.stop();
  });

  it('should serve TLS by default and nothing but socket.io over HTTP', async () => {
    const { status, body } = await new Promise<{ status: number; body: string }>((resolve, reject) => {
      const req = request(`${target.url}/`, { ca: target.ca }, (res) => {
        let body = '';
        res.on('data', (chunk: Buffer) => (body += chunk.toString()));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
      });
      req.on('error', reject);
      req.end();
    });
    expect(target.url.startsWith('https://')).toBe(true);
    expect(status).toBe(404);
    expect(body).toBe('not found\n');
    expect(target.server.status().fingerprint).toMatch(/^([0-9A-F]{2}:){31}[0-9A-F]{2}$/);
  });

  it('should let two users chat in Cyrillic: the frame arrives exactly as sent, attributed by the server', async () => {
    const alice = track(await registered(target, 'Алиса'));
    const bob = track(await registered(target, 'bob'));
    const arrival = nextEvent<{ id: string; seq: number; from: string; ts: number; frame: string }>(bob, 'SERVER_TO_CLIENT');
    const frame = frameOf(key, 'Привет, Боб! 👋');

    const ack = await call(alice, 'CLIENT_TO_SERVER', frame);
    const relayed = await arrival;

    expect(ack).toEqual({ type: 'ACCEPTED', id: frame.slice(0, 32), seq: expect.any(Number) });
    expect(relayed).toEqual({ id: frame.slice(0, 32), seq: ack['seq'], from: 'Алиса', ts: expect.any(Number), frame });
    expect(new Fernet(key).decryptText(relayed.frame.slice(32))).toBe('Привет, Боб! 👋');
  });

  it('should answer every login and registration outcome with its code', async () => {
    const socket = track(await connect(target));
    expect(await call(socket, 'REGISTER_CLIENT_', { username: 'carol', password: strongPassword })).toMatchObject({
      type: 'LOGIN_SUCCESSFUL',
      username: 'carol',
      registered: true,
      session: expect.any(String),
      online: expect.arrayContaining(['carol']),
      history: expect.any(Array),
      lastSeq: expect.any(Number),
    });
    const other = track(await connect(target));
    expect(await call(other, 'REGISTER_CLIENT_', { username: 'CAROL', password: strongPassword })).toEqual({ type: 'USER_IN_DATABASE' });
    expect(await call(other, 'REGISTER_CLIENT_', { username: 'no spaces', password: strongPassword })).toMatchObject({
      type: 'INVALID_USERNAME',
      reason: expect.any(String),
    });
    expect(await call(other, 'REGISTER_CLIENT_', { username: 'dave', password: 'short' })).toMatchObject({
      type: 'INVALID_PASSWORD',
      reason: expect.any(String),
    });
    expect(await call(other, 'LOGIN_ATTEMPTING', { username: 'nobody-here', password: strongPassword })).toMatchObject({ type: 'INVALID_USERNAME' });
    expect(await call(other, 'LOGIN_ATTEMPTING', { username: 'carol', password: 'wrong password!!' })).toMatchObject({ type: 'INVALID_PASSWORD' });
    expect(await call(other, 'LOGIN_ATTEMPTING', { username: 'Carol', password: strongPassword })).toMatchObject({
      type: 'LOGIN_SUCCESSFUL',
      username: 'carol',
    });
  });

  it.each([
    ['null', [null]],
    ['a number', [42]],
    ['an array', [['alice', 'pw']]],
    ['no payload at all', []],
    ['two payloads', [{ username: 'a', password: 'b' }, 'extra']],
    ['a __proto__ key', [JSON.parse('{"username":"a","password":"b","__proto__":{"x":1}}')]],
  ])('should answer MALFORMED_REQUEST to a login with %s', async (_name, args) => {
    const socket = track(await connect(target));
    expect(await call(socket, 'LOGIN_ATTEMPTING', ...args)).toMatchObject({ type: 'MALFORMED_REQUEST', reason: expect.any(String) });
  });

  it('should refuse sends before login with NOT_LOGGED_IN and relay nothing', async () => {
    const watcher = track(await registered(target, 'watcher1'));
    const seen = collect(watcher, 'SERVER_TO_CLIENT');
    const stranger = track(await connect(target));
    expect(await call(stranger, 'CLIENT_TO_SERVER', frameOf(key, 'sneaky'))).toEqual({ type: 'NOT_LOGGED_IN' });
    expect(await call(stranger, 'HISTORY', {})).toEqual({ type: 'NOT_LOGGED_IN' });
    // A later frame from a member arrives; the stranger's never did.
    const member = track(await registered(target, 'member1'));
    const marker = frameOf(key, 'marker');
    const arrived = nextEvent(watcher, 'SERVER_TO_CLIENT');
    await call(member, 'CLIENT_TO_SERVER', marker);
    await arrived;
    expect(seen.map((m) => m['frame'])).toEqual([marker]);
  });

  it('should refuse malformed frames with a reason and never relay them', async () => {
    const sender = track(await registered(target, 'sender2'));
    const watcher = track(await registered(target, 'watcher2'));
    const seen = collect(watcher, 'SERVER_TO_CLIENT');
    const good = frameOf(key, 'ok');
    const token = good.slice(32);
    for (const bad of [
      42,
      null,
      { frame: good },
      'hello',
      token,
      '0'.repeat(32) + token,
      good.slice(0, -4),
      encodeFrame('h' + token.slice(1)),
      'a'.repeat(65_600),
    ]) {
      expect(await call(sender, 'CLIENT_TO_SERVER', bad)).toMatchObject({ type: 'MALFORMED_FRAME', reason: expect.any(String) });
    }
    const arrived = nextEvent(watcher, 'SERVER_TO_CLIENT');
    await call(sender, 'CLIENT_TO_SERVER', good);
    await arrived;
    expect(seen.map((m) => m['frame'])).toEqual([good]);
  });

  it('should cut off a packet larger than the transport limit and keep serving everyone else', async () => {
    const flooder = track(await registered(target, 'flooder'));
    const watcher = track(await registered(target, 'watcher7'));
    const closed = nextEvent(flooder, 'disconnect');
    flooder.emit('CLIENT_TO_SERVER', 'a'.repeat(200_000), () => undefined);
    await closed;
    expect(await call(watcher, 'CLIENT_TO_SERVER', frameOf(key, 'still fine'))).toMatchObject({ type: 'ACCEPTED' });
  });

  it('should acknowledge a resent frame with its original seq and relay it once', async () => {
    const sender = track(await registered(target, 'sender3'));
    const watcher = track(await registered(target, 'watcher3'));
    const seen = collect(watcher, 'SERVER_TO_CLIENT');
    const frame = frameOf(key, 'only once');
    const first = await call(sender, 'CLIENT_TO_SERVER', frame);
    const second = await call(sender, 'CLIENT_TO_SERVER', frame);
    expect(second).toEqual(first);
    const after = frameOf(key, 'after');
    const arrived = nextEvent(watcher, 'SERVER_TO_CLIENT');
    await call(sender, 'CLIENT_TO_SERVER', after);
    await arrived;
    expect(seen.map((m) => m['frame'])).toEqual([frame, after]);
  });

  it('should resume a session after a reconnect and return what was missed', async () => {
    const sender = track(await registered(target, 'sender4'));
    const roamer = track(await connect(target));
    const login = await call<{ type: string; session: string; lastSeq: number }>(roamer, 'REGISTER_CLIENT_', { username: 'roamer', password: strongPassword });
    roamer.disconnect();
    const missed = frameOf(key, 'while you were away');
    await call(sender, 'CLIENT_TO_SERVER', missed);

    const back = track(await connect(target));
    const resumed = await call<{ type: string; history: Array<{ frame: string }> }>(back, 'RESUME_SESSION', {
      session: login.session,
      afterSeq: login.lastSeq,
    });
    expect(resumed.type).toBe('LOGIN_SUCCESSFUL');
    expect(resumed.history.map((m) => m.frame)).toContain(missed);
    expect(await call(back, 'RESUME_SESSION', { session: 'not-a-real-session', afterSeq: 0 })).toEqual({ type: 'SESSION_EXPIRED' });
  });

  it('should page history with HISTORY', async () => {
    const reader = track(await registered(target, 'reader5'));
    const page = await call<{ type: string; messages: Array<{ seq: number }> }>(reader, 'HISTORY', { limit: 2 });
    expect(page.type).toBe('HISTORY');
    expect(page.messages.length).toBeLessThanOrEqual(2);
    expect(await call(reader, 'HISTORY', { limit: -1 })).toMatchObject({ type: 'MALFORMED_REQUEST' });
  });

  it('should announce joins and leaves to others', async () => {
    const watcher = track(await registered(target, 'watcher6'));
    const joined = nextEvent(watcher, 'CLIENT_CONNECTED');
    const visitor = await registered(target, 'visitor6');
    expect(await joined).toEqual({ username: 'visitor6', ts: expect.any(Number) });
    const left = nextEvent(watcher, 'CLIENT_LEFT_CHAT');
    visitor.disconnect();
    expect(await left).toEqual({ username: 'visitor6', ts: expect.any(Number) });
  });

  it('should kick and ban from the console: notices sent, banned user refused', async () => {
    const lines: string[] = [];
    const out = (line: string): void => void lines.push(line);
    const mallory = await connect(target);
    const first = await call<{ type: string; session: string }>(mallory, 'REGISTER_CLIENT_', { username: 'mallory', password: strongPassword });
    const kicked = nextEvent(mallory, 'SERVER_NOTICE');
    await runCommand('kick mallory', target.server, out);
    expect(await kicked).toMatchObject({ kind: 'kicked' });
    // The kicked client's automatic resume does not bring it back.
    const resumer = track(await connect(target));
    expect(await call(resumer, 'RESUME_SESSION', { session: first.session, afterSeq: 0 })).toEqual({ type: 'SESSION_EXPIRED' });

    const again = await connect(target);
    expect(await call(again, 'LOGIN_ATTEMPTING', { username: 'mallory', password: strongPassword })).toMatchObject({ type: 'LOGIN_SUCCESSFUL' });
    const banned = nextEvent(again, 'SERVER_NOTICE');
    await runCommand('ban mallory', target.server, out);
    expect(await banned).toMatchObject({ kind: 'banned' });
    const third = track(await connect(target));
    expect(await call(third, 'LOGIN_ATTEMPTING', { username: 'mallory', password: strongPassword })).toEqual({ type: 'BANNED' });
    await runCommand('unban mallory', target.server, out);
    expect(await call(third, 'LOGIN_ATTEMPTING', { username: 'mallory', password: strongPassword })).toMatchObject({ type: 'LOGIN_SUCCESSFUL' });
    expect(lines).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/^kicked #\d+ mallory \(1 sessions; they must log in with their password\)$/),
        expect.stringMatching(/^banned #\d+ mallory$/),
        expect.stringMatching(/^unbanned #\d+ mallory$/),
      ]),
    );
  });

  it('should answer wrong console input with one clear line', async () => {
    const lines: string[] = [];
    const out = (line: string): void => void lines.push(line);
    await runCommand('frobnicate now', target.server, out);
    await runCommand('kick', target.server, out);
    await runCommand('kick nobody-online', target.server, out);
    await runCommand('ban no-such-user', target.server, out);
    await runCommand('database ../../etc/passwd;rm', target.server, out);
    expect(lines).toEqual([
      'unknown command "frobnicate"; type help for commands',
      'usage: kick NAME or kick #ID (ids: users)',
      'kick: no user named nobody-online',
      'ban: no user named no-such-user',
      expect.stringMatching(/^database: /),
    ]);
  });
});

describe('the Enigma server paused and switched', () => {
  it('should place a console database path inside the data dir, not the working directory', async () => {
    const target = await startTestServer();
    try {
      const lines: string[] = [];
      await runCommand('database archive/2026.db', target.server, (line) => void lines.push(line));
      expect(lines).toEqual([`database: now using ${path.join(target.dataDir, 'archive', '2026.db')} (0 users)`]);
      expect((await stat(path.join(target.dataDir, 'archive', '2026.db'))).isFile()).toBe(true);
    } finally {
      await target.stop();
    }
  });

  it('should refuse connections while stopped, accept them after start', async () => {
    const target = await startTestServer();
    try {
      const member = await registered(target, 'pauser');
      const paused = nextEvent(member, 'SERVER_NOTICE');
      await runCommand('stop', target.server, () => undefined);
      expect(await paused).toMatchObject({ kind: 'paused' });
      await expect(connect(target)).rejects.toThrow(/paused/);
      await runCommand('start', target.server, () => undefined);
      const back = await connect(target);
      expect(await call(back, 'LOGIN_ATTEMPTING', { username: 'pauser', password: strongPassword })).toMatchObject({ type: 'LOGIN_SUCCESSFUL' });
      back.disconnect();
    } finally {
      await target.stop();
    }
  });

  it('should switch databases at run time: new logins use the new one, logged-in sessions stay', async () => {
    const target = await startTestServer();
    try {
      const stayer = await registered(target, 'stayer');
      const lines: string[] = [];
      await runCommand('database second.db', target.server, (line) => void lines.push(line));
      expect(lines).toEqual([expect.stringMatching(/second\.db \(0 users\)$/)]);
      const fresh = await connect(target);
      expect(await call(fresh, 'LOGIN_ATTEMPTING', { username: 'stayer', password: strongPassword })).toMatchObject({ type: 'INVALID_USERNAME' });
      expect(await call(stayer, 'CLIENT_TO_SERVER', frameOf(key, 'still here'))).toMatchObject({ type: 'ACCEPTED' });
      await runCommand('database accounts.db', target.server, () => undefined);
      expect(await call(fresh, 'LOGIN_ATTEMPTING', { username: 'stayer', password: strongPassword })).toMatchObject({ type: 'LOGIN_SUCCESSFUL' });
      fresh.disconnect();
      stayer.disconnect();
    } finally {
      await target.stop();
    }
  });
});
