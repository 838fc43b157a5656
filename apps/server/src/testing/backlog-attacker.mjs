// The attacker of hardening/backlog.int.spec.ts, in a process of its own so
// that its work (parsing megabytes of replies) does not slow the test's own
// client, whose login is timed. Lines on stdin are commands, lines on stdout
// JSON results.
//
//   node backlog-attacker.mjs URL SESSION SOCKETS NON_READERS REQUESTS FRAMES_FILE
//   stdout: {"ready":n}                      n sockets logged in (by resume)
//   stdin:  fill  → {"accepted":n,"refusal":{...}}   sends the frames of FRAMES_FILE (one a line, each once) until the quota answers
//   stdin:  attack → {"pages":n,"maxPageBytes":b,"allMore":bool,"refusals":{...}}  once every reader has paged twice more
//   stdin:  stop  → exits
import { readFileSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { setTimeout as pause } from 'node:timers/promises';
import { io } from 'socket.io-client';

const [url, session, socketCount, nonReaderCount, requestCount, framesFile] = process.argv.slice(2);
const frames = readFileSync(framesFile, 'utf8')
  .split('\n')
  .filter((line) => line !== '');
const say = (object) => process.stdout.write(`${JSON.stringify(object)}\n`);
const call = (socket, event, payload) => socket.timeout(120_000).emitWithAck(event, payload);

const sockets = [];
for (let i = 0; i < Number(socketCount); i++) {
  const socket = io(url, { transports: ['websocket'], reconnection: false, forceNew: true });
  await new Promise((resolve, reject) => {
    socket.once('connect', resolve);
    socket.once('connect_error', reject);
  });
  const reply = await call(socket, 'RESUME_SESSION', { session, afterSeq: Number.MAX_SAFE_INTEGER });
  if (reply.type !== 'LOGIN_SUCCESSFUL') throw new Error(`resume: ${reply.type}`);
  sockets.push(socket);
}
say({ ready: sockets.length });

async function fill() {
  let accepted = 0;
  let refusal;
  let next = 0;
  await Promise.all(
    sockets.slice(0, 8).map(async (socket) => {
      while (refusal === undefined) {
        if (next >= frames.length) throw new Error('ran out of frames before the quota');
        const reply = await call(socket, 'CLIENT_TO_SERVER', frames[next++]);
        if (reply.type === 'ACCEPTED') accepted++;
        else if (reply.type === 'RATE_LIMITED') await pause(reply.retryAfterMs);
        else if (reply.type === 'QUOTA_EXCEEDED') refusal = reply;
        else throw new Error(`filling: ${reply.type}`);
      }
    }),
  );
  say({ accepted, refusal });
}

async function attack() {
  const nonReaders = sockets.slice(0, Number(nonReaderCount));
  const readers = sockets.slice(Number(nonReaderCount));
  // Stop reading: the server's writes to these pile up in its buffers.
  for (const socket of nonReaders) socket.io.engine.transport.ws?._socket?.pause();
  const pages = [];
  const refusals = {};
  const record = (reply) => {
    if (reply.type === 'HISTORY' || reply.type === 'LOGIN_SUCCESSFUL') pages.push(reply);
    else {
      const label = `${reply.type}: ${reply.reason ?? ''}`;
      refusals[label] = (refusals[label] ?? 0) + 1;
    }
  };
  for (const socket of sockets) {
    socket.emit('RESUME_SESSION', { session, afterSeq: 0 }, record);
    for (let i = 1; i < Number(requestCount); i++) socket.emit('HISTORY', { afterSeq: 0, limit: 500 }, record);
  }
  // The readers also page on, as a client catching up does.
  await Promise.all(
    readers.map(async (socket) => {
      let after = 0;
      for (let got = 0; got < 2;) {
        const reply = await call(socket, 'HISTORY', { afterSeq: after, limit: 500 });
        if (reply.type === 'RATE_LIMITED') {
          record(reply);
          await pause(reply.retryAfterMs);
          continue;
        }
        pages.push(reply);
        after = reply.messages.at(-1).seq;
        got++;
      }
    }),
  );
  const sizes = pages.map((page) => (page.messages ?? page.history).reduce((sum, m) => sum + m.frame.length, 0));
  say({ pages: pages.length, maxPageBytes: Math.max(...sizes), allMore: pages.every((page) => page.more === true), refusals });
}

for await (const line of createInterface({ input: process.stdin })) {
  if (line === 'fill') await fill();
  else if (line === 'attack') await attack();
  else if (line === 'stop') break;
}
for (const socket of sockets) socket.disconnect();
process.exit(0);
