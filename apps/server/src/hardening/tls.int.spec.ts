// What a network attacker can get the server to agree to in a TLS handshake
// (docs/security.md, "Transport"): nothing older than TLS 1.2 and, on 1.2,
// no CBC suite — only forward-secret AEAD.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { connect, type ConnectionOptions } from 'node:tls';
import { startTestServer, type TestServer } from '../testing/harness.js';

type Outcome = { agreed: true; version: string | null; cipher: string } | { agreed: false; error: string };

function handshake(target: TestServer, options: ConnectionOptions): Promise<Outcome> {
  return new Promise((resolve) => {
    const socket = connect({ host: '127.0.0.1', port: target.server.port, rejectUnauthorized: false, ...options });
    socket.once('secureConnect', () => {
      resolve({ agreed: true, version: socket.getProtocol(), cipher: socket.getCipher().name });
      socket.destroy();
    });
    socket.once('error', (error: NodeJS.ErrnoException) => resolve({ agreed: false, error: error.code ?? error.message }));
  });
}

describe('the TLS handshake', () => {
  let target: TestServer;
  beforeAll(async () => {
    target = await startTestServer();
  });
  afterAll(() => target.stop());

  it.each(['ECDHE-ECDSA-AES128-SHA256', 'ECDHE-ECDSA-AES256-SHA384', 'ECDHE-ECDSA-AES128-SHA', 'ECDHE-ECDSA-AES256-SHA'])(
    'should refuse a TLS 1.2 client that offers only the CBC suite %s',
    async (cipher) => {
      const outcome = await handshake(target, { maxVersion: 'TLSv1.2', ciphers: cipher });
      expect(outcome.agreed).toBe(false);
    },
  );

  it('should refuse TLS 1.1', async () => {
    // OpenSSL's default security level refuses 1.1 on the client side too; level 0 lets the client ask.
    const outcome = await handshake(target, { minVersion: 'TLSv1.1', maxVersion: 'TLSv1.1', ciphers: 'DEFAULT@SECLEVEL=0' });
    expect(outcome.agreed).toBe(false);
  });

  it.each(['ECDHE-ECDSA-AES128-GCM-SHA256', 'ECDHE-ECDSA-AES256-GCM-SHA384', 'ECDHE-ECDSA-CHACHA20-POLY1305'])(
    'should agree to TLS 1.2 with the AEAD suite %s',
    async (cipher) => {
      expect(await handshake(target, { maxVersion: 'TLSv1.2', ciphers: cipher })).toEqual({ agreed: true, version: 'TLSv1.2', cipher });
    },
  );

  it('should prefer TLS 1.3 when the client speaks it', async () => {
    expect(await handshake(target, {})).toMatchObject({ agreed: true, version: 'TLSv1.3' });
  });
});
