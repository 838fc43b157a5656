// Property-based fuzzing of every client-to-server event, through real
// sockets, against the real server program (node dist/main.js).
//
// Several sockets (some logged in, some not) each send seeded batches of
// generated events: wrong types, null, huge and deeply nested values,
// __proto__/constructor keys, lone surrogates, Buffers, missing and extra
// arguments, no acknowledgement, unknown event names. Each batch may end with
// one transport-level attack (an oversized packet, a raw malformed socket.io
// packet) after which the socket may be cut off; it then reconnects.
//
// The events are the protocol's event table (`clientEvents`): a new event is
// fuzzed with hostile payloads and held to the table's replies without a
// line here; the five of v1 also get payload generators and a precise oracle.
//
// Checked: every acknowledged event gets exactly the reply types its payload
// allows (an oracle written from the protocol, not from the validators, and
// never wider than the table's replies),
// replies never quote the input nor report an internal error, unknown events
// and events without an ack get nothing, a logged-in observer only ever
// receives well-formed frames, and at the end the server still serves a real
// login and message, logged no internal error and its heap (after a forced
// GC) is back within 10% of where it started.
//
// ENIGMA_FUZZ_SEED replays a run; ENIGMA_FUZZ_EVENTS sets its size.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { Fernet, generateKey } from '@enigma/crypto';
import { clientEventNames, clientEvents, encodeFrame, parseFrame, type ClientEventName } from '@enigma/protocol';
import fc from 'fast-check';
import { createHash } from 'node:crypto';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { io, type Socket } from 'socket.io-client';
import { runProcess, serverEntry, type Program } from '../../../../tools/testing/processes.mjs';

const SEED = Number(process.env['ENIGMA_FUZZ_SEED'] ?? Math.floor(Math.random() * 2 ** 31));
const TOTAL_EVENTS = Number(process.env['ENIGMA_FUZZ_EVENTS'] ?? 100_000);
const WORKERS = 8;
const BATCH = 50;
const preload = fileURLToPath(new URL('../testing/gc-on-signal.mjs', import.meta.url));
const password = 'fuzzing-passphrase-Qx7-long-enough';
const chatKey = generateKey();
const fernet = new Fernet(chatKey);

const CLIENT_EVENTS: readonly ClientEventName[] = clientEventNames;
type ClientEvent = ClientEventName;
/** Replies the suite accepts for any event besides its table entry's: under load any request may be rate limited (every v1 entry lists it already). */
const SUITE_ALLOWED: readonly string[] = ['RATE_LIMITED'];
/** Names socket.io-client refuses to emit (the raw packets below send them anyway). */
const CLIENT_RESERVED = new Set(['connect', 'connect_error', 'disconnect', 'disconnecting', 'newListener', 'removeListener']);
const INTERNAL_ERROR = 'the server could not handle this request; try again';

// ---------------------------------------------------------------- generators

const loneSurrogate = fc.integer({ min: 0xd800, max: 0xdfff }).map((c) => String.fromCharCode(c));
const nastyChar = fc.oneof(
  fc.constantFrom('\u0000', '\u001f', '"', '\\', '\u2028', '\u2029', '\ufeff', '\ufffd', '\u202e', '%', '$', '{', '\n'),
  loneSurrogate,
  fc.string({ unit: 'binary', minLength: 1, maxLength: 1 }),
);
const nastyString = fc.oneof(
  { weight: 4, arbitrary: fc.string({ maxLength: 24 }) },
  { weight: 3, arbitrary: fc.string({ unit: 'binary', maxLength: 24 }) },
  { weight: 3, arbitrary: fc.string({ unit: nastyChar, maxLength: 24 }) },
  {
    weight: 3,
    arbitrary: fc.constantFrom(
      '',
      ' ',
      'alice',
      'ALICE',
      'fuzz0',
      'null',
      '__proto__',
      'constructor',
      'toString',
      '0',
      'NaN',
      '[]',
      "' OR 1=1 --",
      '../../etc/passwd',
      '%s%n',
      'Привет',
      '🔥'.repeat(5),
    ),
  },
  { weight: 1, arbitrary: fc.integer({ min: 100, max: 1500 }).map((n) => 'A'.repeat(n)) },
  { weight: 1, arbitrary: fc.integer({ min: 1, max: 3000 }).map((n) => '\ud800'.repeat(n)) },
);
const nastyNumber = fc.oneof(
  fc.integer(),
  fc.double(),
  fc.constantFrom(0, -0, -1, 1, 1.5, 499, 500, 501, 2 ** 31, 2 ** 53, 2 ** 53 + 2, Number.MAX_SAFE_INTEGER, 1e308, -1e308),
);
const buffer = fc.uint8Array({ maxLength: 48 }).map((bytes) => Buffer.from(bytes));
const hostileKey = fc.oneof(
  fc.constantFrom(
    '__proto__',
    'constructor',
    'prototype',
    'toString',
    'valueOf',
    'hasOwnProperty',
    'then',
    'username',
    'password',
    'invite',
    'session',
    'afterSeq',
    'beforeSeq',
    'limit',
    'type',
  ),
  fc.string({ maxLength: 8 }),
);

