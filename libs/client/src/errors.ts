export type ClientErrorKind =
  | 'notConnected'
  | 'notLoggedIn'
  | 'unreachable'
  | 'certificateMismatch'
  | 'certificateRefused'
  | 'invalidInvite'
  | 'invalidKey'
  | 'sessionExpired'
  | 'malformedFrame'
  | 'messageTooLong'
  | 'closed';

const brand = Symbol.for('@enigma/client/ClientError');

/** The one error type of @enigma/client; messages never contain keys, tokens or text. */
export class ClientError extends Error {
  public override readonly name = 'ClientError';
  public readonly [brand] = true;

  public constructor(
    public readonly kind: ClientErrorKind,
    message: string,
    options?: ErrorOptions,
  ) {
    super(message, options);
  }

  /** Works across duplicated copies of this package (brand, not `instanceof`). */
  public static is(value: unknown, kind?: ClientErrorKind): value is ClientError {
    return (
      typeof value === 'object' &&
      value !== null &&
      (value as Record<symbol, unknown>)[brand] === true &&
      (kind === undefined || (value as ClientError).kind === kind)
    );
  }
}
