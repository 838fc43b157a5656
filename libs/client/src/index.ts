// @enigma/client: the SDK. ChatClient connects (TLS pinned), logs in, sends
// encrypted frames through an outbox, reconnects and resumes by itself.
export { ChatClient } from './chat-client.js';
export type { ChatClientEvents, ChatClientOptions, ChatMessage, ConnectionState, ConnectOptions, PrunedEvent, RegisterOptions } from './chat-client.js';
export { formatInvite, normalizeFingerprint, parseInvite } from './invite.js';
export type { Invite } from './invite.js';
export { MemoryOutboxStore } from './outbox.js';
export type { OutboxEntry, OutboxStore } from './outbox.js';
export { ClientContainerModule, chatClientFactoryId } from './client.module.js';
export type { ChatClientFactory } from './client.module.js';
export { ClientError } from './errors.js';
export type { ClientErrorKind } from './errors.js';
