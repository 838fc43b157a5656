import { randomBytes, timingSafeEqual } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { WebSocketServer, type WebSocket } from 'ws';
import { BRIDGE_PROTOCOL, LAUNCH_HEADER, SESSION_PATH, SESSION_PROTOCOL_PREFIX } from '../shared/bridge-protocol.js';

const CONTENT_TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.json': 'application/json',
};

/** Constant-time comparison. Lengths are compared in bytes: a header with non-ASCII characters has as many characters as the secret but more bytes, and timingSafeEqual throws on unequal lengths. */
function sameSecret(a: string | undefined, b: string): boolean {
  if (a === undefined) return false;
  const offered = Buffer.from(a);
  const expected = Buffer.from(b);
  return offered.length === expected.length && timingSafeEqual(offered, expected);
}

/** The session secret offered as a WebSocket subprotocol (`enigma-session.SECRET`), if any. */
function offeredSession(request: IncomingMessage): string | undefined {
  for (const protocol of (request.headers['sec-websocket-protocol'] ?? '').split(',')) {
    const trimmed = protocol.trim();
    if (trimmed.startsWith(SESSION_PROTOCOL_PREFIX)) return trimmed.slice(SESSION_PROTOCOL_PREFIX.length);
  }
  return undefined;
}

/**
 * Serves the UI to the app window, on 127.0.0.1 only, a random port.
 *
 * No cookie: browsers share cookies between all ports of 127.0.0.1, so any
 * other local server the browser visits would receive it and could replay it
 * with a forged Origin from outside a browser. Instead:
 *
 * - the launch URL carries a one-time token in its fragment (`#token=`),
 *   which the browser never sends anywhere; the launcher hands the URL to the
 *   browser in an owner-only file, never on a command line;
 * - the UI trades the token, once, for a per-launch session secret
 *   (`POST /session`, our own Origin only) and keeps it in its own origin's
 *   sessionStorage, which no other port can read;
 * - the bridge WebSocket opens only with that secret (offered as a
 *   subprotocol, since a browser WebSocket cannot set headers), our own
 *   Origin and our own Host (against DNS rebinding).
 *
 * The static UI bundle is public code and is served to anyone with the right
 * Host header: it holds no secret.
 */
export class UiHost {
  readonly #launchToken = randomBytes(24).toString('base64url');
  readonly #sessionSecret = randomBytes(32).toString('base64url');
  #launchTokenUsed = false;
  readonly #bridge = new WebSocketServer({
    noServer: true,
    maxPayload: 256 * 1024,
    // Answer with the fixed protocol name, never the one carrying the secret.
    handleProtocols: (protocols) => (protocols.has(BRIDGE_PROTOCOL) ? BRIDGE_PROTOCOL : false),
  });

  private constructor(
    private readonly http: Server,
    private readonly staticDir: string,
  ) {}

  public static async start(staticDir: string, onBridge: (socket: WebSocket) => void): Promise<UiHost> {
    const http = createServer();
    const host = new UiHost(http, path.resolve(staticDir));
    http.on('request', (request, response) => void host.handle(request, response));
    http.on('upgrade', (request, socket, head) => {
      if (
        !host.ownHost(request) ||
        request.url !== '/bridge' ||
        request.headers.origin !== host.origin ||
        !sameSecret(offeredSession(request), host.#sessionSecret)
      ) {
        socket.end('HTTP/1.1 403 Forbidden\r\nConnection: close\r\n\r\n');
        return;
      }
      host.#bridge.handleUpgrade(request, socket, head, (ws) => onBridge(ws));
    });
    await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve));
    return host;
  }

  public get origin(): string {
    return `http://127.0.0.1:${(this.http.address() as AddressInfo).port}`;
  }

  /**
   * The URL to open once. The token is in the fragment, so it never reaches
   * a server or a log; the UI trades it for the session secret and then it is
   * spent. Never put this on a command line (see launcher.ts).
   */
  public get launchUrl(): string {
    return `${this.origin}/#token=${this.#launchToken}`;
  }

  public async close(): Promise<void> {
    for (const client of this.#bridge.clients) client.close(1001, 'closing');
    this.http.closeAllConnections();
    await new Promise<void>((resolve) => this.http.close(() => resolve()));
  }

  private ownHost(request: IncomingMessage): boolean {
    return request.headers.host === this.origin.slice('http://'.length);
  }

  private async handle(request: IncomingMessage, response: ServerResponse): Promise<void> {
    const url = new URL(request.url ?? '/', this.origin);
    const baseHeaders = {
      'x-content-type-options': 'nosniff',
      'referrer-policy': 'no-referrer',
      'x-frame-options': 'DENY',
      'cache-control': 'no-store',
      'content-security-policy': `default-src 'self'; connect-src 'self' ${this.origin.replace('http', 'ws')}; img-src 'self' data:; style-src 'self'; frame-ancestors 'none'`,
    };
    if (!this.ownHost(request)) {
      response.writeHead(403, baseHeaders).end();
      return;
    }
    if (url.pathname === SESSION_PATH && request.method === 'POST') {
      this.trade(request, response, baseHeaders);
      return;
    }
    if (request.method !== 'GET') {
      response.writeHead(403, baseHeaders).end();
      return;
    }
    const relative = url.pathname === '/' ? 'index.html' : url.pathname.slice(1);
    const file = path.resolve(this.staticDir, relative);
    if (!file.startsWith(this.staticDir + path.sep) || !/^[\w./-]+$/.test(relative)) {
      response.writeHead(404, baseHeaders).end();
      return;
    }
    try {
      const body = await readFile(file);
      response.writeHead(200, { ...baseHeaders, 'content-type': CONTENT_TYPES[path.extname(file)] ?? 'application/octet-stream' }).end(body);
    } catch {
      response.writeHead(404, baseHeaders).end();
    }
  }

  /** `POST /session` with the one-time launch token in a header: answers the session secret, once. */
  private trade(request: IncomingMessage, response: ServerResponse, baseHeaders: Record<string, string>): void {
    // The body is never read; drain and drop whatever comes.
    request.resume();
    const token = request.headers[LAUNCH_HEADER];
    if (request.headers.origin !== this.origin || typeof token !== 'string' || this.#launchTokenUsed || !sameSecret(token, this.#launchToken)) {
      response
        .writeHead(403, { ...baseHeaders, 'content-type': 'text/plain; charset=utf-8' })
        .end('This launch link is not valid or was already used. Start Enigma again to get a new one.\n');
      return;
    }
    this.#launchTokenUsed = true;
    response.writeHead(200, { ...baseHeaders, 'content-type': 'application/json' }).end(JSON.stringify({ secret: this.#sessionSecret }));
  }
}
