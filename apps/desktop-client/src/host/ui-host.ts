import { randomBytes, timingSafeEqual } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { WebSocketServer, type WebSocket } from 'ws';

const CONTENT_TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.json': 'application/json',
};

const COOKIE = 'enigma_ui';

function sameSecret(a: string | undefined, b: string): boolean {
  if (a === undefined || a.length !== b.length) return false;
  return timingSafeEqual(Buffer.from(a), Buffer.from(b));
}

function cookieOf(request: IncomingMessage): string | undefined {
  for (const part of (request.headers.cookie ?? '').split(';')) {
    const [name, ...value] = part.trim().split('=');
    if (name === COOKIE) return value.join('=');
  }
  return undefined;
}

/**
 * Serves the UI to the app window, on 127.0.0.1 only, a random port. The
 * launch URL carries a one-time token; opening it sets an HttpOnly, SameSite
 * cookie, and everything else (assets, the bridge WebSocket) needs that cookie,
 * the right Host header (against DNS rebinding) and, for the bridge, our own
 * Origin. Nothing else on this port is reachable.
 */
export class UiHost {
  readonly #launchToken = randomBytes(24).toString('base64url');
  readonly #sessionSecret = randomBytes(32).toString('base64url');
  #launchTokenUsed = false;
  readonly #bridge = new WebSocketServer({ noServer: true, maxPayload: 256 * 1024 });

  private constructor(
    private readonly http: Server,
    private readonly staticDir: string,
  ) {}

  public static async start(staticDir: string, onBridge: (socket: WebSocket) => void): Promise<UiHost> {
    const http = createServer();
    const host = new UiHost(http, path.resolve(staticDir));
    http.on('request', (request, response) => void host.handle(request, response));
    http.on('upgrade', (request, socket, head) => {
      if (!host.allowed(request) || request.url !== '/bridge' || request.headers.origin !== host.origin) {
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

  /** The URL to open once; it turns into a cookie and is then spent. */
  public get launchUrl(): string {
    return `${this.origin}/?token=${this.#launchToken}`;
  }

  public async close(): Promise<void> {
    for (const client of this.#bridge.clients) client.close(1001, 'closing');
    this.http.closeAllConnections();
    await new Promise<void>((resolve) => this.http.close(() => resolve()));
  }

  private allowed(request: IncomingMessage): boolean {
    return request.headers.host === this.origin.slice('http://'.length) && sameSecret(cookieOf(request), this.#sessionSecret);
  }

  private async handle(request: IncomingMessage, response: ServerResponse): Promise<void> {
    const url = new URL(request.url ?? '/', this.origin);
    const baseHeaders = {
      'x-content-type-options': 'nosniff',
      'referrer-policy': 'no-referrer',
      'x-frame-options': 'DENY',
      'content-security-policy': `default-src 'self'; connect-src 'self' ${this.origin.replace('http', 'ws')}; img-src 'self' data:; style-src 'self'; frame-ancestors 'none'`,
    };
    if (request.method !== 'GET' || request.headers.host !== this.origin.slice('http://'.length)) {
      response.writeHead(403, baseHeaders).end();
      return;
    }
    const token = url.searchParams.get('token');
    if (token !== null) {
      if (this.#launchTokenUsed || !sameSecret(token, this.#launchToken)) {
        response.writeHead(403, { ...baseHeaders, 'content-type': 'text/plain; charset=utf-8' }).end('This link was already used. Start Enigma again to get a new one.\n');
        return;
      }
      this.#launchTokenUsed = true;
      response
        .writeHead(302, { ...baseHeaders, 'set-cookie': `${COOKIE}=${this.#sessionSecret}; HttpOnly; SameSite=Strict; Path=/`, location: '/' })
        .end();
      return;
    }
    if (!this.allowed(request)) {
      response.writeHead(403, { ...baseHeaders, 'content-type': 'text/plain; charset=utf-8' }).end('Open Enigma from the link the app printed.\n');
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
      response.writeHead(200, { ...baseHeaders, 'content-type': CONTENT_TYPES[path.extname(file)] ?? 'application/octet-stream', 'cache-control': 'no-store' }).end(body);
    } catch {
      response.writeHead(404, baseHeaders).end();
    }
  }
}
