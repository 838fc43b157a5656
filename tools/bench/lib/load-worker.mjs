// One load-generator process: many real socket.io-client clients. Forked by
// load.mjs (two of them, so the clients' parsing is spread over both cores);
// it answers the parent's commands over the IPC channel.
import { monitorEventLoopDelay, performance } from 'node:perf_hooks';
import { Fernet, generateKey } from '@enigma/crypto';
import { encodeFrame } from '@enigma/protocol';
import * as hdr from 'hdr-histogram-js';
import { io } from 'socket.io-client';

const workerId = Number(process.env.BENCH_WORKER_ID ?? 0);
/** Wall-clock milliseconds with sub-ms resolution, comparable across processes on one machine. */
const now = () => performance.timeOrigin + performance.now();
const sleepUntil = (t) => new Promise((r) => setTimeout(r, Math.max(0, t - now())));

/** Latency histogram in microseconds, 1 µs .. 60 s, 3 significant digits. */
const newHistogram = () => hdr.build({ lowestDiscernibleValue: 1, highestTrackableValue: 60_000_000, numberOfSignificantValueDigits: 3 });

const fernet = new Fernet(generateKey());
const payload = 'x'.repeat(100); // a 100-byte chat message
const loop = monitorEventLoopDelay({ resolution: 10 });
loop.enable();

/**
 * Clients by group (one group per server under test), so a scenario can keep
 * several servers' clients connected and measure them in turn.
 * @type {Map<string, import('socket.io-client').Socket[]>}
 */
const groups = new Map();
const group = (name = 'default') => {
  if (!groups.has(name)) groups.set(name, []);
  return groups.get(name);
};
let step = newStep(0);
function newStep(id) {
  return { id, delivered: 0, accepted: 0, refused: {}, histogram: newHistogram(), cpuBefore: process.cpuUsage() };
}
let counter = 0;

/**
 * The latency stamp rides in the Fernet IV (the frame's bytes 9..25 of the
 * token), so a receiver reads it without decrypting: intended send time
 * (float64 ms), step id, worker id and a counter that keeps every frame
 * unique (Enigma drops duplicate ids). A predictable IV is harmless here: the
 * key is a throwaway and the plaintext is filler.
 */
function stampedFrame(intendedMs, stepId, body = payload) {
  const iv = Buffer.alloc(16);
  iv.writeDoubleLE(intendedMs, 0);
  iv[8] = stepId;
  iv[9] = workerId;
  iv.writeUInt32LE(++counter, 10);
  return encodeFrame(fernet.encrypt(body, { iv }));
}

/** Token chars 12..36 hold bytes 9..27; the frame has a 32-char id in front. */
function readStamp(frame) {
  const bytes = Buffer.from(frame.slice(32 + 12, 32 + 36), 'base64url');
  return { sentMs: bytes.readDoubleLE(0), stepId: bytes[8] };
}

function onRelayed(message) {
  if (this?.stalled) return; // a stalled client's figures are not the ones measured
  const { sentMs, stepId } = readStamp(message.frame);
  if (stepId !== step.id) return; // warm-up traffic or a late frame of an earlier step
  step.delivered++;
  step.histogram.recordValue(Math.max(1, Math.round((now() - sentMs) * 1000)));
}

function connectOne(url, localAddress) {
  return new Promise((resolve, reject) => {
    // forceNew: one Manager (one WebSocket) per client, like separate users.
    const socket = io(url, { transports: ['websocket'], forceNew: true, reconnection: false, timeout: 60_000, localAddress });
    socket.once('connect', () => resolve(socket));
    socket.once('connect_error', (error) => {
      socket.close();
      reject(error);
    });
  });
}

/** Runs `task` over `items` with at most `limit` in flight (a connection storm times out). */
async function pool(items, limit, task) {
  let next = 0;
  const results = new Array(items.length);
  const runners = Array.from({ length: Math.min(limit, items.length) }, async () => {
    while (next < items.length) {
      const i = next++;
      results[i] = await task(items[i], i).then(
        (value) => ({ ok: true, value }),
        (error) => ({ ok: false, error: String(error?.message ?? error) }),
      );
    }
  });
  await Promise.all(runners);
  return results;
}

/** The login request for one client: resume a seeded session, log in with a password, or nothing. */
function loginRequest(auth, i) {
  if (auth.kind === 'resume') return ['RESUME_SESSION', { session: auth.tokens[i], afterSeq: auth.afterSeq ?? 0 }];
  if (auth.kind === 'login') return ['LOGIN_ATTEMPTING', { username: auth.usernames[i], password: auth.password }];
  return undefined;
}

async function logIn(socket, request) {
  const reply = await socket.timeout(120_000).emitWithAck(...request);
  if (reply?.type !== 'LOGIN_SUCCESSFUL') throw new Error(`login refused: ${JSON.stringify(reply).slice(0, 200)}`);
  return reply;
}

