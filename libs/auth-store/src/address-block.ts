import { isIPv4, isIPv6 } from 'node:net';

/**
 * The unit an address-keyed throttle or cap counts: one IPv4 address, or one
 * IPv6 /64. A single IPv6 host usually holds a whole /64 (SLAAC, privacy
 * addresses, a provider's delegation) and can pick a fresh address per
 * connection, so counting single IPv6 addresses lets one attacker rotate past
 * every per-address limit. The trade-off: everyone behind one IPv4 NAT, or
 * on one IPv6 LAN, shares one budget (docs/security.md, "Limits").
 *
 * IPv4-mapped IPv6 (`::ffff:192.0.2.7`, what a dual-stack socket reports for
 * an IPv4 client) counts as its IPv4 address. Anything that is not an IP
 * address (a test's made-up peer) is its own key.
 */
export function addressBlock(address: string): string {
  const bare = address.replace(/%.*$/, ''); // a zone index (fe80::1%eth0) names an interface, not a host
  if (isIPv4(bare)) return bare;
  if (!isIPv6(bare)) return address;
  const groups = expandIPv6(bare);
  if (groups.slice(0, 5).every((group) => group === 0) && groups[5] === 0xffff) {
    return `${groups[6]! >> 8}.${groups[6]! & 0xff}.${groups[7]! >> 8}.${groups[7]! & 0xff}`;
  }
  return `${groups
    .slice(0, 4)
    .map((group) => group.toString(16))
    .join(':')}::/64`;
}

/** The eight 16-bit groups of a valid IPv6 address (`::` and a trailing dotted IPv4 part expanded). */
function expandIPv6(address: string): number[] {
  let text = address.toLowerCase();
  const dotted = /(\d+)\.(\d+)\.(\d+)\.(\d+)$/.exec(text);
  if (dotted !== null) {
    const [a, b, c, d] = dotted.slice(1).map(Number) as [number, number, number, number];
    text = `${text.slice(0, dotted.index)}${((a << 8) | b).toString(16)}:${((c << 8) | d).toString(16)}`;
  }
  const [head, tail] = text.split('::') as [string, string | undefined];
  const parse = (part: string): number[] => (part === '' ? [] : part.split(':').map((group) => parseInt(group, 16)));
  const front = parse(head);
  if (tail === undefined) return front;
  const back = parse(tail);
  return [...front, ...Array<number>(8 - front.length - back.length).fill(0), ...back];
}
