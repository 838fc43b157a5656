// The metrics listener as an operator uses it: the real program with
// --metrics-port 0, real clients, then what a scrape and the probes say.
import { afterEach, describe, expect, it } from '@jest/globals';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { get, request } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { createServer as createTcpServer, connect as tcpConnect, type AddressInfo } from 'node:net';
import { networkInterfaces, tmpdir } from 'node:os';
import path from 'node:path';
import { setTimeout as pause } from 'node:timers/promises';
import { generateKey } from '@enigma/crypto';
import { io as connectClient, type Socket } from 'socket.io-client';
import { runProgram, serverEntry, startServerProcess, type Program } from '../../../tools/testing/processes.mjs';
import { serviceOrSkip, startPostgres, startRedis } from '../../../tools/testing/services.mjs';
import { call, frameOf, nextEvent, strongPassword } from './testing/harness.js';

interface Reply {
  status: number;
  body: string;
  contentType: string | undefined;
}

function fetchPlain(url: string, method = 'GET'): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = request(url, { method }, (res) => {
      let body = '';
      res.on('data', (chunk: Buffer) => (body += chunk.toString()));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body, contentType: res.headers['content-type'] }));
    });
    req.on('error', reject);
    req.end();
  });
}

/** The samples of a Prometheus text exposition: `name{labels}` → value. */
async function scrape(metricsUrl: string): Promise<Map<string, number>> {
  const { status, body, contentType } = await fetchPlain(metricsUrl);
  expect(status).toBe(200);
  expect(contentType).toMatch(/^text\/plain; version=0\.0\.4/);
  const samples = new Map<string, number>();
  for (const line of body.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const space = line.lastIndexOf(' ');
    samples.set(line.slice(0, space), Number(line.slice(space + 1)));
  }
  return samples;
}

/** Resolves when a TCP connection to host:port is refused (or fails otherwise); rejects if it connects. */
function refused(host: string, port: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = tcpConnect({ host, port });
    socket.once('connect', () => {
      socket.destroy();
      reject(new Error(`${host}:${port} accepted a connection`));
    });
    socket.once('error', (error: NodeJS.ErrnoException) => resolve(error.code ?? error.message));
  });
}

