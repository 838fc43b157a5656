// Baseline: a bare socket.io server that relays the same frames to the same
// clients with no authentication, validation or history. The difference to
// Enigma is the price of Enigma's work.
import { createServer } from 'node:http';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { createInterface } from 'node:readline';
import { Server } from 'socket.io';

const http = createServer();
const io = new Server(http, { serveClient: false, perMessageDeflate: false, httpCompression: false, maxHttpBufferSize: 64 * 1024 + 4096 });
let seq = 0;
const loop = monitorEventLoopDelay({ resolution: 10 });
loop.enable();

io.on('connection', (socket) => {
  const login = (payload, ack) => {
    socket.data.username = payload?.username ?? socket.id;
    socket.join('chat');
    ack?.({ type: 'LOGIN_SUCCESSFUL', username: socket.data.username, session: socket.id, online: [], history: [], lastSeq: seq });
  };
  socket.on('LOGIN_ATTEMPTING', login);
  socket.on('REGISTER_CLIENT_', login);
  socket.on('RESUME_SESSION', (_payload, ack) => login({ username: socket.id }, ack));
  socket.on('CLIENT_TO_SERVER', (frame, ack) => {
    const id = frame.slice(0, 32);
    const relayed = { id, seq: ++seq, from: socket.data.username, ts: Date.now(), frame };
    io.to('chat').emit('SERVER_TO_CLIENT', relayed);
    ack?.({ type: 'ACCEPTED', id, seq: relayed.seq });
  });
});

http.listen(0, '127.0.0.1', () => console.log(`listening on http://127.0.0.1:${http.address().port}`));
createInterface({ input: process.stdin }).on('line', (line) => {
  if (line.trim() === 'stats') {
    const m = process.memoryUsage();
    console.log(
      `stats: event loop delay p50 ${loop.percentile(50) / 1e6} ms, p99 ${loop.percentile(99) / 1e6} ms, max ${loop.max / 1e6} ms; rss ${m.rss} B; heap ${m.heapUsed} B; sessions ${io.engine.clientsCount}`,
    );
    loop.reset();
  }
  if (line.trim() === 'exit') process.exit(0);
});
