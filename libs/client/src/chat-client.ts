import { Fernet } from '@enigma/crypto';
import {
  encodeFrame,
  MAX_FRAME_LENGTH,
  TypedEmitter,
  type ClientEventName,
  type ClientToServerEvents,
  type HistoryRequest,
  type LoginReply,
  type LoginSuccessful,
  type PayloadOf,
  type PresenceEvent,
  type RegisterReply,
  type RegisterRequest,
  type Relayed,
  type ReplyMessage,
  type ReplyOf,
  type ResumeReply,
  type SendReply,
  type ServerNotice,
  type ServerToClientEvents,
} from '@enigma/protocol';
import { io, type Socket } from 'socket.io-client';
import { ClientError } from './errors.js';
import { normalizeFingerprint } from './invite.js';
import { MemoryOutboxStore, type OutboxEntry, type OutboxStore } from './outbox.js';
import { fetchServerCertificate } from './tls.js';

export type ConnectionState = 'connecting' | 'connected' | 'reconnecting' | 'offline';

/** A relayed message as the user sees it. */
export interface ChatMessage {
  id: string;
  seq: number;
  from: string;
  ts: number;
  /** The decrypted text; absent when `locked`. */
  text?: string;
  /** True when the chat key cannot open the frame (another key, or tampered). */
  locked: boolean;
  /** True for messages this user sent. */
  own: boolean;
}

/**
 * Older messages were removed by the server's retention policy (its
 * operator's `--retention`): the one loss the server does on purpose. A UI
 * shows it as a line such as "older messages were removed by the server's
 * retention policy" above the oldest message it has.
 */
export interface PrunedEvent {
  /** The lowest seq the server still keeps: nothing below it will ever arrive. */
  before: number;
  /**
   * Set when this client had not yet received some of what was removed (it
   * was offline longer than the retention): the messages from this seq up to
   * `before - 1` are lost to it. Unset: the history simply starts at `before`.
   */
  missedFrom?: number;
}

/** The events of a `ChatClient` and their payloads. */
export interface ChatClientEvents extends Record<string, unknown> {
  message: ChatMessage;
  /** May come more than once for the same `before` (each login, resume or history page that reaches it). */
  pruned: PrunedEvent;
  joined: PresenceEvent;
  left: PresenceEvent;
  notice: ServerNotice;
  state: ConnectionState;
  sent: { id: string; seq: number };
  error: ClientError;
}

export interface ChatClientOptions {
  /** The Fernet chat key; without it every message is `locked` and `send` refuses. */
  chatKey?: string;
  outbox?: OutboxStore;
  /** How long to wait for an acknowledgement before treating the connection as lost. */
  ackTimeoutMs?: number;
}

export interface RegisterOptions {
  /** The invite token for a server with `--registration invite`. */
  invite?: string;
}

export interface ConnectOptions {
  /**
   * `https://host:port` (or `http://` for a server behind a TLS proxy / in
   * development). Several addresses: nodes of one chat; the client moves to
   * the next one when its node stops answering, resuming its session there.
   * Nodes of one chat share one certificate (the pinned fingerprint).
   */
  url: string | readonly string[];
  /** The pinned SHA-256 of the server certificate; a different one is refused. */
  fingerprint?: string;
  /** Trust on first use: shown the fingerprint when none is pinned; return true to trust it. */
  onUntrustedCertificate?: (fingerprint: string) => boolean | Promise<boolean>;
}

type EnigmaSocket = Socket<ServerToClientEvents, ClientToServerEvents>;
/** The events whose success logs the socket in (`LOGIN_SUCCESSFUL`). */
type AdmissionEvent = 'LOGIN_ATTEMPTING' | 'REGISTER_CLIENT_' | 'RESUME_SESSION';

const SEEN_IDS_LIMIT = 20_000;
const CATCH_UP_PAGE = 500;
const RETRY_AFTER_TIMEOUT_MS = 1000;
const FAILOVER_FIRST_DELAY_MS = 250;
/** How long a message past a gap waits for the missing ones before the history is asked. */
const GAP_WAIT_MS = 200;
/** Failed reconnection attempts at one node before moving to the next (when there are several). */
const ATTEMPTS_BEFORE_FAILOVER = 2;

