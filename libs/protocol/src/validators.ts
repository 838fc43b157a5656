import type { z } from 'zod';
import { clientEvents, type ClientEventHandlers, type ClientEventName, type PayloadOf, type ReplyOf } from './client-events.js';
import { DEFAULT_LIMITS, type ProtocolLimits } from './limits.js';

/** The payload type each client-to-server event carries (from the event table). */
export type ClientPayloads = { [E in ClientEventName]: PayloadOf<E> };

export type Validation<T> = { ok: true; value: T } | { ok: false; reason: string };

/** A client event's arguments, split into its payload and acknowledgement. */
export interface ClientEventArguments<E extends ClientEventName> {
  /** The acknowledgement callback, when the client sent one (always last). */
  ack: ((reply: unknown) => void) | undefined;
  payload: Validation<ClientPayloads[E]>;
}

type Schemas = { [E in ClientEventName]: z.ZodType<PayloadOf<E>> };

function schemasFor(limits: ProtocolLimits): Schemas {
  const schemas: Partial<Record<ClientEventName, z.ZodType>> = {};
  for (const [event, spec] of Object.entries(clientEvents)) schemas[event as ClientEventName] = spec.payload(limits);
  return schemas as Schemas;
}

const defaultSchemas = schemasFor(DEFAULT_LIMITS);

/** True for the names in the event table (the five of protocol v1). */
export function isClientEventName(name: unknown): name is ClientEventName {
  return typeof name === 'string' && Object.hasOwn(clientEvents, name);
}

/** A reason that names the field and the rule but never echoes the input. */
function describeIssue(issue: z.core.$ZodIssue): string {
  if (issue.code === 'unrecognized_keys') return 'the payload has fields that protocol v1 does not define';
  const field = typeof issue.path[0] === 'string' ? issue.path[0] : undefined;
  if (issue.code === 'invalid_type') {
    return field === undefined
      ? `the payload must be ${issue.expected === 'object' ? 'an object' : `a ${issue.expected}`}`
      : `${field} must be a ${issue.expected}`;
  }
  if (issue.code === 'custom' || issue.message.startsWith(field ?? '\0')) return issue.message;
  return field === undefined ? `the payload is invalid (${issue.code})` : `${field} is invalid: ${issue.message}`;
}

/** Validates one payload of a client-to-server event against the table's schema. Never throws. */
export function validateClientPayload<E extends ClientEventName>(event: E, payload: unknown, limits?: ProtocolLimits): Validation<ClientPayloads[E]> {
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
export function readClientEventArguments<E extends ClientEventName>(event: E, args: readonly unknown[], limits?: ProtocolLimits): ClientEventArguments<E> {
  const last = args.length > 0 ? args[args.length - 1] : undefined;
  const ack = typeof last === 'function' ? (last as (reply: unknown) => void) : undefined;
  const payloadArgs = ack === undefined ? args.length : args.length - 1;
  if (payloadArgs !== 1) {
    const reason = payloadArgs === 0 ? 'the event carries no payload' : 'the event carries more than one payload';
    return { ack, payload: { ok: false, reason } };
  }
  return { ack, payload: validateClientPayload(event, args[0], limits) };
}

/** Answers one client event: the session gate and payload validation, then the handler. */
export type ClientEventDispatcher<Context> = <E extends ClientEventName>(event: E, context: Context, payload: unknown) => Promise<ReplyOf<E>>;

/**
 * The one place a client event's payload is validated. In the table's order
 * of checks: an event that needs a session is answered `NOT_LOGGED_IN` when
 * `loggedIn(context)` is false, before its payload is looked at (a stranger
 * learns nothing about what the payload should be); a payload the schema
 * refuses gets the event's `malformed` reply with a reason; anything else
 * goes to the event's handler, typed. The handler's errors are the caller's.
 */
export function dispatchClientEvent<Context>(handlers: ClientEventHandlers<Context>, loggedIn: (context: Context) => boolean): ClientEventDispatcher<Context> {
  return async <E extends ClientEventName>(event: E, context: Context, payload: unknown): Promise<ReplyOf<E>> => {
    const spec = clientEvents[event] as (typeof clientEvents)[ClientEventName];
    // Both replies are in every such event's `replies` (the table's spec checks it); TypeScript cannot see that through `E`.
    if (spec.session && !loggedIn(context)) return { type: 'NOT_LOGGED_IN' } as ReplyOf<E>;
    const request = validateClientPayload(event, payload);
    if (!request.ok) return { type: spec.malformed, reason: request.reason } as ReplyOf<E>;
    return (handlers[event] as (context: Context, payload: PayloadOf<E>) => Promise<ReplyOf<E>>)(context, request.value);
  };
}
