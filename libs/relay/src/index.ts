// @enigma/relay: the transport-agnostic chat core (admission, presence, frame
// acceptance, history, fan-out through a BroadcastPort). No socket.io inside.
export { ChatRelay, DEFAULT_RELAY_OPTIONS, relayOptionsId } from './chat-relay.js';
export type { RegistrationPolicy, RelayEvents, RelayOptions } from './chat-relay.js';
export { broadcastPortId, InMemoryBroadcastPort } from './broadcast-port.js';
export type { BroadcastPort, Delivery } from './broadcast-port.js';
export type { Peer, PeerSession } from './peer.js';
export { LocalPresence, presenceRegistryId } from './presence.js';
export type { PresenceRegistry } from './presence.js';
export { RelayContainerModule } from './relay.module.js';
export { RelayError } from './errors.js';
export type { RelayErrorKind } from './errors.js';
