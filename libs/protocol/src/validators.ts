import { z } from 'zod';
import { ClientEvent, type ClientEventName } from './events.js';
import { DEFAULT_LIMITS, type ProtocolLimits } from './limits.js';
import type { Credentials, HistoryRequest, RegisterRequest, ResumeRequest } from './messages.js';

/** The payload type each client-to-server event carries. */
export interface ClientPayloads {
  LOGIN_ATTEMPTING: Credentials;
  REGISTER_CLIENT_: RegisterRequest;
  RESUME_SESSION: ResumeRequest;
  CLIENT_TO_SERVER: string;
  HISTORY: HistoryRequest;
}

export type Validation<T> = { ok: true; value: T } | { ok: false; reason: string };

/** A client event's arguments, split into its payload and acknowledgement. */
export interface ClientEventArguments<E extends ClientEventName> {
  /** The acknowledgement callback, when the client sent one (always last). */
  ack: ((reply: unknown) => void) | undefined;
  payload: Validation<ClientPayloads[E]>;
}

// Lone surrogates cannot be encoded as UTF-8: two different inputs would hash
// and store the same, so they are refused at the boundary.
const wellFormedText = (max: number, field: string): z.ZodType<string> =>
  z
    .string()
    .max(max, `${field} must be at most ${max} characters`)
    .refine((s) => s.isWellFormed(), `${field} must be valid Unicode`);

const sequenceNumber = z.int().min(0).max(Number.MAX_SAFE_INTEGER);

function schemasFor(limits: ProtocolLimits): { [E in ClientEventName]: z.ZodType<ClientPayloads[E]> } {
  const fields = {
    username: wellFormedText(limits.maxUsernameLength, 'username').pipe(z.string().min(1, 'username is required')),
    password: wellFormedText(limits.maxPasswordLength, 'password').pipe(z.string().min(1, 'password is required')),
  };
  return {
    LOGIN_ATTEMPTING: z.strictObject(fields),
    // `invite` is optional: a v1 client's payload is exactly the credentials.
    REGISTER_CLIENT_: z.strictObject({ ...fields, invite: wellFormedText(limits.maxInviteLength, 'invite').pipe(z.string().min(1, 'invite must not be empty')).optional() }),
    RESUME_SESSION: z.strictObject({
      session: z.string().min(1).max(limits.maxSessionLength),
      afterSeq: sequenceNumber,
    }),
    // The frame's shape is checked by `parseFrame`; here only that it is a string.
    CLIENT_TO_SERVER: z.string(),
    HISTORY: z.strictObject({
      beforeSeq: sequenceNumber.optional(),
      afterSeq: sequenceNumber.optional(),
      limit: z.int().min(1).max(limits.maxHistoryPage).optional(),
    }),
  };
}

const defaultSchemas = schemasFor(DEFAULT_LIMITS);
const knownEvents = new Set<string>(Object.values(ClientEvent));

/** True for the five event names of protocol v1. */
export function isClientEventName(name: unknown): name is ClientEventName {
  return typeof name === 'string' && knownEvents.has(name);
}

/** A reason that names the field and the rule but never echoes the input. */
function describeIssue(issue: z.core.$ZodIssue): string {
  if (issue.code === 'unrecognized_keys') return 'the payload has fields that protocol v1 does not define';
  const field = typeof issue.path[0] === 'string' ? issue.path[0] : undefined;
  if (issue.code === 'invalid_type') {
    return field === undefined ? `the payload must be ${issue.expected === 'object' ? 'an object' : `a ${issue.expected}`}` : `${field} must be a ${issue.expected}`;
  }
  if (issue.code === 'custom' || issue.message.startsWith(field ?? '\0')) return issue.message;
  return field === undefined ? `the payload is invalid (${issue.code})` : `${field} is invalid: ${issue.message}`;
}

/** Validates one payload of a client-to-server event. Never throws. */
export function validateClientPayload<E extends ClientEventName>(
  event: E,
  payload: unknown,
  limits?: ProtocolLimits,
): Validation<ClientPayloads[E]> {
  const schema = (limits === undefined ? defaultSchemas : schemasFor(limits))[event] as z.ZodType<ClientPayloads[E]>;
  const result = schema.safeParse(payload);
  if (result.success) return { ok: true, value: result.data };
  return { ok: false, reason: describeIssue(result.error.issues[0]!) };
}

/**
 * Splits the raw arguments of a client event. The acknowledgement is the last
 * argument when it is a function (socket.io puts it there); the event must
 * carry exactly one payload besides it. Missing payloads (python-socketio's
 * `call(event, None)` sends none), extra arguments and invalid payloads come
 * back as `{ ok: false, reason }` so the server can answer `MALFORMED_REQUEST`.
 */
export function readClientEventArguments<E extends ClientEventName>(
  event: E,
  args: readonly unknown[],
  limits?: ProtocolLimits,
): ClientEventArguments<E> {
  const last = args.length > 0 ? args[args.length - 1] : undefined;
  const ack = typeof last === 'function' ? (last as (reply: unknown) => void) : undefined;
  const payloadArgs = ack === undefined ? args.length : args.length - 1;
  if (payloadArgs !== 1) {
    const reason = payloadArgs === 0 ? 'the event carries no payload' : 'the event carries more than one payload';
    return { ack, payload: { ok: false, reason } };
  }
  return { ack, payload: validateClientPayload(event, args[0], limits) };
}
