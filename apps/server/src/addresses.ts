import { networkInterfaces } from 'node:os';

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