/** An object with exactly these own keys (including `__proto__` as a real key, as JSON.parse makes it). */
function objectFrom(entries: Array<[string, unknown]>): Record<string, unknown> {
  const object: Record<string, unknown> = {};
  for (const [key, value] of entries) Object.defineProperty(object, key, { value, enumerable: true, writable: true, configurable: true });
  return object;
}

function nested(depth: number, asObject: boolean): unknown {
  let value: unknown = 'core';
  for (let i = 0; i < depth; i++) value = asObject ? { a: value } : [value];
  return value;
}

const { hostile } = fc.letrec<{ hostile: unknown }>((tie) => ({
  hostile: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    fc.constant(null),
    fc.boolean(),
    nastyNumber,
    nastyString,
    buffer,
    fc.array(tie('hostile'), { maxLength: 5 }),
    fc.array(fc.tuple(hostileKey, tie('hostile')), { maxLength: 5 }).map(objectFrom),
    // Rarely (they are slow to make): deep, wide and long values.
    fc.oneof(
      { weight: 20, arbitrary: fc.constant(0) },
      { weight: 1, arbitrary: fc.tuple(fc.integer({ min: 50, max: 1500 }), fc.boolean()).map(([depth, asObject]) => nested(depth, asObject)) },
      { weight: 1, arbitrary: fc.integer({ min: 100, max: 2000 }).map((n) => Object.fromEntries(Array.from({ length: n }, (_, i) => [`k${i}`, i]))) },
      { weight: 1, arbitrary: fc.integer({ min: 100, max: 5000 }).map((n) => Array.from({ length: n }, (_, i) => i)) },
    ),
  ),
})) as { hostile: fc.Arbitrary<unknown> };

/** Session tokens of the fuzz users: some resumes are real. */
const knownTokens: string[] = [];
const sessionLike = fc.oneof(
  nastyString,
  fc.base64String({ minLength: 40, maxLength: 48 }),
  fc.nat({ max: 1000 }).map((i) => knownTokens[i % Math.max(1, knownTokens.length)] ?? 'none'),
);

const validFrame = fc.string({ unit: 'binary', maxLength: 120 }).map((text) => encodeFrame(fernet.encrypt(text)));
const frameLike = fc.oneof(
  { weight: 3, arbitrary: validFrame },
  {
    weight: 2,
    arbitrary: fc
      .tuple(validFrame, fc.nat(), fc.constantFrom('A', 'a', '0', '-', '_', '=', '+', '/', '!', ' '))
      .map(([frame, at, c]) => frame.slice(0, at % frame.length) + c + frame.slice((at % frame.length) + 1)),
  },
  { weight: 1, arbitrary: validFrame.map((frame) => frame.slice(0, -4)) },
  { weight: 1, arbitrary: validFrame.map((frame) => '0'.repeat(32) + frame.slice(32)) },
  { weight: 1, arbitrary: fc.base64String({ maxLength: 200 }).map((token) => createHash('md5').update(token).digest('hex') + token) },
  { weight: 1, arbitrary: fc.integer({ min: 20_000, max: 60_000 }).map((n) => 'f'.repeat(32) + 'g'.repeat(n)) },
  { weight: 2, arbitrary: nastyString },
);

const credentials = fc.oneof(
  fc.record({ username: nastyString, password: nastyString }),
  fc.record({ username: fc.oneof(nastyString, fc.constant('fuzz0')), password: fc.string({ minLength: 1, maxLength: 40 }) }),
  fc
    .tuple(
      nastyString,
      nastyString,
      hostileKey,
      fc.anything({ maxDepth: 1 }).filter((v) => v !== undefined),
    )
    .map(([u, p, k, v]) =>
      objectFrom([
        ['username', u],
        ['password', p],
        [k, v],
      ]),
    ),
  fc.record({ username: fc.anything({ maxDepth: 1 }), password: fc.anything({ maxDepth: 1 }) }, { requiredKeys: [] }),
);
const seqLike = fc.oneof(nastyNumber, fc.nat({ max: 100 }), nastyString);
/** Payload generators tailored to an event; an event without one gets `hostile` and `fc.anything()`. */
const tailored: Partial<Record<ClientEvent, fc.Arbitrary<unknown>>> = {
  LOGIN_ATTEMPTING: fc.oneof({ weight: 3, arbitrary: credentials }, { weight: 1, arbitrary: hostile }),
  REGISTER_CLIENT_: fc.oneof({ weight: 3, arbitrary: credentials }, { weight: 1, arbitrary: hostile }),
  RESUME_SESSION: fc.oneof(
    { weight: 3, arbitrary: fc.record({ session: sessionLike, afterSeq: seqLike }, { requiredKeys: [] }) },
    {
      weight: 1,
      arbitrary: fc.tuple(sessionLike, seqLike, hostileKey).map(([s, a, k]) =>
        objectFrom([
          ['session', s],
          ['afterSeq', a],
          [k, 1],
        ]),
      ),
    },
    { weight: 1, arbitrary: hostile },
  ),
  CLIENT_TO_SERVER: fc.oneof({ weight: 3, arbitrary: frameLike }, { weight: 1, arbitrary: hostile }),
  HISTORY: fc.oneof(
    { weight: 3, arbitrary: fc.record({ beforeSeq: seqLike, afterSeq: seqLike, limit: seqLike }, { requiredKeys: [] }) },
    { weight: 1, arbitrary: hostile },
  ),
};
const payloadFor = (event: ClientEvent): fc.Arbitrary<unknown> => tailored[event] ?? fc.oneof(hostile, fc.anything({ maxDepth: 2 }));

