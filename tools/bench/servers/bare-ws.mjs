// The floor: a bare `ws` server that broadcasts each message to every client.
// Speaks just enough of socket.io's wire format (engine.io v4) for the load
// generator's socket.io clients: open packet, connect, events and acks.
import { createServer } from 'node:http';
import { createInterface } from 'node:readline';
import { WebSocketServer } from 'ws';

const http = createServer();
const wss = new WebSocketServer({ server: http, path: '/socket.io/', perMessageDeflate: false });
let seq = 0;
let nextSid = 0;

wss.on('connection', (ws) => {
  ws.send(`0${JSON.stringify({ sid: `s${++nextSid}`, upgrades: [], pingInterval: 25000, pingTimeout: 20000, maxPayload: 1e6 })}`);
  ws.on('message', (data) => {
    const text = data.toString();
    if (text === '40') return ws.send(`40${JSON.stringify({ sid: `n${nextSid}` })}`);
    if (text === '3') return;
    const match = /^42(\d+)(\[.*)$/s.exec(text);
    if (!match) return;
    const [event, payload] = JSON.parse(match[2]);
    const ackId = match[1];
    if (event === 'CLIENT_TO_SERVER') {
      const id = payload.slice(0, 32);
      const packet = `42${JSON.stringify(['SERVER_TO_CLIENT', { id, seq: ++seq, from: 'x', ts: Date.now(), frame: payload }])}`;
      for (const client of wss.clients) if (client.readyState === 1) client.send(packet);
      ws.send(`43${ackId}${JSON.stringify([{ type: 'ACCEPTED', id, seq }])}`);
    } else {
      ws.send(`43${ackId}${JSON.stringify([{ type: 'LOGIN_SUCCESSFUL', username: 'x', session: 'x', online: [], history: [], lastSeq: seq }])}`);
    }
  });
});

// engine.io clients close a connection that has not been pinged within
// pingInterval + pingTimeout, so the floor pings like socket.io does.
setInterval(() => {
  for (const client of wss.clients) if (client.readyState === 1) client.send('2');
}, 25000).unref();

http.listen(0, '127.0.0.1', () => console.log(`listening on http://127.0.0.1:${http.address().port}`));
createInterface({ input: process.stdin }).on('line', (line) => {
  if (line.trim() === 'stats') {
    const m = process.memoryUsage();
    console.log(`stats: event loop delay p50 0 ms, p99 0 ms, max 0 ms; rss ${m.rss} B; heap ${m.heapUsed} B; sessions ${wss.clients.size}`);
  }
  if (line.trim() === 'exit') process.exit(0);
});
