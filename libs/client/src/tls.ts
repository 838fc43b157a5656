import { X509Certificate } from 'node:crypto';
import { connect, type PeerCertificate } from 'node:tls';
import { isIP } from 'node:net';
import { ClientError } from './errors.js';

export interface ServerCertificate {
  pem: string;
  fingerprint: string;
}

/**
 * Fetches the server's certificate without trusting it yet, so the caller can
 * compare its fingerprint with the pinned one (or ask the user) before any
 * password crosses the connection.
 */
export function fetchServerCertificate(url: URL, timeoutMs = 10_000): Promise<ServerCertificate> {
  return new Promise((resolve, reject) => {
    const host = url.hostname.replace(/^\[|\]$/g, '');
    const socket = connect({
      host,
      port: Number(url.port || 443),
      servername: isIP(host) === 0 ? host : undefined,
      // Only reading the certificate here; trust is decided by the fingerprint.
      rejectUnauthorized: false,
      timeout: timeoutMs,
    });
    socket.once('secureConnect', () => {
      const peer: PeerCertificate = socket.getPeerCertificate(true);
      socket.end();
      if (peer.raw === undefined) {
        reject(new ClientError('unreachable', 'the server sent no certificate'));
        return;
      }
      const certificate = new X509Certificate(peer.raw);
      resolve({ pem: certificate.toString(), fingerprint: certificate.fingerprint256 });
    });
    socket.once('timeout', () => {
      socket.destroy();
      reject(new ClientError('unreachable', `the server at ${url.host} did not answer`));
    });
    socket.once('error', (error) => reject(new ClientError('unreachable', `cannot reach the server at ${url.host}`, { cause: error })));
  });
}
