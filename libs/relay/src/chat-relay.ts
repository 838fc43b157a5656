import {
  addressBlock,
  loginThrottleId,
  messageStoreId,
  usernameKey,
  userStoreId,
  type AppendResult,
  type HistorySlice,
  type LoginThrottle,
  type MessageStore,
  type PublicUser,
  type StoredMessage,
  type UserRef,
  type UserStore,
} from '@enigma/auth-store';
import {
  DEFAULT_BACKLOG,
  MAX_FRAME_LENGTH,
  MAX_HISTORY_BYTES,
  MAX_RESUME_MESSAGES,
  parseFrame,
  ProtocolError,
  dispatchClientEvent,
  TypedEmitter,
  type ClientEventDispatcher,
  type ClientEventName,
  type HistoryReply,
  type LoginReply,
  type LoginSuccessful,
  type PayloadOf,
  type PresenceEvent,
  type RateLimited,
  type RegisterReply,
  type Relayed,
  type ReplyOf,
  type ResumeReply,
  type SendReply,
  type ServerNotice,
} from '@enigma/protocol';
import { inject, injectable, optional, type ServiceIdentifier } from 'inversify';
import { RateLimiterMemory, RateLimiterRes } from 'rate-limiter-flexible';
import { broadcastPortId, type BroadcastPort } from './broadcast-port.js';
import { KeyedGate } from './keyed-gate.js';
import type { Peer, PeerSession } from './peer.js';
import { LocalPresence, presenceRegistryId, type PresenceRegistry } from './presence.js';

/**
 * Who may register: anyone (`open`), only with an operator's invite token
 * (`invite`), or nobody (`closed`; existing accounts still log in).
 */
export type RegistrationPolicy = 'open' | 'invite' | 'closed';

export interface RelayOptions {
  /** Messages of backlog in `LOGIN_SUCCESSFUL`. */
  backlog: number;
  /** Frames a session may send per `floodDurationMs` before `RATE_LIMITED`. */
  floodPoints: number;
  floodDurationMs: number;
  maxFrameLength: number;
  /** Most messages a resume catches up in its reply; the client pages for more. */
  resumeHistoryCap: number;
  /** Most bytes of frames in one backlog reply (login, resume, `HISTORY`), whatever the count. */
  historyBytes: number;
  /**
   * Backlog replies (login, resume, `HISTORY`) being built at once for one
   * account, and for the whole server; `historyWaiting` more per account
   * wait their turn (as many as the sessions one user may hold, so all of a
   * user's devices resuming after a restart get in), the rest are answered
   * `RATE_LIMITED` at once. Each reply is at most `historyBytes`, so what
   * the server builds at once is bounded whatever clients ask. The server's
   * own queue is long (`SERVER_HISTORY_WAITING`): a waiting request holds no
   * reply yet, only its turn, and after a restart every client resumes at
   * once — they must wait, not be refused.
   */
  historyPerAccount: number;
  historyPerServer: number;
  historyWaiting: number;
  /**
   * Bytes of backlog replies one account may be sent per second, on average
   * (bursts of twice that): a page over it is answered `RATE_LIMITED` until
   * the account is back within it. Concurrency alone does not bound how much
   * of the server's time one account takes: two replies at a time, asked
   * again as soon as they arrive, kept the event loop busy enough that
   * another user's login waited seconds. 4 MiB/s is some 14,000 ordinary
   * messages a second of catch-up. Logins and resumes count, but are never
   * refused for it (they are throttled on their own).
   */
  historyBytesPerSecond: number;
  /** Bytes of frames one account may have stored; 0 = no quota. */
  accountQuotaBytes: number;
  /** Logged-in sessions one user may hold at a time; a login beyond it is refused. */
  maxSessionsPerUser: number;
  registration: RegistrationPolicy;
  /**
   * How long a user whose last session ended stays "online" for the others
   * before `CLIENT_LEFT_CHAT` goes out. A reconnect within it (a network
   * blip, a laptop waking, a server restart) is no news to anyone; a client
   * that connects and drops in a loop cannot flood every member with
   * join/leave pairs. 0 announces at once.
   */
  presenceGraceMs: number;
}

