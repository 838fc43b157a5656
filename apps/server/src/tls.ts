import { X509Certificate } from 'node:crypto';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { hostname } from 'node:os';
import path from 'node:path';
import { generate } from 'selfsigned';

export interface TlsMaterial {
  cert: string;
  key: string;
  /** SHA-256 of the certificate, colon-separated uppercase hex (what invites pin). */
  fingerprint: string;
  /** True when this start made the certificate. */
  created: boolean;
}

/**
 * What the server offers in a handshake: TLS 1.2 and 1.3 only, and on 1.2
 * only forward-secret AEAD suites (ECDHE with AES-GCM or ChaCha20-Poly1305).
 * Node's default list also offers CBC suites on 1.2 (`ECDHE-RSA-AES128-SHA256`
 * and others), the family of Lucky Thirteen and padding-oracle attacks; every
 * client we know speaks one of these. TLS 1.3 suites are all AEAD.
 */
export const TLS_SERVER_SETTINGS = Object.freeze({
  minVersion: 'TLSv1.2' as const,
  ciphers: [
    'TLS_AES_128_GCM_SHA256',
    'TLS_AES_256_GCM_SHA384',
    'TLS_CHACHA20_POLY1305_SHA256',
    'ECDHE-ECDSA-AES128-GCM-SHA256',
    'ECDHE-RSA-AES128-GCM-SHA256',
    'ECDHE-ECDSA-AES256-GCM-SHA384',
    'ECDHE-RSA-AES256-GCM-SHA384',
    'ECDHE-ECDSA-CHACHA20-POLY1305',
    'ECDHE-RSA-CHACHA20-POLY1305',
  ].join(':'),
  honorCipherOrder: true,
});

export const CERT_FILE = 'tls-cert.pem';
export const KEY_FILE = 'tls-key.pem';

function fingerprintOf(cert: string): string {
  return new X509Certificate(cert).fingerprint256;
}

/** Reads an operator-supplied certificate and key. */
export async function loadCertificate(certPath: string, keyPath: string): Promise<TlsMaterial> {
  const [cert, key] = await Promise.all([readFile(certPath, 'utf8'), readFile(keyPath, 'utf8')]);
  return { cert, key, fingerprint: fingerprintOf(cert), created: false };
}

/**
 * Reuses the self-signed certificate in the data dir, or makes one on first
 * start (EC P-256, 10 years: its fingerprint is what clients pin, so it must
 * not change under them).
 */
export async function loadOrCreateSelfSigned(dataDir: string): Promise<TlsMaterial> {
  const certPath = path.join(dataDir, CERT_FILE);
  const keyPath = path.join(dataDir, KEY_FILE);
  try {
    return await loadCertificate(certPath, keyPath);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
  }
  await mkdir(dataDir, { recursive: true, mode: 0o700 });
  const now = new Date();
  const pems = await generate([{ name: 'commonName', value: `enigma ${hostname()}` }], {
    keyType: 'ec',
    curve: 'P-256',
    algorithm: 'sha256',
    notBeforeDate: new Date(now.getTime() - 60_000),
    notAfterDate: new Date(now.getTime() + 10 * 365 * 24 * 3600_000),
    extensions: [
      { name: 'basicConstraints', cA: false },
      { name: 'keyUsage', digitalSignature: true, keyEncipherment: true },
      { name: 'extKeyUsage', serverAuth: true },
      {
        name: 'subjectAltName',
        altNames: [
          { type: 2, value: 'localhost' },
          { type: 2, value: hostname() },
          { type: 7, ip: '127.0.0.1' },
        ],
      },
    ],
  });
  await writeFile(keyPath, pems.private, { mode: 0o600, flag: 'wx' });
  await writeFile(certPath, pems.cert, { mode: 0o644, flag: 'wx' });
  return { cert: pems.cert, key: pems.private, fingerprint: fingerprintOf(pems.cert), created: true };
}