type FuzzEvent = { kind: 'known'; event: ClientEvent; args: unknown[]; ack: boolean } | { kind: 'unknown'; event: string | number; args: unknown[] };

const knownEvent: fc.Arbitrary<FuzzEvent> = fc.constantFrom(...CLIENT_EVENTS).chain((event) =>
  fc.record({
    kind: fc.constant('known' as const),
    event: fc.constant(event),
    args: fc.oneof(
      { weight: 8, arbitrary: payloadFor(event).map((p): unknown[] => [p]) },
      { weight: 1, arbitrary: fc.constant<unknown[]>([]) },
      { weight: 1, arbitrary: fc.array(hostile, { minLength: 2, maxLength: 3 }) },
    ),
    ack: fc.oneof({ weight: 9, arbitrary: fc.constant(true) }, { weight: 1, arbitrary: fc.constant(false) }),
  }),
);
const unknownEvent: fc.Arbitrary<FuzzEvent> = fc.record({
  kind: fc.constant('unknown' as const),
  event: fc
    .oneof(
      fc.string({ minLength: 1, maxLength: 20 }),
      fc.constantFrom(
        'login_attempting',
        'LOGIN_ATTEMPTINg',
        'SERVER_TO_CLIENT',
        'CLIENT_CONNECTED',
        'SERVER_NOTICE',
        '__proto__',
        'constructor',
        'toString',
        'hasOwnProperty',
        'error',
        'message',
        'ping',
      ),
    )
    .filter((name) => !(CLIENT_EVENTS as readonly string[]).includes(name) && !CLIENT_RESERVED.has(name)),
  args: fc.array(hostile, { maxLength: 2 }),
});

/** The end of a batch: something that may (or must) get the connection closed. */
type Closer =
  | { kind: 'oversize'; event: ClientEvent; payload: string | Buffer }
  | { kind: 'raw'; data: string | Buffer; then?: string | Buffer }
  | { kind: 'fakeAttachment'; event: ClientEvent };

const rawPackets = fc.oneof(
  fc.constantFrom(
    '2',
    '2[',
    '2]',
    '2{}',
    '2[]',
    '2[null]',
    '2[{}]',
    '2[true]',
    '2["disconnect"]',
    '2["connect"]',
    '2["newListener","x"]',
    '2[42,"x"]',
    '2["error","x"]',
    '2["__proto__",{}]',
    '2-1["HISTORY",{}]',
    '21e309["HISTORY",{}]',
    '299999999999999999999["HISTORY",{}]',
    '2/nope,["HISTORY",{}]',
    '1',
    '0',
    '0{"token":1}',
    '0/admin,',
    '0/nope,{}',
    '3[]',
    '399["x"]',
    '4"boom"',
    '4{}',
    '6',
    '7',
    '9[]',
    'garbage',
    '',
    '51-["HISTORY",{"_placeholder":true,"num":0}]',
    '51-["HISTORY",{"_placeholder":true,"num":7}]',
    '5x-["HISTORY"]',
    '59999999999-["HISTORY"]',
    '52-["CLIENT_TO_SERVER",{"_placeholder":true,"num":0},{"_placeholder":true,"num":1}]',
  ),
  fc.string({ maxLength: 40 }).map((s) => `2${s}`),
  fc.string({ unit: 'binary', maxLength: 40 }),
  fc.integer({ min: 100, max: 25_000 }).map((d) => `2["HISTORY",${'['.repeat(d)}${']'.repeat(d)}]`),
  fc.integer({ min: 100, max: 25_000 }).map((d) => `2["LOGIN_ATTEMPTING",${'{"a":'.repeat(d)}1${'}'.repeat(d)}]`),
);
/** The kind of raw packet, for the figures. */
function rawLabel(data: string | Buffer): string {
  if (Buffer.isBuffer(data)) return 'raw: binary message outside a binary packet';
  const kinds: Record<string, string> = {
    '0': 'raw: second CONNECT',
    '1': 'raw: DISCONNECT',
    '2': 'raw: malformed EVENT',
    '3': 'raw: ACK nobody asked for',
    '4': 'raw: CONNECT_ERROR from a client',
    '5': 'raw: BINARY_EVENT with bad attachments',
  };
  return kinds[data.charAt(0)] ?? 'raw: not a socket.io packet';
}

const closer: fc.Arbitrary<Closer | undefined> = fc.option(
  fc.oneof(
    fc.record({
      kind: fc.constant('oversize' as const),
      event: fc.constantFrom(...CLIENT_EVENTS),
      payload: fc.tuple(fc.integer({ min: 80_000, max: 400_000 }), fc.boolean()).map(([n, binary]) => (binary ? Buffer.alloc(n, 7) : 'x'.repeat(n))),
    }),
    fc.record({ kind: fc.constant('raw' as const), data: rawPackets }),
    fc.record({
      kind: fc.constant('raw' as const),
      data: fc.constantFrom(
        '51-["HISTORY",{"_placeholder":true,"num":0}]',
        '52-["HISTORY",{"_placeholder":true,"num":1}]',
        '51-["HISTORY",{"__proto__":{"_placeholder":true,"num":0}}]',
        '51-["HISTORY",{"__proto__":{}}]',
      ),
      then: fc.oneof(buffer, fc.constant('2["HISTORY",{}]')),
    }),
    fc.record({ kind: fc.constant('raw' as const), data: buffer }),
    fc.record({ kind: fc.constant('fakeAttachment' as const), event: fc.constantFrom(...CLIENT_EVENTS) }),
  ),
  { freq: 3, nil: undefined },
);

