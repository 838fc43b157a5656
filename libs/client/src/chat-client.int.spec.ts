import { afterEach, beforeEach, describe, expect, it } from '@jest/globals';
import { generateKey } from '@enigma/crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { startFaultProxy } from '../../../tools/testing/fault-proxy.mjs';
import { startServerProcess, type Program } from '../../../tools/testing/processes.mjs';
import { ChatClient, type ChatMessage } from './chat-client.js';
import type { ClientError } from './errors.js';

const password = 'correct-horse-battery-staple-42';

function nextMessage(client: ChatClient, predicate: (m: ChatMessage) => boolean = () => true): Promise<ChatMessage> {
  return new Promise((resolve) => {
    const off = client.on('message', (m) => {
      if (predicate(m)) {
        off();
        resolve(m);
      }
    });
  });
}

function until(client: ChatClient, state: string): Promise<void> {
  return new Promise((resolve) => {
    if (client.state === state) return resolve();
    const off = client.on('state', (s) => s === state && (off(), resolve()));
  });
}

describe('ChatClient against a real server', () => {
  let dir: string;
  let server: { program: Program; url: string; fingerprint: string | undefined };
  const clients: ChatClient[] = [];
  const chatKey = generateKey();

  const client = async (name: string, key = chatKey): Promise<ChatClient> => {
    const c = new ChatClient({ chatKey: key });
    clients.push(c);
    await c.connect({ url: server.url, fingerprint: server.fingerprint });
    const reply = await c.register(name, password);
    if (reply.type !== 'LOGIN_SUCCESSFUL') throw new Error(`register ${name}: ${reply.type}`);
    return c;
  };

  beforeEach(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'enigma-sdk-'));
    server = await startServerProcess(dir);
  }, 30_000); // a server start on a busy machine can pass jest's default 5 s
  afterEach(async () => {
    for (const c of clients.splice(0)) c.close();
    await server.program.stop();
    await rm(dir, { recursive: true, force: true });
  });

  it('should answer login and registration replies as the server sends them', async () => {
    const c = new ChatClient({ chatKey });
    clients.push(c);
    await c.connect({ url: server.url, fingerprint: server.fingerprint });
    expect(await c.login('ghost', password)).toMatchObject({ type: 'INVALID_USERNAME' });
    expect(await c.register('Анна', 'weak')).toMatchObject({ type: 'INVALID_PASSWORD', reason: expect.any(String) });
    expect(await c.register('Анна', password)).toMatchObject({ type: 'LOGIN_SUCCESSFUL', registered: true, username: 'Анна' });
    const other = new ChatClient({ chatKey });
    clients.push(other);
    await other.connect({ url: server.url, fingerprint: server.fingerprint });
    expect(await other.register('анна', password)).toEqual({ type: 'USER_IN_DATABASE' });
    expect(await other.login('АННА', 'wrong-password-here')).toMatchObject({ type: 'INVALID_PASSWORD' });
  });

  it('should send and receive Cyrillic text with the same key, and show a locked message under another key', async () => {
    const alice = await client('алиса');
    const bob = await client('боб');
    const outsider = await client('чужак', generateKey());
    const atBob = nextMessage(bob, (m) => m.from === 'алиса');
    const atOutsider = nextMessage(outsider, (m) => m.from === 'алиса');
    const ownEcho = nextMessage(alice, (m) => m.own);
    const accepted = await alice.send('Привет, Боб! 👋');
    expect(await atBob).toMatchObject({ id: accepted.id, seq: accepted.seq, from: 'алиса', text: 'Привет, Боб! 👋', locked: false, own: false });
    expect(await atOutsider).toMatchObject({ id: accepted.id, locked: true });
    expect((await atOutsider).text).toBeUndefined();
    expect(await ownEcho).toMatchObject({ own: true, text: 'Привет, Боб! 👋' });
    expect((await bob.history({ limit: 10 })).map((m) => m.text)).toEqual(['Привет, Боб! 👋']);
  });

  it('should refuse a message too long to send with a clear error, and keep sending the ones after it', async () => {
    const alice = await client('алиса');
    const bob = await client('боб');
    await expect(alice.send('я'.repeat(30_000))).rejects.toMatchObject({ kind: 'messageTooLong' });
    expect(alice.pending).toBe(0);
    const atBob = nextMessage(bob, (m) => m.from === 'алиса');
    await alice.send('короче');
    expect((await atBob).text).toBe('короче');
  });

  it('should refuse a server whose certificate is not the pinned one, and ask on first use', async () => {
    const wrong = 'AA:'.repeat(31) + 'AA';
    const c = new ChatClient({ chatKey });
    clients.push(c);
    await expect(c.connect({ url: server.url, fingerprint: wrong })).rejects.toMatchObject({ kind: 'certificateMismatch' });
    await expect(c.connect({ url: server.url, onUntrustedCertificate: () => false })).rejects.toMatchObject({ kind: 'certificateRefused' });
    let shown = '';
    const { fingerprint } = await c.connect({ url: server.url, onUntrustedCertificate: (fp) => ((shown = fp), true) });
    expect(shown).toBe(server.fingerprint);
    expect(fingerprint).toBe(server.fingerprint);
  });

  it('should report an unreachable server clearly', async () => {
    const c = new ChatClient({ chatKey });
    await expect(c.connect({ url: 'https://127.0.0.1:1' })).rejects.toMatchObject({ kind: 'unreachable' });
  });

  it('should reconnect after the server restarts, resume without the password and catch up exactly once, in order', async () => {
    const alice = await client('alice');
    const bob = await client('bob');
    const seen: ChatMessage[] = [];
    bob.on('message', (m) => seen.push(m));
    await alice.send('before');

    const port = new URL(server.url).port;
    await server.program.stop();
    await until(bob, 'reconnecting');
    server = await startServerProcess(dir, ['--port', port]);
    await until(alice, 'connected');
    await until(bob, 'connected');

    // Sent while bob may still be resuming: the outbox and the catch-up must agree.
    const during = alice.send('after restart');
    const arrived = nextMessage(bob, (m) => m.text === 'after restart');
    await during;
    await arrived;
    expect(seen.map((m) => m.text)).toEqual(['before', 'after restart']);
    expect(seen.map((m) => m.seq)).toEqual([...seen.map((m) => m.seq)].sort((a, b) => a - b));
  }, 60_000);

  it('should keep unacknowledged messages in the outbox across a server outage and deliver them once', async () => {
    const alice = await client('alice2');
    const bob = await client('bob2');
    const port = new URL(server.url).port;
    await server.program.stop();
    await until(alice, 'reconnecting');
    const queued = alice.send('written while offline');
    const atBob = nextMessage(bob, (m) => m.text === 'written while offline');
    expect(alice.pending).toBe(1);
    server = await startServerProcess(dir, ['--port', port]);
    const delivered = await queued;
    expect(await atBob).toMatchObject({ id: delivered.id, seq: delivered.seq });
    expect(alice.pending).toBe(0);
  }, 60_000);

  it('should catch up on a backlog larger than several replies once back online, each message once and in order', async () => {
    const alice = await client('alice3');
    const proxy = await startFaultProxy(Number(new URL(server.url).port));
    try {
      const bob = new ChatClient({ chatKey });
      clients.push(bob);
      await bob.connect({ url: `https://127.0.0.1:${proxy.port}`, fingerprint: server.fingerprint });
      expect(await bob.register('bob3', password)).toMatchObject({ type: 'LOGIN_SUCCESSFUL' });
      const seen: ChatMessage[] = [];
      bob.on('message', (m) => seen.push(m));
      proxy.goOffline();
      await until(bob, 'reconnecting');
      // 60 frames of about 60 KB: some 3.5 MB, so the resume reply and each
      // HISTORY page (1 MiB of frames at most) hold 17 messages, not 500.
      const texts = Array.from({ length: 60 }, (_, i) => `${i}:`.padEnd(45_000, String.fromCharCode(97 + (i % 26))));
      for (const text of texts) await alice.send(text);
      const caughtUp = new Promise<void>((resolve) => bob.on('message', () => seen.length >= texts.length && resolve()));
      proxy.restore();
      await caughtUp;
      expect(seen.map((m) => m.text)).toEqual(texts);
      expect(seen.map((m) => m.seq)).toEqual(Array.from({ length: texts.length }, (_, i) => seen[0]!.seq + i));
    } finally {
      await proxy.close();
    }
  }, 60_000);

  it('should refuse a message past the account quota with a typed error, leave the outbox, and tell the app', async () => {
    const port = new URL(server.url).port;
    await server.program.stop();
    server = await startServerProcess(dir, ['--port', port, '--account-quota', '600B']);
    const alice = await client('alice4');
    const errors: ClientError[] = [];
    alice.on('error', (error) => errors.push(error));
    let refused: unknown;
    for (let i = 0; i < 10 && refused === undefined; i++) await alice.send(`m${i}`).catch((error: unknown) => (refused = error));
    expect(refused).toMatchObject({ kind: 'quotaExceeded', message: expect.stringContaining('quota of 600 bytes') });
    expect(errors.map((e) => e.kind)).toEqual(['quotaExceeded']);
    expect(alice.pending).toBe(0);
  }, 30_000);
});
