/**
 * `backupExists`: the backup's destination is taken (and overwriting was not
 * asked for); `backupFailed`: the copy could not be made or put in place;
 * `notSupported`: not on this database (a backup on PostgreSQL);
 * `passwordCheckFailed`: the password-strength worker failed.
 */
export type AuthStoreErrorKind = 'databaseUnavailable' | 'migrationFailed' | 'backupExists' | 'backupFailed' | 'notSupported' | 'passwordCheckFailed';

const brand = Symbol.for('@enigma/auth-store/AuthStoreError');

/** The one error type of @enigma/auth-store; messages never contain secrets. */
export class AuthStoreError extends Error {
  public override readonly name = 'AuthStoreError';
  public readonly [brand] = true;

  public constructor(
    public readonly kind: AuthStoreErrorKind,
    message: string,
    options?: ErrorOptions,
  ) {
    super(message, options);
  }

  /** Works across duplicated copies of this package (brand, not `instanceof`). */
  public static is(value: unknown, kind?: AuthStoreErrorKind): value is AuthStoreError {
    return (
      typeof value === 'object' &&
      value !== null &&
      (value as Record<symbol, unknown>)[brand] === true &&
      (kind === undefined || (value as AuthStoreError).kind === kind)
    );
  }
}