const wireCache = new WeakMap<unknown[], { parts: number[]; wire: unknown[] }>();

/** What the socket.io client will put on the wire: each part (text packet, binary attachment) in bytes, and what the server decodes. */
function wireParts(event: string | number, args: unknown[]): { parts: number[]; wire: unknown[] } {
  let cached = wireCache.get(args);
  if (cached === undefined) wireCache.set(args, (cached = encode(event, args)));
  return cached;
}

function encode(event: string | number, args: unknown[]): { parts: number[]; wire: unknown[] } {
  if (!hasBuffer(args)) {
    const text = JSON.stringify([event, ...args]);
    return { parts: [Buffer.byteLength(text) + 24], wire: (JSON.parse(text) as unknown[]).slice(1) };
  }
  // socket.io-client copies a packet with attachments field by field
  // (`copy[key] = value`): a `__proto__` field becomes the copy's prototype
  // and is not sent at all. Do the same, to know what goes on the wire.
  const buffers: Buffer[] = [];
  const deconstruct = (value: unknown): unknown => {
    if (Buffer.isBuffer(value)) {
      buffers.push(value);
      return { _placeholder: true, num: buffers.length - 1 };
    }
    if (Array.isArray(value)) return value.map(deconstruct);
    if (value !== null && typeof value === 'object') {
      const copy: Record<string, unknown> = {};
      for (const key of Object.keys(value)) copy[key] = deconstruct((value as Record<string, unknown>)[key]);
      return copy;
    }
    return value;
  };
  const text = JSON.stringify([event, ...(deconstruct(args) as unknown[])]);
  const restore = (value: unknown): unknown => {
    if (Array.isArray(value)) return value.map(restore);
    if (value !== null && typeof value === 'object') {
      if ((value as { _placeholder?: unknown })._placeholder === true) return buffers[(value as { num: number }).num];
      return objectFrom(Object.entries(value).map(([k, v]) => [k, restore(v)]));
    }
    return value;
  };
  return { parts: [Buffer.byteLength(text) + 24, ...buffers.map((b) => b.length)], wire: (restore(JSON.parse(text)) as unknown[]).slice(1) };
}

/** True for values socket.io's binary reconstruction would take for an attachment of its own. */
function hasPlaceholderObject(value: unknown, depth = 0): boolean {
  if (depth > 2000 || value === null || typeof value !== 'object') return false;
  if ((value as { _placeholder?: unknown })._placeholder === true) return true;
  return Object.values(value).some((v) => hasPlaceholderObject(v, depth + 1));
}
function hasBuffer(value: unknown, depth = 0): boolean {
  if (Buffer.isBuffer(value)) return true;
  if (depth > 2000 || value === null || typeof value !== 'object') return false;
  return Object.values(value).some((v) => hasBuffer(v, depth + 1));
}

/** A known event the server must answer (or silently drop): small enough, and no fake attachment. */
const isSafe = (e: FuzzEvent): boolean => {
  const { parts, wire } = wireParts(e.event, e.args);
  return Math.max(...parts) <= 60_000 && !(hasBuffer(wire) && hasPlaceholderObject(wire));
};
const batchArbitrary = fc.record({
  events: fc.array(fc.oneof({ weight: 9, arbitrary: knownEvent }, { weight: 1, arbitrary: unknownEvent }).filter(isSafe), {
    minLength: BATCH - 1,
    maxLength: BATCH - 1,
  }),
  closer,
});

// ------------------------------------------------------------------- oracle

const isPlainObject = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === 'object' && !Array.isArray(v) && !Buffer.isBuffer(v);
const hasExactly = (o: Record<string, unknown>, required: string[], optional: string[] = []): boolean =>
  required.every((k) => Object.hasOwn(o, k)) && Object.keys(o).every((k) => required.includes(k) || optional.includes(k));
const text = (v: unknown, min: number, max: number, wellFormed: boolean): boolean =>
  typeof v === 'string' && v.length >= min && v.length <= max && (!wellFormed || v.isWellFormed());
const seq = (v: unknown, min = 0, max = Number.MAX_SAFE_INTEGER): boolean => typeof v === 'number' && Number.isSafeInteger(v) && v >= min && v <= max;
const md5Matches = (frame: string): boolean => /^[0-9a-f]{32}/.test(frame) && createHash('md5').update(frame.slice(32)).digest('hex') === frame.slice(0, 32);

type LoginState = true | false | 'maybe';
const LOGGED_IN_SEND = ['ACCEPTED', 'RATE_LIMITED', 'MALFORMED_FRAME', 'QUOTA_EXCEEDED'];

