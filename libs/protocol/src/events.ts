import type {
  Credentials,
  HistoryReply,
  HistoryRequest,
  LoginReply,
  PresenceEvent,
  RegisterReply,
  Relayed,
  ResumeReply,
  ResumeRequest,
  SendReply,
  ServerNotice,
} from './messages.js';

/** Client-to-server event names: the seed's 16-character type codes. */
export const ClientEvent = {
  login: 'LOGIN_ATTEMPTING',
  register: 'REGISTER_CLIENT_',
  resume: 'RESUME_SESSION',
  send: 'CLIENT_TO_SERVER',
  history: 'HISTORY',
} as const;
export type ClientEventName = (typeof ClientEvent)[keyof typeof ClientEvent];

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

/** For `Server<ClientToServerEvents, ServerToClientEvents, ...>` and `Socket<...>`. */
export interface ClientToServerEvents {
  LOGIN_ATTEMPTING: (payload: Credentials, ack: Ack<LoginReply>) => void;
  REGISTER_CLIENT_: (payload: Credentials, ack: Ack<RegisterReply>) => void;
  RESUME_SESSION: (payload: ResumeRequest, ack: Ack<ResumeReply>) => void;
  CLIENT_TO_SERVER: (frame: string, ack: Ack<SendReply>) => void;
  HISTORY: (payload: HistoryRequest, ack: Ack<HistoryReply>) => void;
}

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
