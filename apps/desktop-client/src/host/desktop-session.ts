import { ChatClient, ClientError, formatInvite, parseInvite } from '@enigma/client';
import { Fernet, generateKey } from '@enigma/crypto';
import type { InviteProblem, LoginReply, RegisterReply } from '@enigma/protocol';
import type { WebSocket } from 'ws';
import type { AppSnapshot, ChatLine, ConnectionState, HostEvent, HostMessage, UiError, UiErrorCode, UiRequest } from '../shared/bridge-protocol.js';
import type { ProfileStore } from './profile-store.js';

const MAX_LINES = 2000;

/** Turns "host:port", "https://host:port" or an invite into a server URL (+ what the invite carries). */
export function readServerField(input: string): { url: string; fingerprint?: string; chatKey?: string; inviteToken?: string } {
  const trimmed = input.trim();
  if (trimmed.startsWith('enigma://')) return parseInvite(trimmed);
  const withScheme = /^[a-z]+:\/\//i.test(trimmed) ? trimmed : `https://${trimmed}`;
  const url = new URL(withScheme);
  if (url.protocol !== 'https:' && url.protocol !== 'http:') throw new TypeError('not an http(s) address');
  return { url: url.origin };
}

const INVITE_ERRORS = { missing: 'inviteMissing', unknown: 'inviteUnknown', used: 'inviteUsed', expired: 'inviteExpired' } as const satisfies Record<
  InviteProblem,
  UiErrorCode
>;

function replyError(reply: LoginReply | RegisterReply, registering: boolean): UiError | undefined {
  switch (reply.type) {
    case 'LOGIN_SUCCESSFUL':
      return undefined;
    case 'INVALID_USERNAME':
      return registering ? { code: 'invalidName', detail: reply.reason } : { code: 'unknownUser' };
    case 'INVALID_PASSWORD':
      return registering ? { code: 'weakPassword', detail: reply.reason } : { code: 'wrongPassword' };
    case 'USER_IN_DATABASE':
      return { code: 'nameTaken' };
    case 'REGISTRATION_CLOSED':
      return { code: 'registrationClosed' };
    case 'INVITE_INVALID':
      return { code: INVITE_ERRORS[reply.reason] };
    case 'RATE_LIMITED':
      return { code: 'rateLimited', retryAfterMs: reply.retryAfterMs };
    case 'BANNED':
      return { code: 'banned' };
    case 'MALFORMED_REQUEST':
      return { code: 'failed', detail: reply.reason };
  }
}

function connectError(error: unknown): UiError {
  if (ClientError.is(error, 'certificateMismatch')) return { code: 'certificateChanged' };
  if (ClientError.is(error, 'certificateRefused')) return { code: 'certificateRefused' };
  if (ClientError.is(error, 'invalidInvite')) return { code: 'invalidServer' };
  return { code: 'unreachable' };
}

class RequestFailed extends Error {
  public constructor(public readonly uiError: UiError) {
    super(uiError.code);
  }
}

/**
 * The Node side of the desktop app: one ChatClient, the user's profile, and
 * the UI windows attached over the bridge. Passwords pass through, never kept;
 * an invite token is kept in memory until it registers someone.
 */
export class DesktopSession {
  readonly #uis = new Set<WebSocket>();
  #client: ChatClient | undefined;
  #unsubscribe: Array<() => void> = [];
  #pendingTrust: ((accept: boolean) => void) | undefined;
  #snapshot: AppSnapshot;
  /** The registration token from an invite link, for the server it names. */
  #invite: { url: string; token: string } | undefined;

