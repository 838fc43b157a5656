// The server's limits (docs/security.md, "Limits"), each driven over real
// sockets until it bites, and checked for what the client sees when it does.
import { afterAll, afterEach, beforeAll, describe, expect, it } from '@jest/globals';
import { generateKey } from '@enigma/crypto';
import { setTimeout as pause } from 'node:timers/promises';
import type { Socket } from 'socket.io-client';
import { runCommand } from '../console.js';
import { call, frameOf, nextEvent, registered, startTestServer, strongPassword, type TestServer } from '../testing/harness.js';
import { clientFrom, connected, connectFrom, disconnection, rawUpgrade, serverClosed } from '../testing/hostile.js';

const key = generateKey();
type Reply = { type: string; reason?: string; retryAfterMs?: number; session?: string; lastSeq?: number };

describe('the connection caps', () => {
  let target: TestServer;
  const open: Socket[] = [];
  let leaver: Socket;
  let watcher: Socket;
  beforeAll(async () => {
    target = await startTestServer({ limits: { maxConnectionsPerAddress: 3, maxConnections: 5 } });
  });
  afterAll(async () => {
    for (const socket of open) socket.disconnect();
    await target.stop();
  });
  const from = async (address: string): Promise<Socket> => {
    const socket = await connectFrom(target, address);
    open.push(socket);
    return socket;
  };

  it('should refuse a fourth connection from one address with a message saying why, and close it', async () => {
    leaver = await from('127.0.0.11');
    expect(await call(leaver, 'REGISTER_CLIENT_', { username: 'leaver', password: strongPassword })).toMatchObject({ type: 'LOGIN_SUCCESSFUL' });
    await from('127.0.0.11');
    await from('127.0.0.11');
    const fourth = clientFrom(target, '127.0.0.11');
    const closedByServer = new Promise<void>((resolve) => fourth.io.on('close', () => resolve()));
    await expect(connected(fourth)).rejects.toThrow('too many connections from your address (at most 3); close some and try again');
    await closedByServer; // the server does not keep the refused connection open
    fourth.disconnect();
  });

  it('should refuse every address once the server holds its total, saying the server is full', async () => {
    watcher = await from('127.0.0.12');
    expect(await call(watcher, 'REGISTER_CLIENT_', { username: 'watcher', password: strongPassword })).toMatchObject({ type: 'LOGIN_SUCCESSFUL' });
    await from('127.0.0.12');
    await expect(connectFrom(target, '127.0.0.13')).rejects.toThrow('the server is full (at most 5 connections); try again later');
  });

  it('should accept connections again once others are gone', async () => {
    const left = nextEvent(watcher, 'CLIENT_LEFT_CHAT');
    leaver.disconnect();
    expect(await left).toMatchObject({ username: 'leaver' }); // the server has let go of it
    await expect(from('127.0.0.11')).resolves.toMatchObject({ connected: true });
  });

  it('should refuse bare WebSocket upgrades beyond the cap at once, and close the silent ones after the handshake timeout', async () => {
    const spare = await startTestServer({ limits: { maxConnectionsPerAddress: 3, handshakeTimeoutMs: 300 } });
    try {
      const outcomes = await Promise.all(Array.from({ length: 12 }, () => rawUpgrade(spare, { localAddress: '127.0.0.15' })));
      const upgraded = outcomes.filter((o) => o.upgraded);
      const refused = outcomes.filter((o) => !o.upgraded);
      // One over the cap gets through the engine, so that a real client can be told why in words.
      expect(upgraded).toHaveLength(4);
      expect(refused).toHaveLength(8);
      for (const o of refused) expect(o).toMatchObject({ status: 400, body: 'too many connections from your address (at most 3)' });
      // They never send the socket.io handshake: the server closes them.
      await Promise.all(upgraded.map((o) => (o.upgraded ? serverClosed(o.socket) : undefined)));
      for (const o of upgraded) if (o.upgraded) o.socket.destroy();
      // And their places are free again.
      const back = await connectFrom(spare, '127.0.0.15');
      back.disconnect();
    } finally {
      await spare.stop();
    }
  });
});

describe('the login timeout', () => {
  let target: TestServer;
  beforeAll(async () => {
    target = await startTestServer({ limits: { loginTimeoutMs: 400 } });
  });
  afterAll(() => target.stop());

  it('should disconnect a connection that does not log in, and leave logged-in ones alone', async () => {
    const member = await registered(target, 'prompt');
    const idle = await connectFrom(target, '127.0.0.21');
    expect(await disconnection(idle)).toBe('io server disconnect');
    // The member connected before the idle one: its timer has long run out too.
    expect(await call(member, 'HISTORY', { limit: 1 })).toMatchObject({ type: 'HISTORY' });
    member.disconnect();
  });
});

