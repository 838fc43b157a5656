import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { Fernet, generateKey } from '@enigma/crypto';
import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import type { Socket } from 'socket.io-client';
import { pythonOrSkip } from '../../../tools/testing/python.mjs';
import { frameOf, nextEvent, registered, startTestServer, call, type TestServer } from './testing/harness.js';

const python = pythonOrSkip(['socketio', 'cryptography']);
const client = fileURLToPath(new URL('../../../tools/testing/enigma_client.py', import.meta.url));

(python === undefined ? describe.skip : describe)('a Python client (python-socketio + cryptography)', () => {
  let target: TestServer;
  let typescriptUser: Socket;
  const key = generateKey();

  beforeAll(async () => {
    target = await startTestServer();
    typescriptUser = await registered(target, 'ts-user');
  });
  afterAll(async () => {
    typescriptUser.disconnect();
    await target.stop();
  });

  it('should register, send a frame we decrypt, and decrypt the frame we send', async () => {
    const fingerprint = target.server.status().fingerprint!;
    const child = spawn(python!, [client, target.url, fingerprint, key, 'питон', 'a-long-python-passphrase', 'register'], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const lines = createInterface({ input: child.stdout });
    const steps: Record<string, Record<string, unknown>> = {};
    const fromPython = nextEvent<{ from: string; frame: string }>(typescriptUser, 'SERVER_TO_CLIENT');

    for await (const line of lines) {
      const step = JSON.parse(line) as Record<string, unknown>;
      steps[step['step'] as string] = step;
      if (step['step'] === 'sent') {
        const relayed = await fromPython;
        expect(relayed.from).toBe('питон');
        expect(new Fernet(key).decryptText(relayed.frame.slice(32))).toBe('Привет из Python 🐍');
        expect(await call(typescriptUser, 'CLIENT_TO_SERVER', frameOf(key, 'Ответ из TypeScript'))).toMatchObject({ type: 'ACCEPTED' });
      }
    }
    const code = await new Promise<number | null>((resolve) => (child.exitCode !== null ? resolve(child.exitCode) : child.once('exit', resolve)));
    expect({ code, stderr }).toEqual({ code: 0, stderr: '' });
    expect(steps['login']).toMatchObject({ type: 'LOGIN_SUCCESSFUL', username: 'питон' });
    expect(steps['no-payload']).toMatchObject({ type: 'MALFORMED_REQUEST' });
    expect(steps['sent']!['id']).toBe(steps['sent']!['expected_id']);
    expect(steps['received']).toMatchObject({ sender: 'ts-user', text: 'Ответ из TypeScript' });
  }, 60_000);
});
