// The reference Python client (tools/testing/enigma_client.py) against a man
// in the middle who lets one connection through untouched and intercepts the
// next. The client used to check its pin on a connection of its own, then
// send the password over a second one with certificate checks off: this
// attacker read the password. The pin must hold for the connection that
// carries the credentials.
import { afterAll, describe, expect, it } from '@jest/globals';
import { generateKey } from '@enigma/crypto';
import { spawn } from 'node:child_process';
import { createServer, connect as connectTcp, type Server, type Socket } from 'node:net';
import { connect as connectTls, createSecureContext, TLSSocket } from 'node:tls';
import { fileURLToPath } from 'node:url';
import { generate } from 'selfsigned';
import { pythonOrSkip } from '../../../../tools/testing/python.mjs';
import { startTestServer, type TestServer } from '../testing/harness.js';

const python = pythonOrSkip(['socketio', 'cryptography']);
const client = fileURLToPath(new URL('../../../../tools/testing/enigma_client.py', import.meta.url));

/**
 * What an attacker reads from a client's side of a WebSocket connection: the
 * HTTP upgrade request, then each frame's payload unmasked (clients mask
 * every frame, RFC 6455 §5.3, so the raw bytes would hide the password).
 */
function readClientStream(stream: Buffer): string {
  const headerEnd = stream.indexOf('\r\n\r\n');
  if (headerEnd === -1) return stream.toString('latin1');
  let text = stream.subarray(0, headerEnd + 4).toString('latin1');
  let at = headerEnd + 4;
  while (at + 2 <= stream.length) {
    const masked = (stream[at + 1]! & 0x80) !== 0;
    let length = stream[at + 1]! & 0x7f;
    let offset = at + 2;
    if (length === 126) {
      length = stream.readUInt16BE(offset);
      offset += 2;
    } else if (length === 127) {
      length = Number(stream.readBigUInt64BE(offset));
      offset += 8;
    }
    const mask = masked ? stream.subarray(offset, offset + 4) : undefined;
    if (masked) offset += 4;
    if (offset + length > stream.length) break;
    const payload = Buffer.from(stream.subarray(offset, offset + length));
    if (mask !== undefined) for (let i = 0; i < payload.length; i++) payload[i]! ^= mask[i % 4]!;
    text += payload.toString('utf8');
    at = offset + length;
  }
  return text;
}

interface ManInTheMiddle {
  port: number;
  /** Everything clients sent through the intercepted connections, decrypted. */
  seen(): string;
  close(): Promise<void>;
}

/**
 * Terminates TLS with its own certificate and relays to the server. With
 * `passFirst` the first connection goes straight through (the real
 * certificate): a client that checks its pin on a connection of its own and
 * then logs in on another is fooled.
 */
async function manInTheMiddle(passFirst: boolean): Promise<ManInTheMiddle & { relayTo(serverPort: number): void }> {
  let serverPort = 0;
  const forged = await generate([{ name: 'commonName', value: 'not enigma' }], { keyType: 'ec', curve: 'P-256', algorithm: 'sha256' });
  let connections = 0;
  const streams: Array<{ bytes: Buffer }> = [];
  const sockets = new Set<Socket>();
  const server: Server = createServer((incoming) => {
    sockets.add(incoming);
    if (connections++ === 0 && passFirst) {
      const upstream = connectTcp(serverPort, '127.0.0.1');
      sockets.add(upstream);
      incoming.pipe(upstream).pipe(incoming);
      incoming.on('error', () => upstream.destroy());
      upstream.on('error', () => incoming.destroy());
      return;
    }
    const victim = new TLSSocket(incoming, { isServer: true, secureContext: createSecureContext({ cert: forged.cert, key: forged.private }) });
    const upstream = connectTls({ port: serverPort, host: '127.0.0.1', rejectUnauthorized: false });
    sockets.add(upstream);
    const stream = { bytes: Buffer.alloc(0) };
    streams.push(stream);
    victim.on('data', (chunk: Buffer) => (stream.bytes = Buffer.concat([stream.bytes, chunk])));
    victim.pipe(upstream).pipe(victim);
    victim.on('error', () => upstream.destroy());
    upstream.on('error', () => victim.destroy());
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as { port: number }).port,
    relayTo: (port) => (serverPort = port),
    seen: () => streams.map((stream) => readClientStream(stream.bytes)).join('\n'),
    close: async () => {
      for (const socket of sockets) socket.destroy();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs the client until it exits or reports its login (after which it would wait 30 s for a message). */
function runPythonClient(url: string, fingerprint: string, password: string): Promise<Run> {
  const child = spawn(python!, [client, url, fingerprint, generateKey(), 'жертва', password, 'register'], { stdio: ['ignore', 'pipe', 'pipe'] });
  const run: Run = { code: null, stdout: '', stderr: '' };
  child.stderr.on('data', (chunk: Buffer) => (run.stderr += chunk.toString()));
  return new Promise((resolve) => {
    child.stdout.on('data', (chunk: Buffer) => {
      run.stdout += chunk.toString();
      if (run.stdout.includes('"step": "login"')) child.kill();
    });
    child.once('exit', (code) => resolve({ ...run, code }));
  });
}

(python === undefined ? describe.skip : describe)('the Python client behind a man in the middle', () => {
  const targets: TestServer[] = [];
  afterAll(async () => {
    for (const target of targets) await target.stop();
  });

  const attack = async (passFirst: boolean, password: string): Promise<{ run: Run; seen: string }> => {
    const mitm = await manInTheMiddle(passFirst);
    // python's websocket-client sends `Origin: http://<the host it dialled>`: the attacker's
    // address here. A real attacker answers for the server's own name; this one is let in.
    const target = await startTestServer({ limits: { allowedOrigins: [`http://127.0.0.1:${mitm.port}`] } });
    targets.push(target);
    mitm.relayTo(target.server.port);
    try {
      const run = await runPythonClient(`https://127.0.0.1:${mitm.port}`, target.server.status().fingerprint!, password);
      return { run, seen: mitm.seen() };
    } finally {
      await mitm.close();
    }
  };

  it('should not send its password through an attacker who passes one connection through and intercepts the next', async () => {
    const password = 'a-very-secret-python-passphrase-1';
    const { run, seen } = await attack(true, password);
    // It did log in: through the connection the attacker passed untouched, the only one it made.
    expect(run.stdout).toMatch(/LOGIN_SUCCESSFUL/);
    expect(seen).not.toContain(password);
  }, 60_000);

  it('should refuse the forged certificate on the connection that would carry the password, and send no password', async () => {
    const password = 'a-very-secret-python-passphrase-2';
    const { run, seen } = await attack(false, password);
    expect(run.code).not.toBe(0);
    expect(run.stderr).toMatch(/does not match the pinned fingerprint/);
    expect(run.stdout).not.toMatch(/LOGIN_SUCCESSFUL/);
    expect(seen).not.toContain(password);
  }, 60_000);
});