/**
 * The reply types the protocol allows for this (wire) payload: the precise
 * oracle below where there is one (from docs/protocol.md), otherwise any of
 * the table's replies. Never wider than the table (plus `SUITE_ALLOWED`): an
 * oracle that allows more is a mistake here or in the table.
 */
function allowedReplies(event: ClientEvent, wire: unknown[], loggedIn: LoginState): string[] {
  const spec = clientEvents[event];
  const table = new Set<string>([...spec.replies, ...SUITE_ALLOWED]);
  const allowed = oracle(event, wire, loggedIn) ?? [...table];
  const wider = allowed.filter((type) => !table.has(type));
  if (wider.length > 0) throw new Error(`the oracle allows ${wider.join('|')} for ${event}, which the event table does not list`);
  return allowed;
}

/** Precise allowed replies for the events it knows; undefined for the others (the table's replies apply). */
function oracle(event: ClientEvent, wire: unknown[], loggedIn: LoginState): string[] | undefined {
  const malformed = clientEvents[event].malformed;
  if (wire.length !== 1) return [malformed];
  const p = wire[0];
  const either = (out: string[], inside: string[]): string[] => (loggedIn === true ? inside : loggedIn === false ? out : [...out, ...inside]);
  switch (event) {
    case 'LOGIN_ATTEMPTING':
    case 'REGISTER_CLIENT_': {
      // A registration may carry an invite (ignored by this open server).
      const invite = event === 'REGISTER_CLIENT_' ? ['invite'] : [];
      const ok =
        isPlainObject(p) &&
        hasExactly(p, ['username', 'password'], invite) &&
        text(p['username'], 1, 128, true) &&
        text(p['password'], 1, 1024, true) &&
        (p['invite'] === undefined || text(p['invite'], 1, 128, true));
      if (!ok) return ['MALFORMED_REQUEST'];
      return event === 'LOGIN_ATTEMPTING'
        ? ['LOGIN_SUCCESSFUL', 'INVALID_USERNAME', 'INVALID_PASSWORD', 'RATE_LIMITED', 'BANNED']
        : ['LOGIN_SUCCESSFUL', 'USER_IN_DATABASE', 'INVALID_USERNAME', 'INVALID_PASSWORD', 'RATE_LIMITED'];
    }
    case 'RESUME_SESSION': {
      const ok = isPlainObject(p) && hasExactly(p, ['session', 'afterSeq']) && text(p['session'], 1, 256, false) && seq(p['afterSeq']);
      return ok ? ['LOGIN_SUCCESSFUL', 'SESSION_EXPIRED', 'BANNED', 'RATE_LIMITED'] : ['MALFORMED_REQUEST'];
    }
    case 'CLIENT_TO_SERVER':
      // A string whose id is not its md5 can never be accepted.
      return either(['NOT_LOGGED_IN'], typeof p === 'string' && md5Matches(p) ? LOGGED_IN_SEND : ['MALFORMED_FRAME']);
    case 'HISTORY': {
      const ok =
        isPlainObject(p) &&
        hasExactly(p, [], ['beforeSeq', 'afterSeq', 'limit']) &&
        (p['beforeSeq'] === undefined || seq(p['beforeSeq'])) &&
        (p['afterSeq'] === undefined || seq(p['afterSeq'])) &&
        (p['limit'] === undefined || seq(p['limit'], 1, 500));
      // Backlog requests pipelined past the per-account gate are RATE_LIMITED.
      return either(['NOT_LOGGED_IN'], ok ? ['HISTORY', 'RATE_LIMITED'] : ['MALFORMED_REQUEST']);
    }
    default:
      // An event of the table this suite has no oracle for: a stranger is
      // stopped at the session gate; anything else may be any listed reply.
      return clientEvents[event as ClientEvent].session && loggedIn === false ? ['NOT_LOGGED_IN'] : undefined;
  }
}

/** Could this event log the socket in (so later events in the batch may see it logged in)? */
function mayAdmit(event: FuzzEvent): boolean {
  if (event.kind !== 'known' || !(clientEvents[event.event].replies as readonly string[]).includes('LOGIN_SUCCESSFUL')) return false;
  return allowedReplies(event.event, wireParts(event.event, event.args).wire, false).includes('LOGIN_SUCCESSFUL');
}

/** Long strings of the input must not come back in an error reply. */
function quotedInput(reply: unknown, wire: unknown[]): string | undefined {
  const json = JSON.stringify(reply);
  const strings: string[] = [];
  const walk = (v: unknown, depth: number): void => {
    if (typeof v === 'string' && v.length >= 12 && !/^(.)\1*$/s.test(v)) strings.push(v);
    else if (depth < 50 && v !== null && typeof v === 'object' && !Buffer.isBuffer(v)) for (const x of Object.values(v)) walk(x, depth + 1);
  };
  walk(wire, 0);
  return strings.find((s) => json.includes(JSON.stringify(s).slice(1, -1)));
}

// ------------------------------------------------------------------ harness

interface Figures {
  events: number;
  acked: number;
  unacked: number;
  unknown: number;
  closers: number;
  /** Reconnects whose resume the server throttled (the batch then ran logged out). */
  resumesThrottled: number;
  disconnects: Record<string, number>;
  replies: Record<string, number>;
}

