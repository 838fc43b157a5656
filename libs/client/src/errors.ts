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
  /** The account has stored its quota of messages on the server: the message was not sent. */
  | 'quotaExceeded'
  /** The server asked to wait (`retryAfterMs` on the error). */
  | 'rateLimited'
  | 'closed';

const brand = Symbol.for('@enigma/client/ClientError');

/** The one error type of @enigma/client; messages never contain keys, tokens or text. */
export class ClientError extends Error {
  public override readonly name = 'ClientError';
  public readonly [brand] = true;

  public constructor(
    public readonly kind: ClientErrorKind,
    message: string,
    options?: ErrorOptions & { retryAfterMs?: number },
  ) {
    super(message, options);
    if (options?.retryAfterMs !== undefined) this.retryAfterMs = options.retryAfterMs;
  }

  /** For `rateLimited`: how long the server asked to wait, in ms. */
  public readonly retryAfterMs?: number;

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
