import { afterEach, describe, expect, it } from '@jest/globals';
import { connect as connectTcp, type Socket as NetSocket } from 'node:net';
import { connect as connectTls } from 'node:tls';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { io as connectClient, type Socket } from 'socket.io-client';
import { seedDataDir } from '../../../tools/fixtures/seed-data-dir.mjs';
import { startServerProcess } from '../../../tools/testing/processes.mjs';
import { openDatabase } from '@enigma/auth-store';
import { generateKey } from '@enigma/crypto';
import { frameOf } from './testing/harness.js';

// The operator's two ways to stop the real program — `exit` at the console
// and SIGTERM (systemd, Ctrl-C through npm) — with a full house: 1,000 clients
// logged in, some of them sending, and the connections a server meets in the
// wild that never become socket.io sessions (a half-open TCP connection, a
// TLS handshake never finished). Those last ones used to keep Node's
// `server.close()` waiting until the 5 s force timer killed the process with
// exit code 1 and no word of why.
const CLIENTS = 1000;
const SENDERS = 10;

interface Member {
  socket: Socket;
  noticeBeforeDisconnect: boolean | undefined;
}

function member(url: string, token: string, index: number): Promise<Member> {
  // Spread over loopback addresses, as many real clients come from many addresses.
  const socket = connectClient(url, {
    transports: ['websocket'],
    rejectUnauthorized: false,
    reconnection: false,
    forceNew: true,
    localAddress: `127.0.0.${2 + (index % 8)}`,
  } as never);
  const state: Member = { socket, noticeBeforeDisconnect: undefined };
  let noticed = false;
  socket.on('SERVER_NOTICE', (notice: { kind: string }) => {
    if (notice.kind === 'shutdown') noticed = true;
  });
  socket.on('disconnect', () => (state.noticeBeforeDisconnect = noticed));
  return new Promise((resolve, reject) => {
    socket.once('connect_error', reject);
    socket.once('connect', () => {
      socket.emit('RESUME_SESSION', { session: token, afterSeq: 0 }, (reply: { type: string }) =>
        reply.type === 'LOGIN_SUCCESSFUL' ? resolve(state) : reject(new Error(`resume refused: ${reply.type}`)),
      );
    });
  });
}

/**
 * Sends one frame after another (one in flight, as the SDK does) until the
 * connection goes. `first` resolves at the first ACCEPTED; `done` with every
 * id the server ACCEPTED.
 */
function keepSending(socket: Socket, key: string, sender: number): { first: Promise<void>; done: Promise<string[]> } {
  let firstAccepted!: () => void;
  const first = new Promise<void>((resolve) => (firstAccepted = resolve));
  const done = (async () => {
    const accepted: string[] = [];
    for (let n = 0; socket.connected; n++) {
      const frame = frameOf(key, `сообщение ${n} от ${sender}`);
      const reply = await new Promise<{ type: string; id?: string } | undefined>((resolve) => {
        socket
          .timeout(5000)
          .emit('CLIENT_TO_SERVER', frame, (error: Error | null, answer: { type: string; id?: string }) => resolve(error ? undefined : answer));
      });
      if (reply?.type === 'ACCEPTED') {
        accepted.push(reply.id!);
        firstAccepted();
      }
    }
    return accepted;
  })();
  return { first, done };
}

describe('stopping the server with clients connected', () => {
  const cleanups: Array<() => Promise<void> | void> = [];
  afterEach(async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
  });

  it.each([
    ['the console command exit', 'exit'],
    ['SIGTERM', 'SIGTERM'],
  ])(
    'should, on %s with 1,000 clients and idle half-open connections, notify every client, keep every accepted frame and exit 0',
    async (_how, how) => {
      const seed = await seedDataDir({ accounts: CLIENTS / 10, sessions: CLIENTS });
      cleanups.push(() => seed.remove());
      const { program, url } = await startServerProcess(seed.dataDir);
      cleanups.push(() => program.stop());
      const port = Number(new URL(url).port);

      const members = await Promise.all(seed.sessions.map((token, index) => member(url, token, index)));
      cleanups.push(() => members.forEach(({ socket }) => socket.close()));
      // Connections that never become sessions: bare TCP, and TLS that never says anything after its handshake.
      const bare: NetSocket = connectTcp(port, '127.0.0.1');
      const tls = connectTls({ port, host: '127.0.0.1', rejectUnauthorized: false });
      await Promise.all([new Promise((resolve) => bare.once('connect', resolve)), new Promise((resolve) => tls.once('secureConnect', resolve))]);
      cleanups.push(() => {
        bare.destroy();
        tls.destroy();
      });

      const key = generateKey();
      const sending = members.slice(0, SENDERS).map(({ socket }, sender) => keepSending(socket, key, sender));
      // Frames are flowing (every sender has had one accepted) when the stop comes.
      await Promise.all(sending.map(({ first }) => first));

      const stoppedAt = performance.now();
      if (how === 'exit') program.command('exit');
      else program.child.kill('SIGTERM');
      const code = await program.exited;
      const tookMs = Math.round(performance.now() - stoppedAt);
      const accepted = (await Promise.all(sending.map(({ done }) => done))).flat();

      expect(code).toBe(0);
      expect(program.lines).toContain('bye');
      expect(program.lines.join('\n')).not.toMatch(/did not finish/);
      // Every client was told why before its connection closed.
      expect(members.filter((m) => m.noticeBeforeDisconnect !== true)).toHaveLength(0);
      // Nothing acknowledged is lost: every ACCEPTED id is in the database the process left behind.
      const database = await openDatabase(path.join(seed.dataDir, 'accounts.db'));
      try {
        const rows = (await database.current().query('SELECT id FROM messages')) as Array<{ id: string }>;
        const stored = new Set(rows.map((row) => row.id));
        expect(accepted.length).toBeGreaterThanOrEqual(SENDERS);
        expect(accepted.filter((id) => !stored.has(id))).toEqual([]);
        expect(await database.current().query('PRAGMA integrity_check')).toEqual([{ integrity_check: 'ok' }]);
      } finally {
        await database.close();
      }
      process.stdout.write(`shutdown by ${how}: ${CLIENTS} clients, ${accepted.length} frames accepted, exit 0 after ${tookMs} ms\n`);
    },
    120_000,
  );
});
