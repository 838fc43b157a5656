export type CryptoErrorKind = 'invalidKey' | 'invalidToken' | 'expired';

const cryptoErrorBrand = Symbol.for('@enigma/crypto/CryptoError');

/**
 * The one error type of @enigma/crypto. Messages never contain key material,
 * tokens or plaintext.
 */
export class CryptoError extends Error {
  public override readonly name = 'CryptoError';
  public readonly [cryptoErrorBrand] = true;

  public constructor(
    public readonly kind: CryptoErrorKind,
    message: string,
    options?: ErrorOptions,
  ) {
    super(message, options);
  }

  /** Works across duplicated copies of this package (brand, not `instanceof`). */
  public static is(value: unknown, kind?: CryptoErrorKind): value is CryptoError {
    return (
      typeof value === 'object' &&
      value !== null &&
      (value as Record<symbol, unknown>)[cryptoErrorBrand] === true &&
      (kind === undefined || (value as CryptoError).kind === kind)
    );
  }
}
