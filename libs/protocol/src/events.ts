import type { ClientEventName, PayloadOf, ReplyOf } from './client-events.js';
import type { PresenceEvent, Relayed, ServerNotice } from './messages.js';

/** Client-to-server event names: the seed's 16-character type codes. */
export const ClientEvent = {
  login: 'LOGIN_ATTEMPTING',
  register: 'REGISTER_CLIENT_',
  resume: 'RESUME_SESSION',
  send: 'CLIENT_TO_SERVER',
  history: 'HISTORY',
} as const satisfies Record<string, ClientEventName>;

/** Server-to-client event names. */
export const ServerEvent = {
  relayed: 'SERVER_TO_CLIENT',
  joined: 'CLIENT_CONNECTED',
  left: 'CLIENT_LEFT_CHAT',
  notice: 'SERVER_NOTICE',
} as const;
export type ServerEventName = (typeof ServerEvent)[keyof typeof ServerEvent];

/** Every client-to-server event carries a socket.io acknowledgement. */
export type Ack<Reply> = (reply: Reply) => void;

/** For `Server<ClientToServerEvents, ServerToClientEvents, ...>` and `Socket<...>`: derived from the event table. */
export type ClientToServerEvents = { [E in ClientEventName]: (payload: PayloadOf<E>, ack: Ack<ReplyOf<E>>) => void };

export interface ServerToClientEvents {
  SERVER_TO_CLIENT: (message: Relayed) => void;
  CLIENT_CONNECTED: (event: PresenceEvent) => void;
  CLIENT_LEFT_CHAT: (event: PresenceEvent) => void;
  SERVER_NOTICE: (notice: ServerNotice) => void;
}

/** Server-to-server events (none in v1; kept for socket.io's generic slot). */
export type InterServerEvents = Record<string, never>;

/** What the server keeps on `socket.data` once a socket is logged in. */
export interface SocketData {
  username?: string;
  sessionId?: string;
  /** When this socket logged in, ms since the epoch. */
  since?: number;
  /** The server node holding the socket (several nodes on one Redis). */
  node?: string;
}
