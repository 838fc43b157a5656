export type RelayErrorKind = 'notLoggedIn' | 'rateLimited';

const brand = Symbol.for('@enigma/relay/RelayError');

/** The one error type of @enigma/relay; messages never contain secrets. */
export class RelayError extends Error {
  public override readonly name = 'RelayError';
  public readonly [brand] = true;

  public constructor(
    public readonly kind: RelayErrorKind,
    message: string,
    options?: ErrorOptions,
  ) {
    super(message, options);
  }

  /** Works across duplicated copies of this package (brand, not `instanceof`). */
  public static is(value: unknown, kind?: RelayErrorKind): value is RelayError {
    return (
      typeof value === 'object' &&
      value !== null &&
      (value as Record<symbol, unknown>)[brand] === true &&
      (kind === undefined || (value as RelayError).kind === kind)
    );
  }
}
