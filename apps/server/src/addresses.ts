import { X509Certificate } from 'node:crypto';
import { hostname, networkInterfaces } from 'node:os';

/**
 * The addresses a user on the LAN can reach the server at (the seed printed
 * its "local IP"): every non-internal IPv4 address, then 127.0.0.1. When the
 * server is bound to one address, just that one.
 */
export function reachableAddresses(host: string | undefined): string[] {
  if (host !== undefined && host !== '0.0.0.0' && host !== '::') return [host];
  const lan = Object.values(networkInterfaces())
    .flat()
    .filter((info): info is NonNullable<typeof info> => info !== undefined && info.family === 'IPv4' && !info.internal)
    .map((info) => info.address);
  return [...new Set([...lan, '127.0.0.1'])];
}

/**
 * Every host name a legitimate client may use for this server, lowercase and
 * without IPv6 brackets: the addresses it listens on, loopback, this
 * machine's name, and the DNS names and addresses its certificate is for.
 * A browser's `Origin` must name one of these (and the server's port): the
 * `Host` header cannot be trusted for that, since a DNS-rebinding page sends
 * its own name in both.
 */
export function ownHostNames(host: string | undefined, certificatePem: string | undefined): string[] {
  const names = [...reachableAddresses(host), 'localhost', '127.0.0.1', '::1', hostname()];
  if (certificatePem !== undefined) {
    for (const entry of (new X509Certificate(certificatePem).subjectAltName ?? '').split(',')) {
      const match = /^\s*(?:DNS|IP Address):(.+)$/.exec(entry);
      if (match !== null) names.push(match[1]!.trim());
    }
  }
  return [...new Set(names.map((name) => name.toLowerCase().replace(/^\[|\]$/g, '')))];
}