export const DEFAULT_RELAY_OPTIONS: RelayOptions = Object.freeze({
  backlog: DEFAULT_BACKLOG,
  floodPoints: 30,
  floodDurationMs: 1000,
  maxFrameLength: MAX_FRAME_LENGTH,
  resumeHistoryCap: MAX_RESUME_MESSAGES,
  historyBytes: MAX_HISTORY_BYTES,
  historyPerAccount: 2,
  historyPerServer: 8,
  historyWaiting: 20,
  historyBytesPerSecond: 4 * MAX_HISTORY_BYTES,
  accountQuotaBytes: 256 * 1024 * 1024,
  maxSessionsPerUser: 20,
  registration: 'open',
  presenceGraceMs: 5000,
});

/** Password checks in flight per account (one: each guess sees the failures before it) and per address. */
const LOGINS_PER_ACCOUNT = 1;
const LOGINS_PER_ADDRESS = 4;
/** Login attempts that may wait for their turn per key; more are refused at once. */
const LOGINS_WAITING = 64;
/** What a refused login is told to wait: a dead session is noticed within the heartbeat (40 s by default). */
const SESSION_CAP_RETRY_MS = 60_000;
const BUSY_RETRY_MS = 1000;
/** What a backlog request refused for being one too many, or for a peer with unread data, is told to wait. */
const HISTORY_RETRY_MS = 250;
/** Accounts with a history budget kept before the first sweep of the refilled ones. */
const BUDGET_SWEEP_MIN = 1024;
/** Backlog requests waiting for a server-wide slot: each is a closure, no reply yet (some 100 bytes); more than the connections a node is expected to hold. */
const SERVER_HISTORY_WAITING = 65_536;
const HISTORY_BUSY = 'too many history requests at once for this account or server; wait a moment';
const HISTORY_UNREAD = 'earlier replies are still unread; read them first';
const HISTORY_RATE = 'this account is reading history faster than the server allows; wait a moment';
/** `600 bytes`, `64 KiB`, `1.5 GiB`: a size for a sentence. */
function describeBytes(bytes: number): string {
  const units = ['KiB', 'MiB', 'GiB', 'TiB'];
  let value = bytes;
  let unit = 'bytes';
  for (const next of units) {
    if (value < 1024) break;
    value /= 1024;
    unit = next;
  }
  return `${Math.round(value * 10) / 10} ${unit}`;
}

/** The server's backlog gate has one key. */
const SERVER = '';

export const relayOptionsId: ServiceIdentifier<RelayOptions> = Symbol.for('@enigma/relay/RelayOptions');

/** What the relay tells the app (for logs, metrics, the console). */
export interface RelayEvents extends Record<string, unknown> {
  relayed: Relayed;
  joined: PresenceEvent;
  left: PresenceEvent;
  notice: ServerNotice;
  /** The presence registry (Redis, in a cluster) failed; the user's presence may be stale. */
  presenceFailed: unknown;
}

const toRelayed = (message: StoredMessage): Relayed => message;

type Lane = 'append' | 'presence';

/**
 * The transport-agnostic chat core: admission, presence, frame acceptance,
 * history and fan-out through a `BroadcastPort`. Every request (`handle`, or
 * the method named after it) takes the raw payload (`unknown`); the event
 * table's dispatcher checks the session and validates it, and the handler
 * answers the protocol's reply union; none throws for bad input.
 */
