import { createPasswordHasher, passwordHasherId } from '@enigma/crypto';
import { ContainerModule, type ServiceIdentifier } from 'inversify';
import type { DatabaseHandle } from './database.js';
import { inviteStoreId, SqlInviteStore } from './invite-store.js';
import { messageStoreId, SqlMessageStore } from './message-store.js';
import { PasswordStrengthPool, type PasswordStrengthOptions } from './password-strength.js';
import { DEFAULT_MIN_PASSWORD_LENGTH } from './policy.js';
import { DEFAULT_THROTTLE, loginThrottleId, RateLimitedLoginThrottle, type LimiterFactory, type ThrottleOptions } from './throttle.js';
import { DEFAULT_SESSION_TTL_MS, SqlUserStore, userStoreId } from './user-store.js';

export const databaseHandleId: ServiceIdentifier<DatabaseHandle> = Symbol.for('@enigma/auth-store/DatabaseHandle');
/** The threads judging new passwords: the app warms them while starting and closes them when done. */
export const passwordStrengthId: ServiceIdentifier<PasswordStrengthPool> = Symbol.for('@enigma/auth-store/PasswordStrengthPool');

export interface AuthStoreOptions {
  /** From `openDatabase(...)`: the app opens it (and reports errors) before composing. */
  database: DatabaseHandle;
  sessionTtlMs?: number;
  minPasswordLength?: number;
  throttle?: Partial<ThrottleOptions>;
  /** Limiter backend; memory by default (Redis for several nodes). */
  limiters?: LimiterFactory;
  /** Threads judging new passwords and how many checks may wait (`PasswordStrengthPool`). */
  passwordStrength?: Partial<PasswordStrengthOptions>;
}

/**
 * Binds the database handle, `UserStore`, `InviteStore`, `MessageStore` and `LoginThrottle`.
 * Uses the `PasswordHasher` from CryptoContainerModule when the app loaded it.
 */
export class AuthStoreContainerModule extends ContainerModule {
  public static fromOptions(settings: AuthStoreOptions): AuthStoreContainerModule {
    return new AuthStoreContainerModule((options) => {
      options.bind(databaseHandleId).toConstantValue(settings.database);
      const passwordStrength = new PasswordStrengthPool(settings.passwordStrength);
      options.bind(passwordStrengthId).toConstantValue(passwordStrength);
      options
        .bind(userStoreId)
        .toDynamicValue((context) => {
          const hasher = context.get(passwordHasherId, { optional: true }) ?? createPasswordHasher();
          return new SqlUserStore(settings.database, hasher, {
            sessionTtlMs: settings.sessionTtlMs ?? DEFAULT_SESSION_TTL_MS,
            minPasswordLength: settings.minPasswordLength ?? DEFAULT_MIN_PASSWORD_LENGTH,
            passwordStrength,
          });
        })
        .inSingletonScope();
      options.bind(inviteStoreId).toConstantValue(new SqlInviteStore(settings.database));
      options.bind(messageStoreId).toConstantValue(new SqlMessageStore(settings.database));
      options.bind(loginThrottleId).toConstantValue(new RateLimitedLoginThrottle({ ...DEFAULT_THROTTLE, ...settings.throttle }, settings.limiters));
    });
  }
}