describe('the sessions per user', () => {
  let target: TestServer;
  const sockets: Socket[] = [];
  beforeAll(async () => {
    target = await startTestServer({ limits: { maxSessionsPerUser: 2 } });
  });
  afterAll(async () => {
    for (const socket of sockets) socket.disconnect();
    await target.stop();
  });
  const connectOne = async (): Promise<Socket> => {
    const socket = await connectFrom(target, '127.0.0.31');
    sockets.push(socket);
    return socket;
  };

  it('should refuse a login or resume beyond the cap with RATE_LIMITED and a reason, and allow it once sessions are gone', async () => {
    const first = await connectOne();
    const login = await call<Reply>(first, 'REGISTER_CLIENT_', { username: 'busy', password: strongPassword });
    expect(login.type).toBe('LOGIN_SUCCESSFUL');
    expect(await call(await connectOne(), 'LOGIN_ATTEMPTING', { username: 'busy', password: strongPassword })).toMatchObject({ type: 'LOGIN_SUCCESSFUL' });

    const third = await connectOne();
    const refused = await call<Reply>(third, 'LOGIN_ATTEMPTING', { username: 'BUSY', password: strongPassword });
    expect(refused).toEqual({
      type: 'RATE_LIMITED',
      retryAfterMs: expect.any(Number),
      reason: 'too many sessions: this user is already logged in 2 times; log out elsewhere first',
    });
    expect(await call(third, 'RESUME_SESSION', { session: login.session, afterSeq: 0 })).toMatchObject({
      type: 'RATE_LIMITED',
      reason: expect.stringMatching(/too many sessions/),
    });
    // The refused socket is not logged in.
    expect(await call(third, 'CLIENT_TO_SERVER', frameOf(key, 'sneak'))).toEqual({ type: 'NOT_LOGGED_IN' });
    expect(target.server.relay.sessions().filter((s) => s.username === 'busy')).toHaveLength(2);

    // A socket logging in again as the same user does not count twice.
    expect(await call(first, 'LOGIN_ATTEMPTING', { username: 'busy', password: strongPassword })).toMatchObject({ type: 'LOGIN_SUCCESSFUL' });

    // A kick frees the places (and revokes the resume tokens: back with the password only).
    await runCommand('kick busy', target.server, () => undefined);
    expect(await call(third, 'RESUME_SESSION', { session: login.session, afterSeq: 0 })).toEqual({ type: 'SESSION_EXPIRED' });
    expect(await call(third, 'LOGIN_ATTEMPTING', { username: 'busy', password: strongPassword })).toMatchObject({ type: 'LOGIN_SUCCESSFUL', username: 'busy' });
  });
});

describe('the slow-consumer bound', () => {
  let target: TestServer;
  const sockets: Socket[] = [];
  const maxBufferedBytes = 1024 * 1024;
  beforeAll(async () => {
    target = await startTestServer({ limits: { maxBufferedBytes } });
  });
  const cleanup: Array<() => void> = [];
  afterEach(() => {
    for (const step of cleanup) step();
    for (const socket of sockets) socket.disconnect();
  });
  afterAll(() => target.stop());

  it('should disconnect a member who stops reading once the backlog for them passes the bound, while everyone else gets every frame', async () => {
    const watcher = await registered(target, 'watcher');
    const slow = await registered(target, 'slowpoke');
    const senders = await Promise.all(Array.from({ length: 2 }, (_, i) => registered(target, `sender${i}`)));
    sockets.push(watcher, slow, ...senders);
    const received: string[] = [];
    watcher.on('SERVER_TO_CLIENT', (m: { id: string }) => received.push(m.id));
    let slowLeft = false;
    const left = new Promise<void>((resolve) =>
      watcher.on('CLIENT_LEFT_CHAT', (event: { username: string }) => {
        if (event.username !== 'slowpoke') return;
        slowLeft = true;
        resolve();
      }),
    );

    // The slow member's client stops reading from its socket (a frozen app, a stalled link).
    const ws = (slow.io.engine.transport as unknown as { ws: { pause(): void; resume(): void } }).ws;
    ws.pause();
    cleanup.push(() => ws.resume());

    const big = 'x'.repeat(44_000); // a frame of ~59 KB
    const accepted: string[] = [];
    let sentBytes = 0;
    const ceiling = 32 * 1024 * 1024; // 30 times the bound: give up (and fail) here
    await Promise.all(
      senders.map(async (sender) => {
        while (!slowLeft && sentBytes < ceiling) {
          const frame = frameOf(key, big);
          const ack = await call<Reply & { id: string }>(sender, 'CLIENT_TO_SERVER', frame);
          if (ack.type === 'ACCEPTED') {
            accepted.push(ack.id);
            sentBytes += frame.length;
          } else {
            expect(ack.type).toBe('RATE_LIMITED'); // the flood limit: wait as told
            await pause(ack.retryAfterMs);
          }
        }
      }),
    );
    expect(slowLeft).toBe(true);
    await left;
    console.log(`slow consumer cut off after ${accepted.length} frames (${(sentBytes / 1e6).toFixed(1)} MB) were relayed`);

    // Everyone else still has everything: a last frame arrives after all the others.
    const last = frameOf(key, 'done');
    const arrived = nextEvent(watcher, 'SERVER_TO_CLIENT');
    await call(senders[0]!, 'CLIENT_TO_SERVER', last);
    await arrived;
    expect(new Set(received)).toEqual(new Set([...accepted, last.slice(0, 32)]));
    expect(target.server.relay.sessions().map((s) => s.username)).not.toContain('slowpoke');
  }, 60_000);
});