@injectable()
export class ChatRelay {
  public readonly events = new TypedEmitter<RelayEvents>();
  readonly #sessions = new Map<string, PeerSession>();
  /** Folded username → peer ids: a user is online while this set is non-empty. */
  readonly #online = new Map<string, Set<string>>();
  readonly #flood: RateLimiterMemory;
  readonly #accountLogins = new KeyedGate(LOGINS_PER_ACCOUNT, LOGINS_WAITING);
  readonly #addressLogins = new KeyedGate(LOGINS_PER_ADDRESS, LOGINS_WAITING);
  /** Backlog replies being built, per account and for the server (see `RelayOptions.historyPerAccount`). */
  readonly #accountHistory: KeyedGate;
  readonly #serverHistory: KeyedGate;
  /** Per folded username: the bytes of backlog it may still be sent now (a token bucket), and when that was. Only accounts below a full bucket are kept. */
  readonly #historyBudget = new Map<string, { bytes: number; at: number }>();
  /** `#historyBudget` is swept when it grows past this. */
  #budgetSweepAt = BUDGET_SWEEP_MIN;
  /**
   * Work that must happen one task at a time, in call order: broadcasts of
   * appended frames (so they leave in seq order) and presence changes (so the registry sees
   * them in the order they happened here).
   */
  readonly #lanes: Record<Lane, Promise<unknown>> = { append: Promise.resolve(), presence: Promise.resolve() };
  /** Users whose last session here ended less than `presenceGraceMs` ago (folded name → departure to announce). */
  readonly #departing = new Map<string, { username: string; timer: NodeJS.Timeout }>();
  /** The session gate and payload validation of every client event (`@enigma/protocol`'s table), then its handler. */
  readonly #dispatch: ClientEventDispatcher<Peer> = dispatchClientEvent<Peer>(
    {
      LOGIN_ATTEMPTING: (peer, request) => this.loginWith(peer, request),
      REGISTER_CLIENT_: (peer, request) => this.registerWith(peer, request),
      RESUME_SESSION: (peer, request) => this.resumeWith(peer, request),
      CLIENT_TO_SERVER: (peer, frame) => this.sendFrame(peer, frame),
      HISTORY: (peer, request) => this.historyPage(peer, request),
    },
    (peer) => this.#sessions.has(peer.id),
  );

  public constructor(
    @inject(userStoreId) private readonly users: UserStore,
    @inject(messageStoreId) private readonly messages: MessageStore,
    @inject(loginThrottleId) private readonly throttle: LoginThrottle,
    @inject(broadcastPortId) private readonly port: BroadcastPort,
    @inject(relayOptionsId) private readonly options: RelayOptions,
    @inject(presenceRegistryId) @optional() private readonly presence: PresenceRegistry = new LocalPresence(),
  ) {
    this.#flood = new RateLimiterMemory({ keyPrefix: 'flood', points: options.floodPoints, duration: options.floodDurationMs / 1000 });
    this.#accountHistory = new KeyedGate(options.historyPerAccount, options.historyWaiting);
    this.#serverHistory = new KeyedGate(options.historyPerServer, SERVER_HISTORY_WAITING);
    presence.onVanished((usernames) => {
      for (const username of usernames) this.announce('left', username);
    });
  }

  /**
   * Answers one client event with its raw payload: `NOT_LOGGED_IN` for an
   * event that needs a session when the peer has none, the event's malformed
   * reply for a payload its schema refuses, otherwise the handler's reply.
   */
  public handle<E extends ClientEventName>(event: E, peer: Peer, payload: unknown): Promise<ReplyOf<E>> {
    return this.#dispatch(event, peer, payload);
  }

  public login(peer: Peer, payload: unknown): Promise<LoginReply> {
    return this.handle('LOGIN_ATTEMPTING', peer, payload);
  }

  public register(peer: Peer, payload: unknown): Promise<RegisterReply> {
    return this.handle('REGISTER_CLIENT_', peer, payload);
  }

  public resume(peer: Peer, payload: unknown): Promise<ResumeReply> {
    return this.handle('RESUME_SESSION', peer, payload);
  }

  public send(peer: Peer, frame: unknown): Promise<SendReply> {
    return this.handle('CLIENT_TO_SERVER', peer, frame);
  }

  public history(peer: Peer, payload: unknown): Promise<HistoryReply> {
    return this.handle('HISTORY', peer, payload);
  }

  private async loginWith(peer: Peer, { username, password }: PayloadOf<'LOGIN_ATTEMPTING'>): Promise<LoginReply> {
    const busy: LoginReply = { type: 'RATE_LIMITED', retryAfterMs: BUSY_RETRY_MS, reason: 'too many login attempts at once' };
    const reply = await this.#accountLogins.run(usernameKey(username), () =>
      this.#addressLogins.run(addressBlock(peer.address), () => this.checkPassword(peer, username, password)),
    );
    return reply ?? busy;
  }

  /** One password check, counted by the throttle before the next one for this account starts. */
  private async checkPassword(peer: Peer, username: string, password: string): Promise<LoginReply> {
    const gate = await this.throttle.beforeLogin(username, peer.address);
    if (!gate.allowed) return { type: 'RATE_LIMITED', retryAfterMs: gate.retryAfterMs };
    const verdict = await this.users.verify(username, password);
    switch (verdict.type) {
      case 'unknownUser':
        await this.throttle.loginFailed(username, peer.address);
        return { type: 'INVALID_USERNAME', reason: 'no user with this name' };
      case 'wrongPassword':
        await this.throttle.loginFailed(username, peer.address);
        return { type: 'INVALID_PASSWORD', reason: 'wrong password' };
      case 'banned':
        return { type: 'BANNED' };
      case 'ok':
        await this.throttle.loginSucceeded(username, peer.address);
        return this.admit(peer, verdict.user);
    }
  }

  private async registerWith(peer: Peer, { username, password, invite }: PayloadOf<'REGISTER_CLIENT_'>): Promise<RegisterReply> {
    const policy = this.options.registration;
    if (policy === 'closed') return { type: 'REGISTRATION_CLOSED', reason: 'this server takes no new accounts; ask its operator' };
    if (policy === 'invite' && invite === undefined) return { type: 'INVITE_INVALID', reason: 'missing' };
    const gate = await this.throttle.beforeRegister(peer.address);
    if (!gate.allowed) return { type: 'RATE_LIMITED', retryAfterMs: gate.retryAfterMs };
    if (policy === 'invite') {
      const guessing = await this.throttle.beforeInvite(peer.address);
      if (!guessing.allowed) return { type: 'RATE_LIMITED', retryAfterMs: guessing.retryAfterMs };
    }

    // An open server ignores an invite (it needs none, and spends none).
    const result = await this.users.register(username, password, policy === 'invite' ? { invite } : {});
    switch (result.type) {
      case 'inviteInvalid':
        await this.throttle.inviteFailed(peer.address);
        return { type: 'INVITE_INVALID', reason: result.reason };
      case 'usernameTaken':
        return { type: 'USER_IN_DATABASE' };
      case 'usernameConfusable':
        return { type: 'INVALID_USERNAME', kind: 'confusable', reason: "looks like an existing user's name; choose another" };
      case 'busy':
        return { type: 'RATE_LIMITED', retryAfterMs: BUSY_RETRY_MS, reason: 'server busy: too many registrations at once; try again in a moment' };
      case 'invalidUsername':
        return { type: 'INVALID_USERNAME', reason: result.reason };
      case 'weakPassword':
        return { type: 'INVALID_PASSWORD', reason: result.reason };
      case 'registered': {
        const admitted = await this.admit(peer, result.user);
        return admitted.type === 'LOGIN_SUCCESSFUL' ? { ...admitted, registered: true } : admitted;
      }
    }
  }

  private async resumeWith(peer: Peer, request: PayloadOf<'RESUME_SESSION'>): Promise<ResumeReply> {
    const result = await this.users.resumeSession(request.session);
    switch (result.type) {
      case 'expired':
        return { type: 'SESSION_EXPIRED' };
      case 'banned':
        return { type: 'BANNED' };
      case 'ok': {
        // Resumes cost a database read and a history page each: a client that
        // reconnects in a loop is slowed down (it retries after retryAfterMs).
        const gate = await this.throttle.beforeResume(result.user.username);
        if (!gate.allowed) return { type: 'RATE_LIMITED', retryAfterMs: gate.retryAfterMs, reason: 'reconnecting too often; wait a moment' };
        const { afterSeq } = request;
        const slice = (): Promise<HistorySlice> => this.messages.slice({ afterSeq, limit: this.options.resumeHistoryCap, maxBytes: this.options.historyBytes });
        const entered = await this.backlogTurn(result.user.username, () => this.enter(peer, result.user, request.session, slice));
        return entered ?? { type: 'RATE_LIMITED', retryAfterMs: HISTORY_RETRY_MS, reason: HISTORY_BUSY };
      }
    }
  }

  /** The hot path: validate, store (committed), broadcast once, acknowledge. */
  private async sendFrame(peer: Peer, frame: string): Promise<SendReply> {
    const session = this.#sessions.get(peer.id);
    if (session === undefined) return { type: 'NOT_LOGGED_IN' };
    let id: string;
    try {
      ({ id } = parseFrame(frame, this.options.maxFrameLength));
    } catch (error) {
      if (ProtocolError.is(error)) return { type: 'MALFORMED_FRAME', reason: error.reason };
      throw error;
    }
    try {
      await this.#flood.consume(peer.id);
    } catch (error) {
      if (error instanceof RateLimiterRes) return { type: 'RATE_LIMITED', retryAfterMs: Math.max(1, Math.ceil(error.msBeforeNext)) };
      throw error;
    }
    const stored = await this.appendAndBroadcast({ id, from: session.username, ts: Date.now(), frame });
    if (stored.type === 'quotaExceeded') return this.quotaReply();
    return { type: 'ACCEPTED', id, seq: stored.message.seq };
  }

  private async historyPage(peer: Peer, request: PayloadOf<'HISTORY'>): Promise<HistoryReply> {
    // The dispatcher checked the session in this same turn; looked up again for its name.
    const session = this.#sessions.get(peer.id);
    if (session === undefined) return { type: 'NOT_LOGGED_IN' };
    const limit = request.limit ?? this.options.backlog;
    const { username } = session;
    const reply = await this.backlogTurn(username, async (): Promise<HistoryReply> => {
      // A client that does not read its replies gets no more of them: what
      // waits for it stays within about a page (the slow-consumer bound cuts
      // it off if it stops reading altogether).
      if ((this.port.unread?.(peer.id) ?? 0) > this.options.historyBytes)
        return { type: 'RATE_LIMITED', retryAfterMs: HISTORY_RETRY_MS, reason: HISTORY_UNREAD };
      const waitMs = this.historyWait(username);
      if (waitMs > 0) return { type: 'RATE_LIMITED', retryAfterMs: waitMs, reason: HISTORY_RATE };
      const { beforeSeq, afterSeq } = request;
      const { messages, more } = await this.messages.slice({ beforeSeq, afterSeq, limit, maxBytes: this.options.historyBytes });
      this.chargeHistory(username, messages);
      return { type: 'HISTORY', messages: messages.map(toRelayed), more, ...(await this.pruneMark()) };
    });
    return reply ?? { type: 'RATE_LIMITED', retryAfterMs: HISTORY_RETRY_MS, reason: HISTORY_BUSY };
  }

  /**
   * Runs a backlog read (and the reply built from it) once the account and
   * the server each have a free slot; `undefined` at once when too many
   * already wait. The account's slot is taken first, so one account's flood
   * waits in its own queue and takes at most `historyPerAccount` of the
   * server's slots: everyone else's logins still find one free.
   */
  private backlogTurn<T>(username: string, task: () => Promise<T>): Promise<T | undefined> {
    return this.#accountHistory.run(usernameKey(username), () => this.#serverHistory.run(SERVER, task));
  }

  /** An account's history budget at `now`: what it had, refilled at `rate` bytes a second, up to a burst of `2 * rate`. */
  private historyBudgetAt(key: string, now: number, rate: number): number {
    const budget = this.#historyBudget.get(key);
    return budget === undefined ? 2 * rate : Math.min(2 * rate, budget.bytes + ((now - budget.at) * rate) / 1000);
  }

  /** 0 when the account may be sent a page now; otherwise how long until it may (its budget is overdrawn). */
  private historyWait(username: string): number {
    const rate = this.options.historyBytesPerSecond;
    if (rate <= 0) return 0;
    const bytes = this.historyBudgetAt(usernameKey(username), Date.now(), rate);
    return bytes >= 0 ? 0 : Math.max(1, Math.ceil((-bytes / rate) * 1000));
  }

  /** Takes a reply's frame bytes from the account's budget (which may go below zero: the next page waits). */
  private chargeHistory(username: string, messages: readonly StoredMessage[]): void {
    const rate = this.options.historyBytesPerSecond;
    if (rate <= 0) return;
    const key = usernameKey(username);
    const now = Date.now();
    let sent = 0;
    for (const message of messages) sent += message.frame.length;
    this.#historyBudget.set(key, { bytes: this.historyBudgetAt(key, now, rate) - sent, at: now });
    // Accounts whose budget has refilled are forgotten now and then: the map holds those that read a lot lately.
    // The next sweep waits until the map has doubled, so a reply costs O(1) on average, not a walk of every account.
    if (this.#historyBudget.size > this.#budgetSweepAt) {
      for (const name of this.#historyBudget.keys()) if (this.historyBudgetAt(name, now, rate) >= 2 * rate) this.#historyBudget.delete(name);
      this.#budgetSweepAt = Math.max(BUDGET_SWEEP_MIN, 2 * this.#historyBudget.size);
    }
  }

  private quotaReply(): SendReply {
    const quotaBytes = this.options.accountQuotaBytes;
    return {
      type: 'QUOTA_EXCEEDED',
      quotaBytes,
      reason: `this account has stored its quota of ${describeBytes(quotaBytes)} of messages on this server; nothing more can be stored until the operator makes room`,
    };
  }

  /** The transport lost the connection (or closed it). Idempotent. */
  public disconnected(peer: Peer): void {
    void this.#flood.delete(peer.id);
    this.leave(peer.id);
  }

  // --- operator actions ---

  /**
   * Resolves once every frame being stored so far is committed and broadcast,
   * and every presence change has reached the registry (before a clean
   * shutdown). A send that passed its session check is still in its flood
   * check (a promise): one turn of the event loop lets it join the lane.
   */
  public async settled(): Promise<void> {
    await new Promise<void>((resolve) => setImmediate(resolve));
    // Departures still in their grace are announced now: nobody is coming back to this node.
    for (const [key, { username, timer }] of [...this.#departing]) {
      clearTimeout(timer);
      this.#departing.delete(key);
      void this.changePresence('left', username);
    }
    await Promise.all([this.#lanes.append, this.#lanes.presence]);
  }

  /** Everyone online, on this node and (with a shared presence registry) on every other. */
  public online(): Promise<string[]> {
    return this.inOrder('presence', () => this.presence.online());
  }

  public sessions(): Array<{ peerId: string; username: string; address: string; since: number }> {
    return [...this.#sessions.values()].map(({ peerId, username, address, since }) => ({ peerId, username, address, since }));
  }

  /**
   * Revokes every resume session of a user, then disconnects their
   * connections with a `kicked` notice: they may come back, but only with
   * their password (a kick that left the tokens valid was undone by an
   * automatic resume milliseconds later). Undefined when there is no such
   * user; otherwise how many connections were closed.
   */
  public async kick(user: UserRef): Promise<number | undefined> {
    // Resolved once, then acted on by id: the name given is not looked up twice.
    const found = await this.users.lookup(user);
    if (found === undefined || !(await this.users.revokeSessions({ id: found.id }))) return undefined;
    return this.disconnectUser(found.username, { kind: 'kicked', text: 'You were disconnected by the operator.', ts: Date.now() });
  }

  /** Bans (refusing future logins, revoking sessions) and disconnects with a `banned` notice. */
  public async ban(user: UserRef): Promise<boolean> {
    const found = await this.users.lookup(user);
    if (found === undefined || !(await this.users.ban({ id: found.id }))) return false;
    this.disconnectUser(found.username, { kind: 'banned', text: 'You were banned from this server by the operator.', ts: Date.now() });
    return true;
  }

  public unban(user: UserRef): Promise<boolean> {
    return this.users.unban(user);
  }

  /** A plaintext notice from the operator to everyone logged in. */
  public notice(text: string): ServerNotice {
    const notice: ServerNotice = { kind: 'notice', text, ts: Date.now() };
    this.port.broadcast('SERVER_NOTICE', notice);
    this.events.emit('notice', notice);
    return notice;
  }

  /** For `stop` and shutdown: every peer gets the notice and is disconnected. */
  public disconnectAll(notice: ServerNotice): void {
    for (const peerId of [...this.#sessions.keys()]) {
      this.port.disconnect(peerId, notice);
      this.leave(peerId);
    }
  }

  // --- internals ---

  /**
   * Broadcasts leave in exactly `seq` order: a client that saw seq N has seen
   * everything before N, which is what makes "catch up after my last seq"
   * lose nothing. The store numbers appends in call order, so each append
   * starts at once (SQLite commits a queue of them together) and only the
   * broadcasts wait for the ones before them.
   */
  private appendAndBroadcast(message: { id: string; from: string; ts: number; frame: string }): Promise<AppendResult> {
    const quota = this.options.accountQuotaBytes;
    const appending = this.messages.append(message, quota > 0 ? { quotaBytes: quota } : {});
    // Handled below, maybe only after earlier broadcasts: not an unhandled rejection meanwhile.
    appending.catch(() => undefined);
    return this.inOrder('append', async () => {
      const stored = await appending;
      if (stored.type === 'appended') {
        const relayed = toRelayed(stored.message);
        this.port.broadcast('SERVER_TO_CLIENT', relayed);
        this.events.emit('relayed', relayed);
      }
      return stored;
    });
  }

  /** Runs the task after every earlier task of its lane has settled; a failure does not stop the lane. */
  private inOrder<T>(lane: Lane, task: () => Promise<T>): Promise<T> {
    const result = this.#lanes[lane].then(task);
    this.#lanes[lane] = result.catch(() => undefined);
    return result;
  }

  private async admit(peer: Peer, user: PublicUser): Promise<LoginSuccessful | RateLimited> {
    // Checked before a token is issued (no orphan sessions) and again on entry.
    if (this.atSessionCap(peer, user.username)) return this.sessionCapReply();
    const grant = await this.users.issueSession(user);
    const newest = (): Promise<HistorySlice> => this.messages.slice({ limit: this.options.backlog, maxBytes: this.options.historyBytes });
    const entered = (await this.backlogTurn(user.username, () => this.enter(peer, user, grant.token, newest))) ?? {
      type: 'RATE_LIMITED',
      retryAfterMs: HISTORY_RETRY_MS,
      reason: HISTORY_BUSY,
    };
    if (entered.type !== 'LOGIN_SUCCESSFUL') await this.users.revokeSession(grant.token);
    return entered;
  }

  /** True when the user already holds as many sessions as allowed (this peer's own not counted). */
  private atSessionCap(peer: Peer, username: string): boolean {
    const peers = this.#online.get(usernameKey(username));
    if (peers === undefined) return false;
    return peers.size - (peers.has(peer.id) ? 1 : 0) >= this.options.maxSessionsPerUser;
  }

  private sessionCapReply(): RateLimited {
    const limit = this.options.maxSessionsPerUser;
    return {
      type: 'RATE_LIMITED',
      retryAfterMs: SESSION_CAP_RETRY_MS,
      reason: `too many sessions: this user is already logged in ${limit} times; log out elsewhere first`,
    };
  }

  /**
   * Admits the peer to the broadcast *before* reading its history: a frame
   * stored meanwhile then arrives live, in the history, or both (the client
   * drops the duplicate id) — never neither.
   */
  private async enter(peer: Peer, user: PublicUser, sessionToken: string, loadHistory: () => Promise<HistorySlice>): Promise<LoginSuccessful | RateLimited> {
    // The cap is checked in the same synchronous step that admits the peer, so
    // logins that finish together cannot all slip past it.
    if (this.atSessionCap(peer, user.username)) return this.sessionCapReply();
    // A socket that logs in again (maybe as someone else) leaves first.
    if (this.#sessions.has(peer.id)) this.leave(peer.id);
    this.#sessions.set(peer.id, { peerId: peer.id, username: user.username, address: peer.address, since: Date.now(), sessionToken });
    const key = usernameKey(user.username);
    let peers = this.#online.get(key);
    const firstSession = peers === undefined;
    if (peers === undefined) this.#online.set(key, (peers = new Set()));
    peers.add(peer.id);
    // Announced to the others before this peer is admitted: nobody is told of
    // their own arrival. Back within the grace: the others never saw them go.
    const departing = this.#departing.get(key);
    if (departing !== undefined) {
      clearTimeout(departing.timer);
      this.#departing.delete(key);
    } else if (firstSession) {
      await this.changePresence('joined', user.username);
    }
    this.port.admit(peer.id);
    const { messages: history, more } = await loadHistory();
    this.chargeHistory(user.username, history);
    const lastSeq = Math.max(history.at(-1)?.seq ?? 0, await this.messages.lastSeq());
    return {
      type: 'LOGIN_SUCCESSFUL',
      username: user.username,
      session: sessionToken,
      online: await this.online(),
      history: history.map(toRelayed),
      lastSeq,
      more,
      ...(await this.pruneMark()),
    };
  }

  /**
   * `{ prunedBefore }` once retention has removed messages, else nothing (a
   * server that never pruned answers exactly as before). Read after the
   * history it goes with: a batch pruned in between only raises it, so a gap
   * between the client's `afterSeq` and the first message it was given is
   * always covered by it.
   */
  private async pruneMark(): Promise<{ prunedBefore?: number }> {
    const prunedBefore = await this.messages.prunedBefore();
    return prunedBefore > 0 ? { prunedBefore } : {};
  }

  /** `now`: the operator removed the user (kick, ban), no return to wait for. */
  private leave(peerId: string, announce: 'afterGrace' | 'now' = 'afterGrace'): void {
    const session = this.#sessions.get(peerId);
    if (session === undefined) return;
    this.#sessions.delete(peerId);
    const key = usernameKey(session.username);
    const peers = this.#online.get(key);
    peers?.delete(peerId);
    if (peers !== undefined && peers.size === 0) {
      this.#online.delete(key);
      this.depart(key, session.username, announce);
    }
  }

  /** The user's last session here ended: announced once the grace has passed without a return. */
  private depart(key: string, username: string, announce: 'afterGrace' | 'now'): void {
    if (announce === 'now' || this.options.presenceGraceMs === 0) {
      void this.changePresence('left', username);
      return;
    }
    const timer = setTimeout(() => {
      this.#departing.delete(key);
      void this.changePresence('left', username);
    }, this.options.presenceGraceMs);
    // A pending announcement must not keep a finished process alive.
    timer.unref();
    this.#departing.set(key, { username, timer });
  }

  /** The user's first (or last) session on this node: announced when it is also the first (last) in the cluster. */
  private changePresence(kind: 'joined' | 'left', username: string): Promise<void> {
    return this.inOrder('presence', async () => {
      const announce = kind === 'joined' ? await this.presence.arrive(username) : await this.presence.depart(username);
      if (announce) this.announce(kind, username);
    }).catch((error: unknown) => {
      this.events.emit('presenceFailed', error);
    });
  }

  private announce(kind: 'joined' | 'left', username: string): void {
    const event: PresenceEvent = { username, ts: Date.now() };
    this.port.broadcast(kind === 'joined' ? 'CLIENT_CONNECTED' : 'CLIENT_LEFT_CHAT', event);
    this.events.emit(kind, event);
  }

  private disconnectUser(username: string, notice: ServerNotice): number {
    const key = usernameKey(username);
    const sharing = [...(this.#online.get(key) ?? [])];
    // Presence is keyed by the folded name, but an old database may hold two
    // accounts whose names differ only in case (`Bob`, `bob`): only the
    // connections of the account acted on are closed.
    const peers = sharing.filter((peerId) => this.#sessions.get(peerId)?.username === username);
    for (const peerId of peers) {
      this.port.disconnect(peerId, notice);
      this.leave(peerId, 'now');
    }
    // Removed while in the grace after a disconnect: no return to wait for.
    const departing = peers.length === sharing.length ? this.#departing.get(key) : undefined;
    if (departing !== undefined) {
      clearTimeout(departing.timer);
      this.#departing.delete(key);
      void this.changePresence('left', departing.username);
    }
    return peers.length;
  }
}