const commands = {
  /** Opens `count` clients (and logs each in when `auth` says so). */
  async connect({ group: name, url, count, localAddresses, auth, concurrency = 50 }) {
    const started = now();
    const clients = group(name);
    const results = await pool(
      Array.from({ length: count }, (_, i) => i),
      concurrency,
      async (i) => {
        const socket = await connectOne(url, localAddresses[i % localAddresses.length]);
        socket.on('SERVER_TO_CLIENT', onRelayed);
        clients.push(socket);
        const request = loginRequest(auth, i);
        if (request !== undefined) await logIn(socket, request);
      },
    );
    const failed = results.filter((r) => !r.ok);
    return { connected: clients.length, failed: failed.length, firstError: failed[0]?.error, ms: now() - started };
  },

  /** Every client sends its login at the same instant `at`; per-client time to the ack. */
  async burst({ group: name, auth, at }) {
    await sleepUntil(at);
    const results = await Promise.all(
      group(name).map((socket, i) =>
        logIn(socket, loginRequest(auth, i)).then(
          (reply) => ({ ok: true, ms: now() - at, history: reply.history.length, bytes: JSON.stringify(reply).length }),
          (error) => ({ ok: false, ms: now() - at, error: String(error?.message ?? error) }),
        ),
      ),
    );
    return { results };
  },

  /**
   * Sends `rate` frames/s for `durationMs` from `at`, round-robin over the
   * first `senders` clients (each stays under the relay's 30 frames/s flood
   * limit). Stamps carry the *intended* send time, so a load generator that
   * falls behind shows up as latency instead of hiding it.
   */
  async send({ group: name, stepId, rate, durationMs, at, senders, payloadBytes }) {
    step = newStep(stepId);
    const body = payloadBytes ? 'x'.repeat(payloadBytes) : payload;
    loop.reset();
    const senderSockets = group(name).slice(0, senders);
    const total = Math.floor((rate * durationMs) / 1000);
    let sent = 0;
    await sleepUntil(at);
    while (sent < total) {
      const due = Math.min(total, Math.floor(((now() - at) * rate) / 1000) + 1);
      for (; sent < due; sent++) {
        const socket = senderSockets[sent % senderSockets.length];
        const frame = stampedFrame(at + (sent * 1000) / rate, stepId, body);
        socket.emit('CLIENT_TO_SERVER', frame, (reply) => {
          if (reply?.type === 'ACCEPTED') step.accepted++;
          else step.refused[reply?.type ?? 'none'] = (step.refused[reply?.type ?? 'none'] ?? 0) + 1;
        });
      }
      await new Promise((r) => setTimeout(r, 2));
    }
    return { sent };
  },

  /**
   * The last `count` clients stop reading: their WebSocket (ws) pauses its
   * TCP socket, so the kernel buffers fill and the server's queue grows.
   */
  stall({ group: name, count }) {
    for (const socket of group(name).slice(-count)) {
      socket.stalled = true;
      socket.once('disconnect', () => (socket.droppedByServer = true));
      socket.io.engine.transport.ws.pause();
    }
    return { stalled: count };
  },

  /** Stalled clients read again; how many find the server has dropped them. */
  async resume({ group: name, waitMs = 3000 }) {
    const stalled = group(name).filter((s) => s.stalled);
    for (const socket of stalled) socket.io.engine.transport?.ws?.resume();
    const until = now() + waitMs;
    while (now() < until && stalled.some((s) => !s.droppedByServer)) await new Promise((r) => setTimeout(r, 100));
    return { resumed: stalled.length, disconnected: stalled.filter((s) => s.droppedByServer).length };
  },

  progress() {
    return { delivered: step.delivered, accepted: step.accepted, refused: step.refused };
  },

  /** The step's histogram (compressed, for merging in the parent) and counters. */
  collect() {
    const cpu = process.cpuUsage(step.cpuBefore);
    return {
      cpuSeconds: (cpu.user + cpu.system) / 1e6,
      delivered: step.delivered,
      accepted: step.accepted,
      refused: step.refused,
      histogram: hdr.encodeIntoCompressedBase64(step.histogram),
      loopP99Ms: loop.percentile(99) / 1e6,
      rssBytes: process.memoryUsage().rss,
    };
  },

  /** Closes one group's clients, or all. */
  close({ group: name }) {
    for (const [key, clients] of groups) {
      if (name !== undefined && key !== name) continue;
      for (const socket of clients) socket.close();
      groups.delete(key);
    }
    return {};
  },

  /** A clean exit (lets --cpu-prof write its profile). */
  exit() {
    setImmediate(() => process.exit(0));
    return {};
  },
};

// The parent is gone (killed, crashed): nothing left to measure for.
process.on('disconnect', () => process.exit(0));

process.on('message', async ({ id, cmd, args }) => {
  try {
    process.send({ id, result: await commands[cmd](args ?? {}) });
  } catch (error) {
    process.send({ id, error: String(error?.stack ?? error) });
  }
});
