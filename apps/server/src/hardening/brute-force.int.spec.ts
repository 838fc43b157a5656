// Password guessing and registration floods against a real server, from
// several client addresses (127.0.0.x: the server sees each as its own).
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { setTimeout as pause } from 'node:timers/promises';
import type { Socket } from 'socket.io-client';
import { call, registered, startTestServer, strongPassword, type TestServer } from '../testing/harness.js';
import { connectFrom } from '../testing/hostile.js';

type Reply = { type: string; retryAfterMs?: number; reason?: string };

// Short windows, so that "after the window" comes within the test.
const throttle = {
  accountFailures: 5,
  addressFailures: 20,
  failureWindowSeconds: 2,
  baseBlockSeconds: 2,
  maxBlockSeconds: 4,
  registrations: 5,
  registrationWindowSeconds: 3600,
};

/** Sends all requests at once (pipelined on each socket) and tallies the reply types. */
async function tally(requests: Array<Promise<Reply>>): Promise<Record<string, number>> {
  const counts: Record<string, number> = {};
  for (const reply of await Promise.all(requests)) counts[reply.type] = (counts[reply.type] ?? 0) + 1;
  return counts;
}

describe('brute force against a real server', () => {
  let target: TestServer;
  const sockets: Socket[] = [];
  const from = async (address: string): Promise<Socket> => {
    const socket = await connectFrom(target, address);
    sockets.push(socket);
    return socket;
  };

  beforeAll(async () => {
    target = await startTestServer({ throttle });
    (await registered(target, 'victim')).disconnect();
  });
  afterAll(async () => {
    for (const socket of sockets) socket.disconnect();
    await target.stop();
  });

  it('should see each test client address as its own', async () => {
    const socket = await from('127.0.0.5');
    await call(socket, 'REGISTER_CLIENT_', { username: 'addressed', password: strongPassword });
    expect(target.server.relay.sessions().find((s) => s.username === 'addressed')?.address).toBe('127.0.0.5');
  });

  it('should check only a handful of 1,000 guesses at one account from 10 addresses, and let the real password in after the window', async () => {
    const attackers = await Promise.all(Array.from({ length: 10 }, (_, i) => from(`127.0.0.${50 + i}`)));
    const started = Date.now();
    const counts = await tally(
      attackers.flatMap((socket, a) =>
        Array.from({ length: 100 }, (_, g) => call<Reply>(socket, 'LOGIN_ATTEMPTING', { username: 'victim', password: `guess-${a}-${g}-hunter2` })),
      ),
    );
    const elapsedMs = Date.now() - started;
    const checked = counts['INVALID_PASSWORD'] ?? 0;
    console.log(`1000 guesses in ${elapsedMs} ms: ${checked} checked, ${counts['RATE_LIMITED'] ?? 0} RATE_LIMITED`);

    expect(Object.keys(counts).sort()).toEqual(['INVALID_PASSWORD', 'RATE_LIMITED']);
    expect(checked + (counts['RATE_LIMITED'] ?? 0)).toBe(1000);
    // Five failures per account, then a block of at least baseBlockSeconds: at
    // most five more per block period that passed while the guesses ran.
    const periods = 1 + Math.ceil(elapsedMs / (throttle.baseBlockSeconds * 1000));
    expect(checked).toBeGreaterThanOrEqual(throttle.accountFailures);
    expect(checked).toBeLessThanOrEqual(throttle.accountFailures * periods);

    // The owner, from yet another address: refused while the block lasts (even
    // with the right password), let in once it is over.
    const owner = await from('127.0.0.70');
    let reply = await call<Reply>(owner, 'LOGIN_ATTEMPTING', { username: 'victim', password: strongPassword });
    expect(reply).toMatchObject({ type: 'RATE_LIMITED', retryAfterMs: expect.any(Number) });
    for (let tries = 0; reply.type === 'RATE_LIMITED' && tries < 5; tries++) {
      await pause(reply.retryAfterMs!); // as the server says
      reply = await call<Reply>(owner, 'LOGIN_ATTEMPTING', { username: 'victim', password: strongPassword });
    }
    expect(reply).toMatchObject({ type: 'LOGIN_SUCCESSFUL', username: 'victim' });
  }, 60_000);

  it('should stop one address guessing across many accounts after its own limit', async () => {
    const sprayer = await from('127.0.0.80');
    const counts = await tally(
      Array.from({ length: 200 }, (_, i) => call<Reply>(sprayer, 'LOGIN_ATTEMPTING', { username: `user${i}`, password: 'Winter2024!' })),
    );
    const checked = counts['INVALID_USERNAME'] ?? 0;
    console.log(`200 guesses at 200 accounts from one address: ${checked} checked, ${counts['RATE_LIMITED'] ?? 0} RATE_LIMITED`);
    expect(Object.keys(counts).sort()).toEqual(['INVALID_USERNAME', 'RATE_LIMITED']);
    // The address limit, plus at most the few checks already under way when it was reached.
    expect(checked).toBeGreaterThanOrEqual(throttle.addressFailures);
    expect(checked).toBeLessThanOrEqual(throttle.addressFailures + 4);
  });

  it('should register only the allowed number of accounts from one address, and still let another address register', async () => {
    const flooder = await from('127.0.0.90');
    const counts = await tally(
      Array.from({ length: 40 }, (_, i) => call<Reply>(flooder, 'REGISTER_CLIENT_', { username: `bot${i}`, password: strongPassword })),
    );
    expect(counts).toEqual({ LOGIN_SUCCESSFUL: throttle.registrations, RATE_LIMITED: 40 - throttle.registrations });
    expect((await target.server.users.list()).filter((u) => u.username.startsWith('bot'))).toHaveLength(throttle.registrations);
    const neighbour = await from('127.0.0.91');
    expect(await call(neighbour, 'REGISTER_CLIENT_', { username: 'neighbour', password: strongPassword })).toMatchObject({ type: 'LOGIN_SUCCESSFUL' });
  }, 30_000);
});