const describeEvent = (e: FuzzEvent | Closer): string => {
  const shown = JSON.stringify(e, (_k, v: unknown) => (typeof v === 'string' && v.length > 120 ? `${v.slice(0, 60)}…(${v.length} chars)` : v));
  return shown.length > 600 ? `${shown.slice(0, 600)}…` : shown;
};

class FuzzSocket {
  socket!: Socket;
  loggedIn: LoginState = false;
  readonly stray: string[] = [];

  public constructor(
    private readonly url: string,
    private readonly ca: string,
    readonly address: string,
    private readonly account: { token: string } | undefined,
    private readonly figures: Figures,
  ) {}

  public async connect(): Promise<void> {
    this.socket = io(this.url, {
      transports: ['websocket'],
      ca: this.ca,
      checkServerIdentity: () => undefined,
      reconnection: false,
      forceNew: true,
      localAddress: this.address,
    } as never);
    await new Promise<void>((resolve, reject) => {
      this.socket.once('connect', resolve);
      this.socket.once('connect_error', reject);
    });
    // Nothing unasked but the chat's broadcasts (no notices, no errors, no echo of a fuzzed event name).
    this.socket.onAny((event: string) => {
      if (!['SERVER_TO_CLIENT', 'CLIENT_CONNECTED', 'CLIENT_LEFT_CHAT'].includes(event)) this.stray.push(event);
    });
    this.loggedIn = false;
    if (this.account !== undefined) {
      const reply = (await this.socket.timeout(30_000).emitWithAck('RESUME_SESSION', { session: this.account.token, afterSeq: 0 })) as { type: string };
      // The fuzz reconnects far more often than any client, and resumes are
      // throttled per user: this batch then runs logged out (a state the fuzz covers too).
      if (reply.type === 'RATE_LIMITED') {
        this.figures.resumesThrottled++;
        return;
      }
      if (reply.type !== 'LOGIN_SUCCESSFUL') throw new Error(`resume after reconnect: ${reply.type}`);
      this.loggedIn = true;
    }
  }

  /** One batch: the events pipelined, every reply checked, then the closer and a sentinel request. */
  public async run(batch: { events: FuzzEvent[]; closer: Closer | undefined }): Promise<void> {
    if (this.socket.disconnected) await this.connect();
    const socket = this.socket;
    let state: LoginState = this.loggedIn;
    const unknownAcks: string[] = [];
    const pending: Array<Promise<void>> = [];
    for (const e of batch.events) {
      this.figures.events++;
      if (e.kind === 'unknown') {
        this.figures.unknown++;
        socket.emit(String(e.event), ...e.args, () => unknownAcks.push(String(e.event)));
        continue;
      }
      const { wire } = wireParts(e.event, e.args);
      const allowed = allowedReplies(e.event, wire, state);
      if (state !== true && mayAdmit(e)) state = 'maybe';
      if (!e.ack) {
        this.figures.unacked++;
        socket.emit(e.event, ...e.args);
        continue;
      }
      this.figures.acked++;
      pending.push(
        (socket.emitWithAck(e.event, ...e.args) as Promise<unknown>).then((reply) => {
          const type = isPlainObject(reply) && typeof reply['type'] === 'string' ? reply['type'] : `(no type: ${JSON.stringify(reply)?.slice(0, 80)})`;
          this.figures.replies[type] = (this.figures.replies[type] ?? 0) + 1;
          if (!allowed.includes(type)) throw new Error(`${e.event} answered ${type}, allowed ${allowed.join('|')}: ${describeEvent(e)}`);
          if (isPlainObject(reply) && reply['reason'] === INTERNAL_ERROR) throw new Error(`internal error on ${describeEvent(e)}`);
          if (type !== 'LOGIN_SUCCESSFUL' && type !== 'HISTORY' && type !== 'ACCEPTED') {
            const quoted = quotedInput(reply, wire);
            if (quoted !== undefined) throw new Error(`${type} quotes the input (${quoted.slice(0, 40)}): ${describeEvent(e)}`);
          }
          if (type === 'LOGIN_SUCCESSFUL') this.loggedIn = true;
          if (type === 'ACCEPTED') acceptedIds.add((reply as { id: string }).id);
        }),
      );
    }
    const results = await Promise.allSettled(pending);
    const failure = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
    if (failure !== undefined) {
      const reason = failure.reason as Error;
      throw new Error(socket.disconnected ? `the server dropped a connection that sent nothing oversized or malformed: ${reason.message}` : reason.message);
    }
    if (unknownAcks.length > 0) throw new Error(`unknown events were acknowledged: ${unknownAcks.join(', ')}`);

    if (batch.closer !== undefined) {
      this.figures.closers++;
      this.figures.events++;
      this.send(batch.closer);
    }
    // The sentinel: answered (the server survived the closer) or refused by a disconnect.
    let survived: boolean;
    try {
      const reply = (await socket.timeout(30_000).emitWithAck('HISTORY', { limit: 1 })) as { type: string };
      if (reply.type !== 'HISTORY' && reply.type !== 'NOT_LOGGED_IN' && reply.type !== 'RATE_LIMITED') throw new Error(`sentinel answered ${reply.type}`);
      this.loggedIn = reply.type !== 'NOT_LOGGED_IN';
      survived = true;
    } catch (error) {
      if (!socket.disconnected)
        throw new Error(`the server neither answered nor closed after ${describeEvent(batch.closer ?? batch.events.at(-1)!)}: ${String(error)}`);
      survived = false;
    }
    if (batch.closer === undefined) {
      if (!survived) throw new Error('the server dropped a connection after a batch of well-formed packets');
      return;
    }
    // Over maxHttpBufferSize: the server must cut the connection, never process the packet.
    if (batch.closer.kind === 'oversize' && survived) throw new Error(`an oversized packet did not cost the connection: ${describeEvent(batch.closer)}`);
    if (!survived) {
      const label = batch.closer.kind === 'raw' ? rawLabel(batch.closer.data) : batch.closer.kind;
      this.figures.disconnects[label] = (this.figures.disconnects[label] ?? 0) + 1;
    }
  }