  public constructor(
    private readonly profiles: ProfileStore,
    initial: { server?: string; chatKey?: string; username?: string; locale: string; inviteToken?: string },
  ) {
    if (initial.server !== undefined && initial.inviteToken !== undefined) this.#invite = { url: initial.server, token: initial.inviteToken };
    this.#snapshot = {
      server: initial.server ?? '',
      chatKey: initial.chatKey ?? '',
      username: initial.username ?? '',
      loggedIn: false,
      invited: this.#invite !== undefined,
      state: 'offline',
      online: [],
      messages: [],
      locale: initial.locale,
    };
  }

  public attach(ui: WebSocket): void {
    this.#uis.add(ui);
    ui.on('close', () => this.#uis.delete(ui));
    ui.on('message', (data) => {
      let request: UiRequest;
      try {
        request = JSON.parse(String(data)) as UiRequest;
      } catch {
        return;
      }
      this.handle(request).then(
        (result) => this.sendTo(ui, { kind: 'reply', id: request.id, ok: true, result }),
        (error: unknown) =>
          this.sendTo(ui, { kind: 'reply', id: request.id, ok: false, error: error instanceof RequestFailed ? error.uiError : { code: 'failed' } }),
      );
    });
  }

  public async close(): Promise<void> {
    this.#client?.close();
  }

  private async handle(request: UiRequest): Promise<unknown> {
    switch (request.op) {
      case 'state':
        return this.#snapshot;
      case 'generateKey':
        return generateKey();
      case 'connect':
        return this.connect(request.server, request.chatKey);
      case 'trust':
        this.#pendingTrust?.(request.accept);
        this.#pendingTrust = undefined;
        return undefined;
      case 'login':
      case 'register':
        return this.authenticate(request.op, request.username, request.password);
      case 'send': {
        if (this.#client === undefined || !this.#snapshot.loggedIn) throw new RequestFailed({ code: 'notLoggedIn' });
        if (request.text.trim() === '') return undefined;
        return this.#client.send(request.text).catch((error: unknown) => {
          if (ClientError.is(error, 'messageTooLong')) throw new RequestFailed({ code: 'messageTooLong' });
          // The text goes back to the input (ChatView): nothing is lost.
          if (ClientError.is(error, 'quotaExceeded')) throw new RequestFailed({ code: 'quotaExceeded' });
          throw error;
        });
      }
      case 'invite': {
        const profile = (await this.profiles.load()).servers[this.#snapshot.server];
        return formatInvite({ url: this.#snapshot.server, fingerprint: profile?.fingerprint, chatKey: this.#snapshot.chatKey });
      }
      case 'logout':
        await this.#client?.logout();
        this.#snapshot = { ...this.#snapshot, loggedIn: false, messages: [], online: [] };
        return undefined;
    }
  }

  private async connect(serverField: string, chatKeyField: string): Promise<{ server: string; chatKey: string; fingerprint: string; invited: boolean }> {
    let target: ReturnType<typeof readServerField>;
    try {
      target = readServerField(serverField);
    } catch {
      throw new RequestFailed({ code: 'invalidServer' });
    }
    const chatKey = (target.chatKey ?? chatKeyField).trim();
    try {
      new Fernet(chatKey);
    } catch {
      throw new RequestFailed({ code: 'invalidKey' });
    }
    const saved = (await this.profiles.load()).servers[target.url];
    this.#client?.close();
    for (const off of this.#unsubscribe) off();
    const client = new ChatClient({ chatKey });
    this.#client = client;
    this.#unsubscribe = [
      client.on('message', (line) => this.addLine(line as ChatLine)),
      client.on('joined', (presence) => this.presence('joined', presence.username, presence.ts)),
      client.on('left', (presence) => this.presence('left', presence.username, presence.ts)),
      client.on('notice', (notice) => this.broadcast({ event: 'notice', noticeKind: notice.kind, text: notice.text, ts: notice.ts })),
      client.on('pruned', (pruned) => this.broadcast({ event: 'pruned', missed: pruned.missedFrom !== undefined, ts: Date.now() })),
      client.on('state', (state) => this.setState(state)),
      client.on('error', (error) => {
        if (ClientError.is(error, 'sessionExpired')) {
          this.#snapshot.loggedIn = false;
          this.broadcast({ event: 'loggedOut', reason: 'sessionExpired' });
        }
      }),
    ];
    try {
      const { fingerprint } = await client.connect({
        url: target.url,
        fingerprint: target.fingerprint ?? saved?.fingerprint,
        onUntrustedCertificate: (offered) =>
          new Promise<boolean>((resolve) => {
            this.#pendingTrust = resolve;
            this.broadcast({ event: 'untrusted', fingerprint: offered });
          }),
      });
      // A link's token replaces the one held; another server drops it.
      if (target.inviteToken !== undefined) this.#invite = { url: target.url, token: target.inviteToken };
      else if (this.#invite?.url !== target.url) this.#invite = undefined;
      this.#snapshot = { ...this.#snapshot, server: target.url, chatKey, invited: this.#invite !== undefined };
      await this.profiles.update(target.url, { fingerprint, chatKey });
      return { server: target.url, chatKey, fingerprint, invited: this.#snapshot.invited };
    } catch (error) {
      if (error instanceof RequestFailed) throw error;
      throw new RequestFailed(connectError(error));
    }
  }

  private async authenticate(op: 'login' | 'register', username: string, password: string): Promise<{ username: string }> {
    const client = this.#client;
    if (client === undefined) throw new RequestFailed({ code: 'unreachable' });
    this.#snapshot.messages = [];
    const invite = this.#invite?.url === this.#snapshot.server ? this.#invite.token : undefined;
    const reply = op === 'login' ? await client.login(username, password) : await client.register(username, password, { invite });
    const error = replyError(reply, op === 'register');
    // A dead token (unknown, used, expired) is forgotten: only a new link helps.
    if (reply.type === 'INVITE_INVALID' && reply.reason !== 'missing') this.#invite = undefined;
    this.#snapshot.invited = this.#invite !== undefined;
    if (error !== undefined || reply.type !== 'LOGIN_SUCCESSFUL') throw new RequestFailed(error ?? { code: 'failed' });
    // Spent (or not needed): an invite is for joining once.
    if (op === 'register') this.#invite = undefined;
    this.#snapshot = { ...this.#snapshot, username: reply.username, loggedIn: true, invited: this.#invite !== undefined, online: [...reply.online].sort() };
    this.broadcast({ event: 'online', online: this.#snapshot.online });
    await this.profiles.update(this.#snapshot.server, { lastUsername: reply.username });
    return { username: reply.username };
  }

  private addLine(line: ChatLine): void {
    const messages = this.#snapshot.messages;
    messages.push(line);
    if (messages.length > MAX_LINES) messages.splice(0, messages.length - MAX_LINES);
    this.broadcast({ event: 'message', line });
  }

  private presence(event: 'joined' | 'left', username: string, ts: number): void {
    const online = new Set(this.#snapshot.online);
    if (event === 'joined') online.add(username);
    else online.delete(username);
    this.#snapshot.online = [...online].sort();
    this.broadcast({ event, presence: { username, ts } });
    this.broadcast({ event: 'online', online: this.#snapshot.online });
  }

  private setState(state: ConnectionState): void {
    this.#snapshot.state = state;
    this.broadcast({ event: 'state', state });
  }

  private broadcast(event: HostEvent): void {
    for (const ui of this.#uis) this.sendTo(ui, { kind: 'event', ...event });
  }

  private sendTo(ui: WebSocket, message: HostMessage): void {
    if (ui.readyState === ui.OPEN) ui.send(JSON.stringify(message));
  }
}
