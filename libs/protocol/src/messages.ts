import type { ClientEventName, ReplyOf } from './client-events.js';

// Wire payloads of protocol v1 (docs/protocol.md). Replies are discriminated
// unions on `type`, so a `switch` over a reply is checked for exhaustiveness.

export interface Credentials {
  username: string;
  password: string;
}

/** `REGISTER_CLIENT_`: the credentials, plus the operator's invite token when the server asks for one. */
export interface RegisterRequest extends Credentials {
  /** From the invite link (`invite=` after `#`). Only sent when there is one: a v1 client never sends it. */
  invite?: string;
}

export interface ResumeRequest {
  /** The opaque token from `LOGIN_SUCCESSFUL.session`. */
  session: string;
  /** The last `seq` the client has; the reply's history starts after it. */
  afterSeq: number;
}

export interface HistoryRequest {
  beforeSeq?: number;
  afterSeq?: number;
  limit?: number;
}

/** A frame as the server relays it: `frame` is exactly what the sender sent. */
export interface Relayed {
  /** md5 hex of the token: the message id. */
  id: string;
  /** Server-wide increasing sequence number. */
  seq: number;
  /** The authenticated sender's username (never taken from the client). */
  from: string;
  /** Milliseconds since the epoch at which the server accepted the frame. */
  ts: number;
  frame: string;
}

export interface PresenceEvent {
  username: string;
  ts: number;
}

export type NoticeKind = 'notice' | 'paused' | 'kicked' | 'banned' | 'shutdown';

export interface ServerNotice {
  kind: NoticeKind;
  /** Plaintext from the operator: notices are not end-to-end encrypted. */
  text: string;
  ts: number;
}

// --- Replies (acknowledgements) ---

export interface LoginSuccessful {
  type: 'LOGIN_SUCCESSFUL';
  username: string;
  session: string;
  online: string[];
  history: Relayed[];
  lastSeq: number;
  /**
   * True when `history` stopped at its count or size limit (`MAX_HISTORY_BYTES`)
   * with more stored in the direction it was read: newer messages after a
   * resume (page on with `HISTORY { afterSeq }`), older ones after a login.
   * Absent from servers before it was added.
   */
  more?: boolean;
  /** True when this reply answers a registration. */
  registered?: boolean;
  /**
   * Present once the server's retention policy (`--retention`) has removed
   * messages: every message with a lower seq is gone for good, every one from
   * it on is kept. A client whose `afterSeq` is below `prunedBefore - 1`
   * missed what lay between (the history starts at the first message kept).
   */
  prunedBefore?: number;
}
export interface InvalidUsername {
  type: 'INVALID_USERNAME';
  reason?: string;
  /**
   * Registration only: `confusable` when the name looks like an existing
   * user's (same Unicode TR39 skeleton, e.g. `аlice` with a Cyrillic а for
   * `alice`); absent for the other reasons.
   */
  kind?: 'confusable';
}
export interface InvalidPassword {
  type: 'INVALID_PASSWORD';
  reason?: string;
}
export interface UserInDatabase {
  type: 'USER_IN_DATABASE';
}
export interface RateLimited {
  type: 'RATE_LIMITED';
  retryAfterMs: number;
  /** Why, when it is not the usual throttle (e.g. too many sessions of this user). */
  reason?: string;
}
export interface Banned {
  type: 'BANNED';
}
export interface MalformedRequest {
  type: 'MALFORMED_REQUEST';
  reason: string;
}
/** The server takes no new accounts (`--registration closed`). */
export interface RegistrationClosed {
  type: 'REGISTRATION_CLOSED';
  /** A sentence for the user. */
  reason: string;
}
/**
 * Why an invite cannot register anyone (`--registration invite`): none was
 * sent, no such token (never made, mistyped or revoked: the server does not
 * tell these apart), every use spent, or past its expiry.
 */
export type InviteProblem = 'missing' | 'unknown' | 'used' | 'expired';
export interface InviteInvalid {
  type: 'INVITE_INVALID';
  reason: InviteProblem;
}
export interface SessionExpired {
  type: 'SESSION_EXPIRED';
}
export interface Accepted {
  type: 'ACCEPTED';
  id: string;
  seq: number;
}
export interface MalformedFrame {
  type: 'MALFORMED_FRAME';
  reason: string;
}
export interface NotLoggedIn {
  type: 'NOT_LOGGED_IN';
}
export interface HistoryPage {
  type: 'HISTORY';
  messages: Relayed[];
  /** As in `LoginSuccessful`: present once retention has removed messages; nothing below it will ever come back. */
  prunedBefore?: number;
  /**
   * True when the page stopped at its `limit` or at `MAX_HISTORY_BYTES` of
   * frames with more stored in the range asked for, in the direction it was
   * read (after the last message with `afterSeq`, before the first without).
   * Absent from servers before it was added.
   */
  more?: boolean;
}
/**
 * The sender's account has stored its quota of message bytes
 * (`--account-quota`): the frame was not stored nor relayed. It is final for
 * this frame (a resend gets the same answer until the operator frees room or
 * raises the quota).
 */
export interface QuotaExceeded {
  type: 'QUOTA_EXCEEDED';
  /** A sentence for the user. */
  reason: string;
  /** The account's quota in bytes of stored frames. */
  quotaBytes: number;
}

/** Every reply interface: `ReplyOf<E>` picks an event's replies from it by `type` (client-events.ts). */
export type ReplyMessage =
  | LoginSuccessful
  | InvalidUsername
  | InvalidPassword
  | UserInDatabase
  | RateLimited
  | Banned
  | MalformedRequest
  | RegistrationClosed
  | InviteInvalid
  | SessionExpired
  | Accepted
  | MalformedFrame
  | NotLoggedIn
  | HistoryPage
  | QuotaExceeded;

// Each event's reply union, named as in v1, derived from the event table.
export type LoginReply = ReplyOf<'LOGIN_ATTEMPTING'>;
export type RegisterReply = ReplyOf<'REGISTER_CLIENT_'>;
export type ResumeReply = ReplyOf<'RESUME_SESSION'>;
export type SendReply = ReplyOf<'CLIENT_TO_SERVER'>;
export type HistoryReply = ReplyOf<'HISTORY'>;

export type AnyReply = ReplyOf<ClientEventName>;
export type ReplyType = AnyReply['type'];
