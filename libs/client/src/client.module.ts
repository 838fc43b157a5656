import { ContainerModule, type ServiceIdentifier } from 'inversify';
import { ChatClient, type ChatClientOptions } from './chat-client.js';

/** Makes ChatClients: an app may hold several (one per server). */
export type ChatClientFactory = (options?: ChatClientOptions) => ChatClient;

export const chatClientFactoryId: ServiceIdentifier<ChatClientFactory> = Symbol.for('@enigma/client/ChatClientFactory');

export class ClientContainerModule extends ContainerModule {
  public static fromOptions(defaults: ChatClientOptions = {}): ClientContainerModule {
    return new ClientContainerModule((options) => {
      options.bind(chatClientFactoryId).toConstantValue((overrides) => new ChatClient({ ...defaults, ...overrides }));
    });
  }
}
