/** What went wrong at the protocol boundary; a closed set so callers can `switch`. */
export type ProtocolErrorKind = 'malformedFrame' | 'malformedRequest';

const protocolErrorBrand = Symbol.for('@enigma/protocol/ProtocolError');

/**
 * The one error type of @enigma/protocol. `reason` is a human-readable sentence
 * that is safe to send back to the peer: it never quotes the offending input.
 */
export class ProtocolError extends Error {
  public override readonly name = 'ProtocolError';
  public readonly [protocolErrorBrand] = true;

  public constructor(
    public readonly kind: ProtocolErrorKind,
    public readonly reason: string,
    options?: ErrorOptions,
  ) {
    super(reason, options);
  }

  /** Works across duplicated copies of this package (brand, not `instanceof`). */
  public static is(value: unknown, kind?: ProtocolErrorKind): value is ProtocolError {
    return (
      typeof value === 'object' &&
      value !== null &&
      (value as Record<symbol, unknown>)[protocolErrorBrand] === true &&
      (kind === undefined || (value as ProtocolError).kind === kind)
    );
  }
}
