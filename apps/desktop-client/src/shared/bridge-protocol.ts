// The messages between the React UI (in the browser window) and the Node side
// that runs the SDK. One WebSocket on the loopback UI host carries them.

export type ConnectionState = 'connecting' | 'connected' | 'reconnecting' | 'offline';

export interface ChatLine {
  id: string;
  seq: number;
  from: string;
  ts: number;
  /** Absent when the chat key cannot open the frame. */
  text?: string;
  locked: boolean;
  own: boolean;
}

export interface PresenceLine {
  username: string;
  ts: number;
}

/** What the UI asks of the host. Every request gets one `reply` with the same `id`. */
export type UiRequest =
  | { id: number; op: 'state' }
  | { id: number; op: 'connect'; server: string; chatKey: string }
  | { id: number; op: 'trust'; fingerprint: string; accept: boolean }
  | { id: number; op: 'login' | 'register'; username: string; password: string }
  | { id: number; op: 'send'; text: string }
  | { id: number; op: 'generateKey' }
  | { id: number; op: 'invite' }
  | { id: number; op: 'logout' };

/** Why a request failed, for the UI to explain next to the right field. */
export type UiErrorCode =
  | 'unknownUser'
  | 'wrongPassword'
  | 'nameTaken'
  | 'invalidName'
  | 'weakPassword'
  | 'rateLimited'
  | 'banned'
  | 'registrationClosed'
  | 'inviteMissing'
  | 'inviteUnknown'
  | 'inviteUsed'
  | 'inviteExpired'
  | 'certificateChanged'
  | 'certificateRefused'
  | 'unreachable'
  | 'invalidServer'
  | 'invalidKey'
  | 'sessionExpired'
  | 'notLoggedIn'
  | 'messageTooLong'
  | 'quotaExceeded'
  | 'failed';

export interface UiError {
  code: UiErrorCode;
  /** Server-provided detail (e.g. why a password is weak); already safe to show. */
  detail?: string;
  retryAfterMs?: number;
}

export interface AppSnapshot {
  server: string;
  chatKey: string;
  username: string;
  loggedIn: boolean;
  /** An operator's invite token (from an invite link) waits for a registration at `server`. */
  invited: boolean;
  state: ConnectionState;
  online: string[];
  messages: ChatLine[];
  locale: string;
}

export type UiReply = { id: number; ok: true; result?: unknown } | { id: number; ok: false; error: UiError };

/** What the host pushes to the UI. */
export type HostEvent =
  | { event: 'message'; line: ChatLine }
  | { event: 'joined' | 'left'; presence: PresenceLine }
  | { event: 'notice'; noticeKind: string; text: string; ts: number }
  /** The server's retention removed older messages; `missed`: some of them had not reached this user. */
  | { event: 'pruned'; missed: boolean; ts: number }
  | { event: 'state'; state: ConnectionState }
  | { event: 'online'; online: string[] }
  | { event: 'untrusted'; fingerprint: string }
  | { event: 'loggedOut'; reason: UiErrorCode };

export type HostMessage = ({ kind: 'reply' } & UiReply) | ({ kind: 'event' } & HostEvent);

// How the UI authenticates to the host (see host/ui-host.ts). The launch URL
// carries a one-time token in its fragment; the UI trades it for the session
// secret at SESSION_PATH (token in LAUNCH_HEADER), then opens the bridge
// offering two subprotocols: BRIDGE_PROTOCOL (which the host answers) and
// SESSION_PROTOCOL_PREFIX + secret (which it checks and never echoes).
export const SESSION_PATH = '/session';
export const LAUNCH_HEADER = 'x-enigma-launch';
export const BRIDGE_PROTOCOL = 'enigma-bridge';
export const SESSION_PROTOCOL_PREFIX = 'enigma-session.';
