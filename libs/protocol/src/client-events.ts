// The one table of client-to-server events (issue 17). Each entry is the
// event's payload schema, the replies it may be answered with, the reply a
// malformed payload gets and whether it needs a logged-in session. The
// types (`ClientToServerEvents`, `PayloadOf`, `ReplyOf`), the validation
// (`validateClientPayload`, `dispatchClientEvent`), the server's
// registration, the SDK's request typing and the fuzz suite all read it: a
// new event is one entry here plus its handler.
import { z } from 'zod';
import type { ProtocolLimits } from './limits.js';
import type { Credentials, HistoryRequest, RegisterRequest, ReplyMessage, ResumeRequest } from './messages.js';

/** What one client event is, on the wire and to the server. */
export interface ClientEventSpec {
  /** The payload's schema under the server's limits (validation never echoes the input). */
  readonly payload: (limits: ProtocolLimits) => z.ZodType;
  /** Every reply `type` the event may be answered with (`RATE_LIMITED` included where it can happen). */
  readonly replies: readonly ReplyMessage['type'][];
  /** The reply to a payload that fails the schema, or to a missing or extra payload, with a `reason`. */
  readonly malformed: 'MALFORMED_REQUEST' | 'MALFORMED_FRAME';
  /** True when only a logged-in socket may send it: others get `NOT_LOGGED_IN`, before the payload is looked at. */
  readonly session: boolean;
}

// Lone surrogates cannot be encoded as UTF-8: two different inputs would hash
// and store the same, so they are refused at the boundary.
const wellFormedText = (max: number, field: string): z.ZodType<string> =>
  z
    .string()
    .max(max, `${field} must be at most ${max} characters`)
    .refine((s) => s.isWellFormed(), `${field} must be valid Unicode`);

const sequenceNumber = z.int().min(0).max(Number.MAX_SAFE_INTEGER);

const credentialFields = (limits: ProtocolLimits) => ({
  username: wellFormedText(limits.maxUsernameLength, 'username').pipe(z.string().min(1, 'username is required')),
  password: wellFormedText(limits.maxPasswordLength, 'password').pipe(z.string().min(1, 'password is required')),
});

/** Protocol v1's client-to-server events. Keep docs/protocol.md's table in step (a spec compares them). */
export const clientEvents = {
  LOGIN_ATTEMPTING: {
    payload: (limits: ProtocolLimits) => z.strictObject(credentialFields(limits)),
    replies: ['LOGIN_SUCCESSFUL', 'INVALID_USERNAME', 'INVALID_PASSWORD', 'RATE_LIMITED', 'BANNED', 'MALFORMED_REQUEST'],
    malformed: 'MALFORMED_REQUEST',
    session: false,
  },
  REGISTER_CLIENT_: {
    // `invite` is optional: a v1 client's payload is exactly the credentials.
    payload: (limits: ProtocolLimits) =>
      z.strictObject({
        ...credentialFields(limits),
        invite: wellFormedText(limits.maxInviteLength, 'invite').pipe(z.string().min(1, 'invite must not be empty')).optional(),
      }),
    replies: [
      'LOGIN_SUCCESSFUL',
      'USER_IN_DATABASE',
      'INVALID_USERNAME',
      'INVALID_PASSWORD',
      'REGISTRATION_CLOSED',
      'INVITE_INVALID',
      'RATE_LIMITED',
      'MALFORMED_REQUEST',
    ],
    malformed: 'MALFORMED_REQUEST',
    session: false,
  },
  RESUME_SESSION: {
    payload: (limits: ProtocolLimits) => z.strictObject({ session: z.string().min(1).max(limits.maxSessionLength), afterSeq: sequenceNumber }),
    replies: ['LOGIN_SUCCESSFUL', 'SESSION_EXPIRED', 'BANNED', 'RATE_LIMITED', 'MALFORMED_REQUEST'],
    malformed: 'MALFORMED_REQUEST',
    session: false,
  },
  CLIENT_TO_SERVER: {
    // The frame's shape is checked by `parseFrame`; here only that it is a string.
    payload: () => z.string(),
    replies: ['ACCEPTED', 'MALFORMED_FRAME', 'RATE_LIMITED', 'NOT_LOGGED_IN', 'QUOTA_EXCEEDED'],
    malformed: 'MALFORMED_FRAME',
    session: true,
  },
  HISTORY: {
    payload: (limits: ProtocolLimits) =>
      z.strictObject({
        beforeSeq: sequenceNumber.optional(),
        afterSeq: sequenceNumber.optional(),
        limit: z.int().min(1).max(limits.maxHistoryPage).optional(),
      }),
    replies: ['HISTORY', 'NOT_LOGGED_IN', 'RATE_LIMITED', 'MALFORMED_REQUEST'],
    malformed: 'MALFORMED_REQUEST',
    session: true,
  },
} as const satisfies Record<string, ClientEventSpec>;

type Table = typeof clientEvents;

/** The name of a client-to-server event. */
export type ClientEventName = keyof Table;

/** The payload an event carries (after validation: what its handler gets; before it: what a client sends). */
export type PayloadOf<E extends ClientEventName> = z.output<ReturnType<Table[E]['payload']>>;

/** The union of the replies an event may be answered with. */
export type ReplyOf<E extends ClientEventName> = Extract<ReplyMessage, { type: Table[E]['replies'][number] }>;

/** The table's event names, in its order. */
export const clientEventNames = Object.keys(clientEvents) as ClientEventName[];

/** A server's handlers, one per event: each gets a payload the table's schema accepted. */
export type ClientEventHandlers<Context> = { [E in ClientEventName]: (context: Context, payload: PayloadOf<E>) => Promise<ReplyOf<E>> };

type Same<A, B> = [A] extends [B] ? ([B] extends [A] ? true : false) : false;
type Assert<T extends true> = T;
/**
 * Fails the build when a schema's type drifts from v1's named payload
 * interface (which the docs and other clients follow): a schema edit that
 * changes what is on the wire has to change the interface too.
 */
export type PayloadTypesMatch = [
  Assert<Same<PayloadOf<'LOGIN_ATTEMPTING'>, Credentials>>,
  Assert<Same<PayloadOf<'REGISTER_CLIENT_'>, RegisterRequest>>,
  Assert<Same<PayloadOf<'RESUME_SESSION'>, ResumeRequest>>,
  Assert<Same<PayloadOf<'CLIENT_TO_SERVER'>, string>>,
  Assert<Same<PayloadOf<'HISTORY'>, HistoryRequest>>,
];