describe('the metrics listener (--metrics-port)', () => {
  const cleanups: Array<() => Promise<unknown>> = [];
  afterEach(async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
  });

  async function start(extraArgs: string[] = []): Promise<{ program: Program; url: string; ca: string; metrics: string; base: string }> {
    const dataDir = await mkdtemp(path.join(tmpdir(), 'enigma-metrics-'));
    cleanups.push(() => rm(dataDir, { recursive: true, force: true }));
    const { program, url } = await startServerProcess(dataDir, ['--metrics-port', '0', ...extraArgs]);
    cleanups.push(() => program.stop());
    const [, metrics] = await program.waitFor(/^metrics on (http:\/\/127\.0\.0\.1:\d+\/metrics)$/);
    const ca = await readFile(path.join(dataDir, 'tls-cert.pem'), 'utf8');
    return { program, url, ca, metrics: metrics!, base: metrics!.replace(/\/metrics$/, '') };
  }

  async function client(url: string, ca: string): Promise<Socket> {
    const socket = connectClient(url, { transports: ['websocket'], ca, reconnection: false, forceNew: true });
    cleanups.push(async () => socket.disconnect());
    await new Promise<void>((resolve, reject) => {
      socket.once('connect', resolve);
      socket.once('connect_error', reject);
    });
    return socket;
  }

  it('should count what an operator watches: connections, sessions, logins by outcome, frames by result, deliveries, write latency, event-loop delay', async () => {
    const { url, ca, metrics } = await start();
    const key = generateKey();
    const alice = await client(url, ca);
    const bob = await client(url, ca);
    const stranger = await client(url, ca);
    const registered = await call(alice, 'REGISTER_CLIENT_', { username: 'alice', password: strongPassword });
    expect(registered).toMatchObject({ type: 'LOGIN_SUCCESSFUL' });
    expect(await call(bob, 'REGISTER_CLIENT_', { username: 'bob', password: strongPassword })).toMatchObject({ type: 'LOGIN_SUCCESSFUL' });
    expect(await call(stranger, 'LOGIN_ATTEMPTING', { username: 'alice', password: 'not-her-password-1' })).toMatchObject({ type: 'INVALID_PASSWORD' });
    expect(await call(stranger, 'LOGIN_ATTEMPTING', { username: 'nobody-here', password: strongPassword })).toMatchObject({ type: 'INVALID_USERNAME' });
    expect(await call(stranger, 'CLIENT_TO_SERVER', frameOf(key, 'not logged in'))).toEqual({ type: 'NOT_LOGGED_IN' });
    expect(await call(alice, 'CLIENT_TO_SERVER', 'not a frame')).toMatchObject({ type: 'MALFORMED_FRAME' });
    expect(await call(alice, 'CLIENT_TO_SERVER', frameOf(key, 'a'), 'two payloads')).toMatchObject({ type: 'MALFORMED_FRAME' });
    for (const text of ['one', 'two', 'three']) {
      const arrival = nextEvent(bob, 'SERVER_TO_CLIENT');
      expect(await call(alice, 'CLIENT_TO_SERVER', frameOf(key, text))).toMatchObject({ type: 'ACCEPTED' });
      await arrival;
    }
    // Alice on a second device, after the frames: three sessions now.
    const again = await client(url, ca);
    expect(await call(again, 'RESUME_SESSION', { session: registered['session'], afterSeq: 0 })).toMatchObject({ type: 'LOGIN_SUCCESSFUL' });

    const samples = await scrape(metrics);
    expect(samples.get('enigma_connections')).toBe(4);
    expect(samples.get('enigma_sessions')).toBe(3);
    expect(samples.get('enigma_logins_total{event="register",outcome="LOGIN_SUCCESSFUL"}')).toBe(2);
    expect(samples.get('enigma_logins_total{event="login",outcome="INVALID_PASSWORD"}')).toBe(1);
    expect(samples.get('enigma_logins_total{event="login",outcome="INVALID_USERNAME"}')).toBe(1);
    expect(samples.get('enigma_logins_total{event="login",outcome="LOGIN_SUCCESSFUL"}')).toBe(0);
    expect(samples.get('enigma_logins_total{event="resume",outcome="LOGIN_SUCCESSFUL"}')).toBe(1);
    expect(samples.get('enigma_frames_total{result="ACCEPTED"}')).toBe(3);
    expect(samples.get('enigma_frames_total{result="MALFORMED_FRAME"}')).toBe(2);
    expect(samples.get('enigma_frames_total{result="NOT_LOGGED_IN"}')).toBe(1);
    expect(samples.get('enigma_frames_total{result="RATE_LIMITED"}')).toBe(0);
    // Three frames, each to the two people in the chat then (the sender included).
    expect(samples.get('enigma_deliveries_total')).toBe(6);
    // Three appends and the sessions issued, each committed through the writer thread.
    expect(samples.get('enigma_database_write_seconds_count')).toBeGreaterThanOrEqual(3);
    expect(samples.get('enigma_database_write_seconds_bucket{le="+Inf"}')).toBe(samples.get('enigma_database_write_seconds_count'));
    expect(samples.get('enigma_database_write_seconds_sum')).toBeGreaterThan(0);
    expect(samples.get('enigma_event_loop_delay_seconds{quantile="0.99"}')).toBeGreaterThanOrEqual(0);
    expect(samples.get('enigma_event_loop_delay_seconds{quantile="1"}')).toBeGreaterThanOrEqual(0);
    expect(samples.get('nodejs_eventloop_lag_p99_seconds')).toBeGreaterThanOrEqual(0);
    expect(samples.get('enigma_database_up')).toBe(1);
    expect(samples.has('enigma_redis_up')).toBe(false); // one node: no Redis

    // Labels come from closed lists only, whatever clients send.
    expect([...samples.keys()].filter((name) => name.includes('alice') || name.includes('not a frame'))).toEqual([]);
  }, 60_000);

  it('should answer /healthz and /readyz (503 while stopped), 404 elsewhere, 405 to other methods; only on loopback, not on the chat port', async () => {
    const { program, url, ca, metrics, base } = await start();
    expect(await fetchPlain(`${base}/healthz`)).toMatchObject({ status: 200, body: 'ok\n' });
    expect(await fetchPlain(`${base}/readyz`)).toMatchObject({ status: 200, body: 'ready\n' });
    expect(await fetchPlain(`${base}/`)).toMatchObject({ status: 404, body: 'not found\n' });
    expect(await fetchPlain(`${base}/metrics/../../etc/passwd`)).toMatchObject({ status: 404 });
    expect(await fetchPlain(metrics, 'POST')).toMatchObject({ status: 405 });
    expect(await fetchPlain(`${base}/readyz`, 'DELETE')).toMatchObject({ status: 405 });

    // The operator's `stop`: not ready (a load balancer sends nobody), still alive.
    program.command('stop');
    await program.waitFor(/^stopped: /);
    expect(await fetchPlain(`${base}/readyz`)).toMatchObject({ status: 503, body: 'not ready: paused by the operator\n' });
    expect(await fetchPlain(`${base}/healthz`)).toMatchObject({ status: 200 });
    program.command('start');
    await program.waitFor(/^started: /);
    expect(await fetchPlain(`${base}/readyz`)).toMatchObject({ status: 200 });

    // Not served on the chat port...
    const onChatPort = await new Promise<number>((resolve, reject) => {
      httpsRequest(`${url}/metrics`, { ca }, (res) => {
        res.resume();
        resolve(res.statusCode ?? 0);
      })
        .on('error', reject)
        .end();
    });
    expect(onChatPort).toBe(404);
    // ...and bound to 127.0.0.1 alone: every other address of this machine refuses.
    const port = Number(new URL(metrics).port);
    const others = Object.values(networkInterfaces())
      .flat()
      .map((address) => address!.address)
      .filter((address) => address !== '127.0.0.1');
    expect(others.length).toBeGreaterThan(0); // ::1 at least, or the machine's own address
    for (const address of others) expect(await refused(address.split('%')[0]!, port)).toMatch(/ECONNREFUSED|EADDRNOTAVAIL|ENETUNREACH|EINVAL/);
    const { status } = await new Promise<{ status: number }>((resolve, reject) =>
      get(`${base}/healthz`, (res) => (res.resume(), resolve({ status: res.statusCode ?? 0 }))).on('error', reject),
    );
    expect(status).toBe(200);
  }, 60_000);

  it('should refuse to start, with one clear line, when the metrics port is taken', async () => {
    const taken = createTcpServer();
    await new Promise<void>((resolve) => taken.listen(0, '127.0.0.1', resolve));
    cleanups.push(() => new Promise((resolve) => taken.close(resolve)));
    const port = (taken.address() as AddressInfo).port;
    const dataDir = await mkdtemp(path.join(tmpdir(), 'enigma-metrics-'));
    cleanups.push(() => rm(dataDir, { recursive: true, force: true }));
    const program = runProgram(serverEntry, ['--port', '0', '--host', '127.0.0.1', '--data-dir', dataDir, '--metrics-port', String(port)]);
    cleanups.push(() => program.stop());
    expect(await program.exited).toBe(1);
    expect(program.stderr).toContain(`could not start: the metrics listener on 127.0.0.1 port ${port} is already in use`);
    expect(program.stderr).not.toMatch(/\n\s+at /);
  }, 30_000);

  const clusterRuns = serviceOrSkip('redis') && serviceOrSkip('postgres');
  (clusterRuns ? it : it.skip)(
    'should turn /readyz 503 naming redis (and enigma_redis_up 0) when Redis dies, keep serving, and still shut down cleanly',
    async () => {
      const [redis, postgres] = await Promise.all([startRedis(), startPostgres()]);
      cleanups.push(() => postgres.stop());
      cleanups.push(() => redis.stop());
      const database = await postgres.createDatabase();
      const { program, url, ca, metrics, base } = await start(['--database-url', database, '--redis-url', redis.url]);

      expect(await fetchPlain(`${base}/readyz`)).toMatchObject({ status: 200, body: 'ready\n' });
      const key = generateKey();
      const alice = await client(url, ca);
      expect(await call(alice, 'REGISTER_CLIENT_', { username: 'alice', password: strongPassword })).toMatchObject({ type: 'LOGIN_SUCCESSFUL' });
      expect(await call(alice, 'CLIENT_TO_SERVER', frameOf(key, 'on PostgreSQL'))).toMatchObject({ type: 'ACCEPTED' });
      const before = await scrape(metrics);
      expect(before.get('enigma_redis_up')).toBe(1);
      expect(before.get('enigma_database_up')).toBe(1);
      expect(before.get('enigma_deliveries_total')).toBe(1);
      expect(before.get('enigma_database_write_seconds_count')).toBeGreaterThanOrEqual(1);

      await redis.kill();
      // Waiting for the node to notice (ioredis sees the connection close): poll with a deadline.
      const deadline = Date.now() + 20_000;
      let readiness = await fetchPlain(`${base}/readyz`);
      while (readiness.status === 200 && Date.now() < deadline) {
        await pause(100);
        readiness = await fetchPlain(`${base}/readyz`);
      }
      expect(readiness).toEqual({ status: 503, body: 'not ready: redis unreachable\n', contentType: expect.any(String) });
      expect(readiness.body).not.toContain(redis.url);
      const after = await scrape(metrics);
      expect(after.get('enigma_redis_up')).toBe(0);
      expect(after.get('enigma_database_up')).toBe(1);
      // Still serving: a frame is stored (PostgreSQL is up); its broadcast to other nodes is lost, without taking the node down.
      expect(await call(alice, 'CLIENT_TO_SERVER', frameOf(key, 'while Redis is down'))).toMatchObject({ type: 'ACCEPTED' });
      expect(await fetchPlain(`${base}/healthz`)).toMatchObject({ status: 200 });
      expect(program.child.exitCode).toBe(null);

      // The shutdown broadcasts (alice leaving) and unsubscribes through the dead Redis too: a clean exit all the same.
      program.child.kill('SIGTERM');
      expect(await program.exited).toBe(0);
      expect(program.stderr).not.toMatch(/Error/);
    },
    90_000,
  );
});
