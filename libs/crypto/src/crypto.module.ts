import { ContainerModule, type ServiceIdentifier } from 'inversify';
import { hashPassword, OWASP_ARGON2ID, verifyPassword, type PasswordCheck, type PasswordHashParameters } from './password.js';

/** Password hashing as a service, so apps and tests choose the parameters in one place. */
export interface PasswordHasher {
  hash(plain: string): Promise<string>;
  verify(plain: string, phc: string): Promise<PasswordCheck>;
}

export const passwordHasherId: ServiceIdentifier<PasswordHasher> = Symbol.for('@enigma/crypto/PasswordHasher');

/** An argon2id `PasswordHasher` with the given parameters (OWASP's by default). */
export function createPasswordHasher(parameters: PasswordHashParameters = OWASP_ARGON2ID): PasswordHasher {
  return {
    hash: (plain) => hashPassword(plain, parameters),
    verify: (plain, phc) => verifyPassword(plain, phc, parameters),
  };
}

export class CryptoContainerModule extends ContainerModule {
  public static fromOptions(settings: { passwordHash?: PasswordHashParameters } = {}): CryptoContainerModule {
    const hasher = createPasswordHasher(settings.passwordHash);
    return new CryptoContainerModule((options) => {
      options.bind(passwordHasherId).toConstantValue(hasher);
    });
  }
}
