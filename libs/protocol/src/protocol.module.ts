import { ContainerModule, type ServiceIdentifier } from 'inversify';
import { DEFAULT_LIMITS, type ProtocolLimits } from './limits.js';

/** The limits in force for this process (a server may lower the defaults). */
export const protocolLimitsId: ServiceIdentifier<ProtocolLimits> = Symbol.for('@enigma/protocol/ProtocolLimits');

/** Binds the protocol limits; load it into the app's container. */
export class ProtocolContainerModule extends ContainerModule {
  public static fromOptions(settings: { limits?: Partial<ProtocolLimits> } = {}): ProtocolContainerModule {
    const limits: ProtocolLimits = Object.freeze({ ...DEFAULT_LIMITS, ...settings.limits });
    return new ProtocolContainerModule((options) => {
      options.bind(protocolLimitsId).toConstantValue(limits);
    });
  }
}
