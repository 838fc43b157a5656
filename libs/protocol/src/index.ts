// @enigma/protocol: the wire contract of Enigma protocol v1 (event names,
// payload and reply types, frame codec, limits, validators).
export { ClientEvent, ServerEvent } from './events.js';
export { clientEventNames, clientEvents } from './client-events.js';
export type { ClientEventHandlers, ClientEventName, ClientEventSpec, PayloadOf, ReplyOf } from './client-events.js';
export type { Ack, ClientToServerEvents, InterServerEvents, ServerEventName, ServerToClientEvents, SocketData } from './events.js';
export type {
  Accepted,
  AnyReply,
  Banned,
  Credentials,
  HistoryPage,
  HistoryReply,
  HistoryRequest,
  InvalidPassword,
  InvalidUsername,
  InviteInvalid,
  InviteProblem,
  LoginReply,
  LoginSuccessful,
  MalformedFrame,
  MalformedRequest,
  NoticeKind,
  NotLoggedIn,
  PresenceEvent,
  QuotaExceeded,
  RateLimited,
  RegisterReply,
  RegisterRequest,
  ReplyMessage,
  RegistrationClosed,
  Relayed,
  ReplyType,
  ResumeReply,
  ResumeRequest,
  SendReply,
  ServerNotice,
  SessionExpired,
  UserInDatabase,
} from './messages.js';
export { encodeFrame, frameId, isWellFormedFrame, parseFrame, FRAME_ID_LENGTH } from './frame.js';
export type { ParsedFrame } from './frame.js';
export { DEFAULT_BACKLOG, DEFAULT_LIMITS, MAX_FRAME_LENGTH, MAX_HISTORY_BYTES, MAX_RESUME_MESSAGES } from './limits.js';
export type { ProtocolLimits } from './limits.js';
export { dispatchClientEvent, isClientEventName, readClientEventArguments, validateClientPayload } from './validators.js';
export type { ClientEventArguments, ClientEventDispatcher, ClientPayloads, Validation } from './validators.js';
export { TypedEmitter } from './typed-emitter.js';
export { ProtocolError } from './errors.js';
export type { ProtocolErrorKind } from './errors.js';
export { ProtocolContainerModule, protocolLimitsId } from './protocol.module.js';
