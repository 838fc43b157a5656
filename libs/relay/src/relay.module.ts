import { ContainerModule } from 'inversify';
import { ChatRelay, DEFAULT_RELAY_OPTIONS, relayOptionsId, type RelayOptions } from './chat-relay.js';
import { LocalPresence, presenceRegistryId } from './presence.js';

/**
 * Binds `ChatRelay` (one per container), its options and a single-node
 * `PresenceRegistry`. The app binds
 * `broadcastPortId` (its transport) and loads AuthStoreContainerModule for the
 * user store, message store and login throttle.
 */
export class RelayContainerModule extends ContainerModule {
  public static fromOptions(settings: Partial<RelayOptions> = {}): RelayContainerModule {
    const relayOptions: RelayOptions = Object.freeze({ ...DEFAULT_RELAY_OPTIONS, ...settings });
    return new RelayContainerModule((options) => {
      options.bind(relayOptionsId).toConstantValue(relayOptions);
      // One node by default; a cluster rebinds this to its shared registry.
      options.bind(presenceRegistryId).toConstantValue(new LocalPresence());
      options.bind(ChatRelay).toSelf().inSingletonScope();
    });
  }
}
