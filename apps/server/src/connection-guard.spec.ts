import { describe, expect, it } from '@jest/globals';
import { EventEmitter } from 'node:events';
import type { IncomingMessage } from 'node:http';
import { ConnectionGuard } from './connection-guard.js';
import { createLogger } from './logger.js';
import { DEFAULT_SERVER_LIMITS } from './options.js';

/** A handshake request as engine.io hands it to `allowRequest`, from a given address. */
function handshakeFrom(remoteAddress: string): IncomingMessage {
  return { headers: {}, socket: Object.assign(new EventEmitter(), { remoteAddress, localPort: 7777 }) } as unknown as IncomingMessage;
}

function allowed(guard: ConnectionGuard, remoteAddress: string): Promise<boolean> {
  return new Promise((resolve) => guard.allowRequest(handshakeFrom(remoteAddress), (_message, success) => resolve(success)));
}

describe(ConnectionGuard, () => {
  it('should hold a host that rotates through its IPv6 /64 to one per-address cap', async () => {
    const guard = new ConnectionGuard({ ...DEFAULT_SERVER_LIMITS, maxConnectionsPerAddress: 3 }, createLogger('silent', undefined), ['127.0.0.1']);
    const verdicts = [];
    // The cap admits one over it (so the client can be told why): 3 + 1.
    for (let host = 1; host <= 6; host++) verdicts.push(await allowed(guard, `2001:db8:5:5::${host.toString(16)}`));
    expect(verdicts).toEqual([true, true, true, true, false, false]);
    // Another /64, and IPv4 addresses, have budgets of their own.
    expect(await allowed(guard, '2001:db8:5:6::1')).toBe(true);
    expect(await allowed(guard, '192.0.2.1')).toBe(true);
    expect(await allowed(guard, '192.0.2.2')).toBe(true);
  });
});