  private send(closer: Closer): void {
    const socket = this.socket;
    switch (closer.kind) {
      case 'oversize':
        socket.emit(closer.event, closer.payload, () => oversizeAnswered.push(closer.event));
        return;
      case 'fakeAttachment':
        // A Buffer plus an object that claims to be attachment #5: socket.io's decoder must refuse it.
        socket.emit(closer.event, { data: Buffer.from([1, 2, 3]), fake: { _placeholder: true, num: 5 } }, () => undefined);
        return;
      case 'raw':
        socket.io.engine.write(closer.data as string);
        if (closer.then !== undefined) socket.io.engine.write(closer.then as string);
        return;
    }
  }
}

const acceptedIds = new Set<string>();
const oversizeAnswered: string[] = [];

describe('fuzzing every client event through real sockets', () => {
  let root: string;
  let program: Program;
  let url: string;
  let ca: string;
  let observer: Socket;
  const observed: Array<Record<string, unknown>> = [];
  const fuzzSockets: FuzzSocket[] = [];
  const figures: Figures = { events: 0, acked: 0, unacked: 0, unknown: 0, closers: 0, resumesThrottled: 0, disconnects: {}, replies: {} };
  let gcCount = 0;

  const heap = async (): Promise<number> => {
    const n = ++gcCount;
    program.child.kill('SIGUSR2');
    const [, bytes] = await program.waitFor(new RegExp(`^gc ${n}: heap (\\d+) B$`));
    return Number(bytes);
  };
  const ask = (socket: Socket, event: string, payload: unknown): Promise<{ type: string; session?: string; id?: string }> =>
    socket.timeout(30_000).emitWithAck(event, payload) as Promise<{ type: string; session?: string }>;
  const plainClient = async (address: string): Promise<Socket> => {
    const socket = io(url, {
      transports: ['websocket'],
      ca,
      checkServerIdentity: () => undefined,
      reconnection: false,
      forceNew: true,
      localAddress: address,
    } as never);
    await new Promise<void>((resolve, reject) => {
      socket.once('connect', () => resolve());
      socket.once('connect_error', reject);
    });
    return socket;
  };

  beforeAll(async () => {
    root = await mkdtemp(path.join(tmpdir(), 'enigma-fuzz-'));
    const logFile = path.join(root, 'server.log');
    // Logins are not timed out here (the limits suite tests that): a fuzz socket idles while others work.
    program = runProcess(process.execPath, [
      '--expose-gc',
      '--import',
      preload,
      serverEntry,
      '--port',
      '0',
      '--host',
      '127.0.0.1',
      '--data-dir',
      path.join(root, 'data'),
      '--login-timeout',
      '3600000',
      '--log-level',
      'warn',
      '--log-file',
      logFile,
    ]);
    [, url] = await program.waitFor(/listening on (https:\/\/127\.0\.0\.1:\d+)/);
    ca = await readFile(path.join(root, 'data', 'tls-cert.pem'), 'utf8');

    observer = await plainClient('127.0.2.1');
    expect(await ask(observer, 'REGISTER_CLIENT_', { username: 'observer', password })).toMatchObject({ type: 'LOGIN_SUCCESSFUL' });
    observer.on('SERVER_TO_CLIENT', (message: Record<string, unknown>) => observed.push(message));
    const last = await plainClient('127.0.3.1');
    expect(await ask(last, 'REGISTER_CLIENT_', { username: 'survivor', password })).toMatchObject({ type: 'LOGIN_SUCCESSFUL' });
    last.disconnect();

    // Half the sockets are logged in (as fuzz0, fuzz1, ...), half never are unless the fuzz logs them in.
    for (let i = 0; i < WORKERS; i++) {
      const address = `127.0.1.${i + 1}`;
      let account: { token: string } | undefined;
      if (i % 2 === 0) {
        const setup = await plainClient(address);
        const reply = await ask(setup, 'REGISTER_CLIENT_', { username: `fuzz${i / 2}`, password });
        expect(reply.type).toBe('LOGIN_SUCCESSFUL');
        account = { token: reply.session! };
        knownTokens.push(account.token);
        setup.disconnect();
      }
      const fuzzSocket = new FuzzSocket(url, ca, address, account, figures);
      await fuzzSocket.connect();
      fuzzSockets.push(fuzzSocket);
    }
  }, 60_000);

  afterAll(async () => {
    for (const f of fuzzSockets) f.socket?.disconnect();
    observer?.disconnect();
    await program?.stop();
    await rm(root, { recursive: true, force: true });
  });

  const reconnectAll = async (): Promise<void> => {
    for (const f of fuzzSockets) if (f.socket.disconnected) await f.connect();
  };
  const fuzz = async (events: number, seed: number): Promise<void> => {
    const runsPerSocket = Math.ceil(events / (BATCH - 1) / WORKERS);
    await Promise.all(
      fuzzSockets.map((f, i) =>
        fc.assert(
          fc.asyncProperty(batchArbitrary, (batch) => f.run(batch)),
          {
            seed: seed + i,
            numRuns: runsPerSocket,
            endOnFailure: true,
            // The default report prints the whole batch (megabytes of it): name the replay and the failing event instead.
            reporter: (details) => {
              if (!details.failed) return;
              const message = details.errorInstance instanceof Error ? details.errorInstance.message : String(details.errorInstance);
              throw new Error(
                `fuzz socket ${i} failed (replay: ENIGMA_FUZZ_SEED=${SEED}, fast-check seed ${details.seed}, path ${details.counterexamplePath}): ${message.slice(0, 2000)}`,
              );
            },
          },
        ),
      ),
    );
  };

  it(
    `should answer or ignore ${TOTAL_EVENTS} hostile events (seed ${SEED}), never relay a malformed frame, and keep serving`,
    async () => {
      console.log(`fuzz seed ${SEED} (replay: ENIGMA_FUZZ_SEED=${SEED}), ${TOTAL_EVENTS} events on ${WORKERS} sockets`);
      // Warm up (code paths compiled, caches filled), then measure where the heap stands.
      await fuzz(2_000, SEED + 1000);
      await reconnectAll();
      const heapBefore = await heap();
      Object.assign(figures, { events: 0, acked: 0, unacked: 0, unknown: 0, closers: 0, resumesThrottled: 0, disconnects: {}, replies: {} });
      const started = Date.now();

      await fuzz(TOTAL_EVENTS, SEED);
      const seconds = (Date.now() - started) / 1000;

      // Still serving: a real login and message, which the observer receives last.
      const survivor = await plainClient('127.0.3.1');
      expect(await ask(survivor, 'LOGIN_ATTEMPTING', { username: 'survivor', password })).toMatchObject({ type: 'LOGIN_SUCCESSFUL' });
      const marker = encodeFrame(fernet.encrypt('still here'));
      const arrived = new Promise<void>((resolve) => observer.on('SERVER_TO_CLIENT', (m: { frame: string }) => m.frame === marker && resolve()));
      expect(await ask(survivor, 'CLIENT_TO_SERVER', marker)).toMatchObject({ type: 'ACCEPTED' });
      await arrived;
      survivor.disconnect();

      // Every frame the observer got is well formed, attributed to a real user, once, in seq order.
      // The console answers in order: once `stats` answers, every `users` line is in.
      program.command('users');
      program.command('stats');
      await program.waitFor(/^stats: /);
      const users = new Set(program.lines.map((l) => /^\s+\d+\s+(.+)$/.exec(l)?.[1]).filter((u): u is string => u !== undefined));
      const bad = observed.filter((m) => {
        try {
          const { id } = parseFrame(m['frame']);
          return Object.keys(m).sort().join() !== 'frame,from,id,seq,ts' || m['id'] !== id || !users.has(m['from'] as string);
        } catch {
          return true;
        }
      });
      expect(bad.slice(0, 3)).toEqual([]);
      const seqs = observed.map((m) => m['seq'] as number);
      expect(seqs).toEqual([...seqs].sort((a, b) => a - b));
      expect(new Set(observed.map((m) => m['id'])).size).toBe(observed.length);
      const seen = new Set(observed.map((m) => m['id']));
      expect([...acceptedIds].filter((id) => !seen.has(id))).toEqual([]);

      // Nothing unasked reached the fuzz sockets, no oversized packet was answered.
      expect(fuzzSockets.flatMap((f) => f.stray).slice(0, 5)).toEqual([]);
      expect(oversizeAnswered).toEqual([]);

      // Memory: back within 10% once the garbage is collected.
      await reconnectAll();
      const heapAfter = await heap();
      const log = await readFile(path.join(root, 'server.log'), 'utf8');
      const summary = {
        seed: SEED,
        events: figures.events,
        seconds,
        acked: figures.acked,
        unacked: figures.unacked,
        unknown: figures.unknown,
        closers: figures.closers,
        disconnects: figures.disconnects,
        replies: figures.replies,
        relayed: observed.length,
        heapBefore,
        heapAfter,
      };
      console.log(`fuzz figures: ${JSON.stringify(summary, null, 1)}`);

      expect(figures.events).toBeGreaterThanOrEqual(TOTAL_EVENTS);
      expect(program.child.exitCode).toBeNull();
      expect(program.stderr).toBe('');
      expect(
        log
          .split('\n')
          .filter((line) => /"level":(50|60)/.test(line))
          .slice(0, 3),
      ).toEqual([]);
      expect(heapAfter).toBeLessThanOrEqual(heapBefore * 1.1);
    },
    15 * 60_000,
  );
});