function parseServerUrl(address: string): URL {
  let url: URL;
  try {
    url = new URL(address);
  } catch {
    throw new ClientError('unreachable', `the server address ${JSON.stringify(address.slice(0, 100))} is not a URL`);
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') throw new ClientError('unreachable', 'the server address must be https:// or http://');
  return url;
}

interface Pending extends OutboxEntry {
  resolve(accepted: { id: string; seq: number }): void;
  reject(error: ClientError): void;
  inFlight: boolean;
}

/**
 * An Enigma chat client for Node: bots, tests, the desktop app, other
 * products. Encrypts with the chat key, keeps unacknowledged frames in an
 * outbox, reconnects by itself and resumes its session, catching up on
 * everything after the last `seq` it saw, without duplicates.
 */
export class ChatClient {
  readonly #events = new TypedEmitter<ChatClientEvents>();
  readonly #outbox = new Map<string, Pending>();
  readonly #seen = new Set<string>();
  readonly #outboxStore: OutboxStore;
  readonly #ackTimeoutMs: number;
  #fernet: Fernet | undefined;
  #socket: EnigmaSocket | undefined;
  #state: ConnectionState = 'offline';
  #session: string | undefined;
  #username: string | undefined;
  #lastSeq = 0;
  /** The server's retention watermark, as last heard (0: nothing pruned). */
  #prunedBefore = 0;
  /** While catching up, live messages wait here so everything is emitted in seq order. */
  #held: Relayed[] | undefined;
  /** Live messages that arrived past a gap in seq, by seq. */
  readonly #gap = new Map<number, Relayed>();
  #gapTimer: NodeJS.Timeout | undefined;
  #stopReconnecting = false;
  #nodes: URL[] = [];
  #node = 0;
  #tls: { ca: string; checkServerIdentity: () => Error | undefined } | undefined;
  #failoverDelay = FAILOVER_FIRST_DELAY_MS;

  public constructor(options: ChatClientOptions = {}) {
    if (options.chatKey !== undefined) this.setChatKey(options.chatKey);
    this.#outboxStore = options.outbox ?? new MemoryOutboxStore();
    this.#ackTimeoutMs = options.ackTimeoutMs ?? 10_000;
  }

  /** Subscribes to an event; returns the function that unsubscribes. */
  public on<E extends keyof ChatClientEvents>(event: E, handler: (payload: ChatClientEvents[E]) => void): () => void {
    return this.#events.on(event, handler);
  }

  public get state(): ConnectionState {
    return this.#state;
  }

  public get username(): string | undefined {
    return this.#username;
  }

  public get lastSeq(): number {
    return this.#lastSeq;
  }

  /** The lowest seq the server still keeps, as last heard; 0 while it has pruned nothing. */
  public get prunedBefore(): number {
    return this.#prunedBefore;
  }

  /** Frames sent but not yet acknowledged. */
  public get pending(): number {
    return this.#outbox.size;
  }

  public setChatKey(key: string): void {
    try {
      this.#fernet = new Fernet(key);
    } catch (error) {
      throw new ClientError('invalidKey', 'the chat key is not a Fernet key (44 characters of url-safe base64)', { cause: error });
    }
  }

  /** Connects, checking the server certificate against the pin (or asking, on first use). */
  public async connect(options: ConnectOptions): Promise<{ fingerprint: string }> {
    const nodes = (typeof options.url === 'string' ? [options.url] : [...options.url]).map(parseServerUrl);
    if (nodes.length === 0) throw new ClientError('unreachable', 'no server address given');
    this.close();
    this.#stopReconnecting = false;
    this.setState('connecting');

    // The first node that answers shows the certificate; every node must present that one.
    let failure: unknown;
    for (const [index, url] of nodes.entries()) {
      try {
        const fingerprint = await this.trust(url, options);
        this.#nodes = nodes;
        this.#node = index;
        await this.openSocket(url);
        await this.restoreOutbox();
        return { fingerprint };
      } catch (error) {
        if (ClientError.is(error) && error.kind !== 'unreachable') {
          this.setState('offline');
          throw error;
        }
        failure = error;
      }
    }
    this.setState('offline');
    throw failure;
  }

  /** Fetches the node's certificate and checks it against the pin; from then on only it is trusted. */
  private async trust(url: URL, options: ConnectOptions): Promise<string> {
    if (url.protocol !== 'https:') {
      this.#tls = undefined;
      return '';
    }
    const certificate = await fetchServerCertificate(url);
    const fingerprint = certificate.fingerprint;
    const pinned = options.fingerprint === undefined ? undefined : normalizeFingerprint(options.fingerprint);
    if (options.fingerprint !== undefined && pinned !== fingerprint) {
      throw new ClientError('certificateMismatch', `the server's certificate (${fingerprint}) is not the pinned one: it changed, or someone is in between`);
    }
    if (pinned === undefined && !(await options.onUntrustedCertificate?.(fingerprint))) {
      throw new ClientError('certificateRefused', 'the server certificate was not trusted');
    }
    // The host name need not be in the certificate (servers are reached by LAN address).
    this.#tls = { ca: certificate.pem, checkServerIdentity: () => undefined };
    return fingerprint;
  }

  private async openSocket(url: URL): Promise<void> {
    const socket: EnigmaSocket = io(url.origin, {
      transports: ['websocket'],
      forceNew: true,
      autoConnect: false,
      reconnectionDelay: 250,
      reconnectionDelayMax: 5000,
      ...(this.#tls ?? {}),
    });
    this.#socket = socket;
    this.wire(socket);
    await new Promise<void>((resolve, reject) => {
      const ok = (): void => {
        socket.off('connect_error', failed);
        resolve();
      };
      const failed = (error: Error): void => {
        socket.off('connect', ok);
        this.discard(socket);
        reject(new ClientError('unreachable', `cannot connect to ${url.host}`, { cause: error }));
      };
      socket.once('connect', ok);
      socket.once('connect_error', failed);
      socket.connect();
    });
  }

  /** After failed attempts at the current node: the next node, same session, same pinned certificate. */
  private moveToNextNode(): void {
    if (this.#stopReconnecting) return;
    if (this.#socket !== undefined) this.discard(this.#socket);
    this.#node = (this.#node + 1) % this.#nodes.length;
    const url = this.#nodes[this.#node]!;
    // A reconnect as far as the session is concerned: 'connect' resumes it.
    this.setState('reconnecting');
    this.openSocket(url).then(
      () => (this.#failoverDelay = FAILOVER_FIRST_DELAY_MS),
      () => {
        if (this.#socket !== undefined) return; // connect() or close() took over meanwhile
        setTimeout(() => this.#socket === undefined && this.moveToNextNode(), this.#failoverDelay).unref?.();
        this.#failoverDelay = Math.min(this.#failoverDelay * 2, 5000);
      },
    );
  }

  private discard(socket: EnigmaSocket): void {
    socket.removeAllListeners();
    socket.io.removeAllListeners();
    socket.disconnect();
    if (this.#socket === socket) this.#socket = undefined;
  }

  /**
   * Creates an account and logs in. `invite` is the operator's token (from an
   * invite link, `parseInvite(...).inviteToken`) for a server that registers
   * by invite only; it is sent only when given, so the payload stays v1's.
   */
  public register(username: string, password: string, options: RegisterOptions = {}): Promise<RegisterReply> {
    const payload: RegisterRequest = { username, password };
    if (options.invite !== undefined && options.invite !== '') payload.invite = options.invite;
    return this.admission('REGISTER_CLIENT_', payload);
  }

  public login(username: string, password: string): Promise<LoginReply> {
    return this.admission('LOGIN_ATTEMPTING', { username, password });
  }

  /** Encrypts, frames and sends; resolves when the server has stored it. Survives reconnects. */
  public send(text: string): Promise<{ id: string; seq: number }> {
    if (this.#fernet === undefined) return Promise.reject(new ClientError('invalidKey', 'set a chat key before sending'));
    if (this.#session === undefined) return Promise.reject(new ClientError('notLoggedIn', 'log in before sending'));
    const frame = encodeFrame(this.#fernet.encrypt(text));
    // Refused here, not by the server: a frame over the limit would have the
    // connection cut at every resend and hold up everything queued behind it.
    if (frame.length > MAX_FRAME_LENGTH) {
      return Promise.reject(
        new ClientError('messageTooLong', `the message is too long: ${frame.length} characters encrypted, at most ${MAX_FRAME_LENGTH}; split it`),
      );
    }
    return this.enqueue({ id: frame.slice(0, 32), frame });
  }

  /**
   * Older (or newer) messages, decrypted, ascending by seq: one page, which
   * the server bounds in count and in bytes (1 MiB of frames), so it may
   * hold fewer than `limit`; ask again from its first (or last) seq for more.
   * A page going back (no `afterSeq`) that reaches what the server's
   * retention removed emits `pruned`: there is nothing older to ask for.
   */
  public async history(query: HistoryRequest = {}): Promise<ChatMessage[]> {
    const reply = await this.request('HISTORY', query);
    switch (reply.type) {
      case 'HISTORY':
        if (query.afterSeq === undefined) this.reachedBack(reply.prunedBefore, reply.messages[0]?.seq ?? query.beforeSeq ?? this.#lastSeq + 1);
        return reply.messages.map((m) => this.open(m));
      case 'RATE_LIMITED':
        throw new ClientError('rateLimited', `history refused for now: ${reply.reason ?? 'too many requests'}`, { retryAfterMs: reply.retryAfterMs });
      case 'NOT_LOGGED_IN':
        throw new ClientError('notLoggedIn', 'history refused: NOT_LOGGED_IN');
      case 'MALFORMED_REQUEST':
        throw new ClientError('malformedFrame', 'history refused: MALFORMED_REQUEST');
    }
  }

  /** Forgets the session and disconnects. */
  public async logout(): Promise<void> {
    this.#session = undefined;
    this.#username = undefined;
    this.close();
  }

  public close(): void {
    this.#stopReconnecting = true;
    const socket = this.#socket;
    this.#socket = undefined;
    if (socket !== undefined) {
      socket.removeAllListeners();
      socket.io.removeAllListeners();
      socket.disconnect();
    }
    this.setState('offline');
  }

  // --- internals ---

  private wire(socket: EnigmaSocket): void {
    let lastNotice: ServerNotice['kind'] | undefined;
    socket.on('SERVER_TO_CLIENT', (message) => {
      if (this.#held !== undefined) this.#held.push(message);
      else this.receiveLive(message);
    });
    socket.on('CLIENT_CONNECTED', (event) => this.#events.emit('joined', event));
    socket.on('CLIENT_LEFT_CHAT', (event) => this.#events.emit('left', event));
    socket.on('SERVER_NOTICE', (notice) => {
      lastNotice = notice.kind;
      if (notice.kind === 'kicked' || notice.kind === 'banned') this.#stopReconnecting = true;
      this.#events.emit('notice', notice);
    });
    socket.on('connect', () => {
      if (this.#state === 'connecting') {
        this.setState('connected');
        return;
      }
      // A reconnect: resume the session, catch up, then resend what waits.
      this.setState('connected');
      void this.resume();
    });
    socket.on('disconnect', (reason) => {
      if (this.#stopReconnecting || reason === 'io client disconnect') {
        this.setState('offline');
        return;
      }
      this.setState('reconnecting');
      // socket.io does not reconnect by itself after the server closed the
      // socket; a pause or a restart is worth waiting out, a kick is not.
      if (reason === 'io server disconnect' && (lastNotice === undefined || lastNotice === 'paused' || lastNotice === 'shutdown')) {
        if (this.#nodes.length > 1 && lastNotice !== undefined) this.moveToNextNode();
        else socket.connect();
      }
      lastNotice = undefined;
    });
    socket.io.on('reconnect_failed', () => this.setState('offline'));
    // A server that refuses the connection (paused by its operator) is not
    // retried by socket.io itself: retry with back-off until it is back.
    let retryDelay = 250;
    let failedAttempts = 0;
    socket.on('connect', () => {
      retryDelay = 250;
      failedAttempts = 0;
    });
    socket.io.on('reconnect_error', () => {
      failedAttempts += 1;
      if (this.#nodes.length > 1 && failedAttempts >= ATTEMPTS_BEFORE_FAILOVER) this.moveToNextNode();
    });
    socket.on('connect_error', () => {
      if (this.#state === 'connecting' || this.#stopReconnecting || socket.active) return;
      if (this.#nodes.length > 1) return this.moveToNextNode();
      this.setState('reconnecting');
      setTimeout(() => {
        if (!this.#stopReconnecting && this.#socket === socket && !socket.connected) socket.connect();
      }, retryDelay).unref?.();
      retryDelay = Math.min(retryDelay * 2, 5000);
    });
  }

  private async resume(): Promise<void> {
    const session = this.#session;
    if (session === undefined) {
      this.flushOutbox();
      return;
    }
    let reply: ResumeReply;
    try {
      reply = await this.admission('RESUME_SESSION', { session, afterSeq: this.#lastSeq });
    } catch {
      return; // the connection dropped again; the next connect retries
    }
    if (reply.type === 'LOGIN_SUCCESSFUL') return;
    if (reply.type === 'RATE_LIMITED' || reply.type === 'MALFORMED_REQUEST') {
      // Busy, not refused: keep the session and try again (a fresh connection resumes too).
      const socket = this.#socket;
      const delay = reply.type === 'RATE_LIMITED' ? reply.retryAfterMs : RETRY_AFTER_TIMEOUT_MS;
      setTimeout(() => {
        if (this.#socket === socket && socket?.connected === true && !this.#stopReconnecting) void this.resume();
      }, delay).unref?.();
      return;
    }
    this.#session = undefined;
    const error = new ClientError('sessionExpired', reply.type === 'BANNED' ? 'this account is banned' : 'the session expired; log in again');
    this.#events.emit('error', error);
  }

  /**
   * Login, registration or resume. The server may broadcast to this socket
   * before its reply arrives, so live messages are held from the moment the
   * request leaves until the history is delivered: everything is emitted in
   * `seq` order.
   */
  private async admission<E extends AdmissionEvent>(event: E, payload: PayloadOf<E>): Promise<ReplyOf<E>> {
    this.#held ??= [];
    let reply: ReplyOf<E>;
    try {
      reply = await this.request(event, payload);
    } catch (error) {
      this.releaseHeld();
      throw error;
    }
    // A resume's history starts after its `afterSeq`; a login's is the latest backlog.
    const resumedAfter = event === 'RESUME_SESSION' ? (payload as PayloadOf<'RESUME_SESSION'>).afterSeq : undefined;
    const answer: ReplyMessage = reply; // one of the event's replies: TypeScript narrows a concrete union, not `ReplyOf<E>`
    if (answer.type === 'LOGIN_SUCCESSFUL') await this.loggedIn(answer, resumedAfter);
    else this.releaseHeld();
    return reply;
  }

  /**
   * After LOGIN_SUCCESSFUL: history first, then what arrived meanwhile, then
   * the outbox. `resumedAfter`: the `afterSeq` of a resume (undefined for a
   * login, whose history is the latest backlog).
   */
  private async loggedIn(reply: LoginSuccessful, resumedAfter: number | undefined): Promise<void> {
    this.#session = reply.session;
    this.#username = reply.username;
    this.#held ??= [];
    const resumed = resumedAfter !== undefined;
    try {
      const firstGiven = reply.history[0]?.seq ?? reply.lastSeq + 1;
      if (resumed) this.skipPruned(reply.prunedBefore, firstGiven);
      else this.reachedBack(reply.prunedBefore, firstGiven);
      for (const message of reply.history) this.deliver(message);
      // A resume reply is capped; page until caught up.
      if (resumed && reply.history.length > 0) await this.catchUp(reply.lastSeq);
    } finally {
      this.releaseHeld();
    }
    if (this.#lastSeq < reply.lastSeq) this.#lastSeq = reply.lastSeq;
    this.flushOutbox();
  }

  /**
   * Delivers what is stored after `lastSeq` (and before `beforeSeq`), page by
   * page, until `lastSeq` reaches `until` or the server says there is no
   * more. Pages are bounded in bytes as well as in count, so a short page is
   * not the end: the server's `more` is (a server without it: a short page).
   * A busy server (`RATE_LIMITED`) is waited out, not skipped; a dropped
   * connection ends the catch-up with an error (the resume catches up).
   */
  private async catchUp(until: number, beforeSeq?: number): Promise<void> {
    while (this.#lastSeq < until) {
      const from = this.#lastSeq;
      const page = await this.request('HISTORY', { afterSeq: from, beforeSeq, limit: CATCH_UP_PAGE });
      if (page.type === 'RATE_LIMITED') {
        await new Promise((resolve) => setTimeout(resolve, page.retryAfterMs));
        continue;
      }
      if (page.type !== 'HISTORY') return;
      this.skipPruned(page.prunedBefore, page.messages[0]?.seq ?? beforeSeq ?? Number.MAX_SAFE_INTEGER);
      for (const message of page.messages) this.deliver(message);
      const more = page.more ?? page.messages.length >= CATCH_UP_PAGE;
      if (!more || this.#lastSeq === from) return;
    }
  }

  /**
   * Catching up after `lastSeq`, the server's first message is `firstGiven`
   * (or the next one to come): when retention removed what lay between, say
   * so once and move past it. Those seqs will never arrive, so nothing waits
   * for them (a live message after them is no gap) and the next resume asks
   * after them.
   */
  private skipPruned(prunedBefore: number | undefined, firstGiven: number): void {
    if (prunedBefore === undefined) return;
    this.#prunedBefore = Math.max(this.#prunedBefore, prunedBefore);
    if (Math.min(prunedBefore, firstGiven) <= this.#lastSeq + 1) return;
    const missedFrom = this.#lastSeq + 1;
    this.#lastSeq = Math.max(this.#lastSeq, prunedBefore - 1);
    this.#events.emit('pruned', { before: prunedBefore, missedFrom });
  }

  /** Going back in history, the oldest message given is `oldestGiven`: at the watermark, the UI learns that older ones were removed. */
  private reachedBack(prunedBefore: number | undefined, oldestGiven: number): void {
    if (prunedBefore === undefined) return;
    this.#prunedBefore = Math.max(this.#prunedBefore, prunedBefore);
    if (oldestGiven <= prunedBefore) this.#events.emit('pruned', { before: prunedBefore });
  }

  private releaseHeld(): void {
    const held = (this.#held ?? []).sort((a, b) => a.seq - b.seq);
    this.#held = undefined;
    for (const message of held) this.receiveLive(message);
    this.drainGap();
  }

  /**
   * A live message. Seqs are handed out in commit order, but with several
   * server nodes two broadcasts can cross on their way here: a message past a
   * gap waits (briefly) for the ones before it, then the gap is filled from
   * the history, so messages are always shown in seq order and "everything up
   * to lastSeq" stays true for the next resume.
   */
  private receiveLive(message: Relayed): void {
    if (message.seq <= this.#lastSeq + 1) this.deliver(message);
    else this.#gap.set(message.seq, message);
    this.drainGap(); // delivers what now follows on, or starts the wait
  }

  private drainGap(): void {
    for (let next = this.#gap.get(this.#lastSeq + 1); next !== undefined; next = this.#gap.get(this.#lastSeq + 1)) {
      this.#gap.delete(next.seq);
      this.deliver(next);
    }
    for (const seq of this.#gap.keys()) if (seq <= this.#lastSeq) this.#gap.delete(seq);
    if (this.#gap.size === 0 && this.#gapTimer !== undefined) {
      clearTimeout(this.#gapTimer);
      this.#gapTimer = undefined;
    } else if (this.#gap.size > 0 && this.#gapTimer === undefined) {
      this.#gapTimer = setTimeout(() => void this.fillGap(), GAP_WAIT_MS);
      this.#gapTimer.unref?.();
    }
  }

  /** The gap did not close by itself: what is stored before the waiting messages is authoritative. */
  private async fillGap(): Promise<void> {
    this.#gapTimer = undefined;
    if (this.#gap.size === 0) return;
    const firstWaiting = Math.min(...this.#gap.keys());
    try {
      await this.catchUp(firstWaiting - 1, firstWaiting);
    } catch {
      // Not connected: the resume after the reconnect catches up instead.
      // Connected but no answer: wait and ask again rather than skip.
      if (this.#socket?.connected === true) this.drainGap();
      return;
    }
    // Everything stored before the first waiting message is delivered now; a
    // number still missing was never stored (the database skipped it). The
    // waiting message goes next; a later gap waits its own turn.
    const first = this.#gap.get(firstWaiting);
    if (first !== undefined && this.#lastSeq < firstWaiting) {
      this.#gap.delete(firstWaiting);
      this.deliver(first);
    }
    this.drainGap();
  }

  private deliver(message: Relayed): void {
    if (this.#seen.has(message.id)) return;
    this.#seen.add(message.id);
    if (this.#seen.size > SEEN_IDS_LIMIT) this.#seen.delete(this.#seen.values().next().value as string);
    if (message.seq > this.#lastSeq) this.#lastSeq = message.seq;
    this.#events.emit('message', this.open(message));
  }

  private open(message: Relayed): ChatMessage {
    const base = { id: message.id, seq: message.seq, from: message.from, ts: message.ts, own: message.from === this.#username };
    if (this.#fernet === undefined) return { ...base, locked: true };
    try {
      return { ...base, text: this.#fernet.decryptText(message.frame.slice(32)), locked: false };
    } catch {
      return { ...base, locked: true };
    }
  }

  private enqueue(entry: OutboxEntry): Promise<{ id: string; seq: number }> {
    const existing = this.#outbox.get(entry.id);
    if (existing !== undefined) return new Promise((resolve, reject) => Object.assign(existing, { resolve, reject }));
    const promise = new Promise<{ id: string; seq: number }>((resolve, reject) => {
      this.#outbox.set(entry.id, { ...entry, resolve, reject, inFlight: false });
    });
    void this.persistOutbox();
    this.flushOutbox();
    return promise;
  }

  /**
   * Sends the oldest waiting frame, and the next one only once that is
   * acknowledged: one frame in flight keeps this sender's messages in the
   * order they were written even when the server refuses one for flooding
   * or the connection drops between two of them.
   */
  private flushOutbox(): void {
    if (this.#socket?.connected !== true || this.#session === undefined || this.#held !== undefined) return;
    const next = this.#outbox.values().next();
    if (next.done === true || next.value.inFlight) return;
    void this.transmit(next.value);
  }

  private async transmit(pending: Pending): Promise<void> {
    pending.inFlight = true;
    const socket = this.#socket;
    let reply: SendReply;
    try {
      reply = await this.request('CLIENT_TO_SERVER', pending.frame);
    } catch {
      pending.inFlight = false;
      // Lost with the connection: resent after the resume. A timeout on a
      // connection that still looks alive is retried (the server answers a
      // resend of a stored frame with its original seq).
      if (socket?.connected === true) setTimeout(() => this.flushOutbox(), RETRY_AFTER_TIMEOUT_MS).unref?.();
      return;
    }
    pending.inFlight = false;
    switch (reply.type) {
      case 'ACCEPTED':
        this.settle(pending);
        pending.resolve({ id: reply.id, seq: reply.seq });
        this.#events.emit('sent', { id: reply.id, seq: reply.seq });
        this.flushOutbox();
        break;
      case 'MALFORMED_FRAME':
        this.settle(pending);
        pending.reject(new ClientError('malformedFrame', `the server refused the frame: ${reply.reason}`));
        this.flushOutbox();
        break;
      case 'RATE_LIMITED':
        setTimeout(() => this.flushOutbox(), reply.retryAfterMs).unref?.();
        break;
      case 'NOT_LOGGED_IN':
        break; // resent once the session is resumed
      case 'QUOTA_EXCEEDED': {
        // Final for this frame: it leaves the outbox (else everything written
        // after it would wait behind it for good), and the app hears of it
        // twice — the send's promise, and an `error` event for a frame whose
        // promise nobody holds any more (restored from a persistent outbox).
        this.settle(pending);
        const error = new ClientError('quotaExceeded', `the message was not sent: ${reply.reason}`);
        pending.reject(error);
        this.#events.emit('error', error);
        this.flushOutbox();
        break;
      }
    }
  }

  /** The server has answered for good: the frame leaves the outbox. */
  private settle(pending: Pending): void {
    this.#outbox.delete(pending.id);
    void this.persistOutbox();
  }

  private async restoreOutbox(): Promise<void> {
    for (const entry of await this.#outboxStore.load()) {
      if (!this.#outbox.has(entry.id)) this.#outbox.set(entry.id, { ...entry, resolve: () => undefined, reject: () => undefined, inFlight: false });
    }
  }

  private async persistOutbox(): Promise<void> {
    await this.#outboxStore.save([...this.#outbox.values()].map(({ id, frame }) => ({ id, frame })));
  }

  /** One client event and its acknowledgement, typed by the protocol's event table. */
  private request<E extends ClientEventName>(event: E, payload: PayloadOf<E>): Promise<ReplyOf<E>> {
    const socket = this.#socket;
    if (socket === undefined || !socket.connected) return Promise.reject(new ClientError('notConnected', 'not connected to a server'));
    // socket.io's typed emit cannot take a computed event name; the reply's type is the table's `ReplyOf<E>`.
    return (socket as unknown as Socket).timeout(this.#ackTimeoutMs).emitWithAck(event, payload) as Promise<ReplyOf<E>>;
  }

  private setState(state: ConnectionState): void {
    if (this.#state === state) return;
    this.#state = state;
    this.#events.emit('state', state);
  }
}
