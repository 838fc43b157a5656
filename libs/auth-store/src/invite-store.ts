import { randomBytes } from 'node:crypto';
import { randomToken, tokenDigest } from '@enigma/crypto';
import type { ServiceIdentifier } from 'inversify';
import type { DataSource } from 'typeorm';
import { sql, write, type DatabaseHandle, type Query } from './database.js';

/** Why a token cannot register anyone now. A revoked token is deleted, so it reads as `unknown`. */
export type InviteProblem = 'unknown' | 'used' | 'expired';

export interface InviteInfo {
  /** The short public handle (`invite list`, `invite revoke`); not the token. */
  id: string;
  usesLeft: number;
  usesTotal: number;
  createdAt: Date;
  /** Undefined: never expires. */
  expiresAt: Date | undefined;
  state: 'active' | 'used' | 'expired';
}

export interface CreatedInvite {
  /** Shown to the operator once: only its SHA-256 is stored. */
  token: string;
  invite: InviteInfo;
}

/** The operator's registration invites (`--registration invite`). Consuming a use is part of `UserStore.register`. */
export interface InviteStore {
  create(options: { uses: number; expiresInMs: number | undefined }): Promise<CreatedInvite>;
  /** Every invite not revoked, oldest first; never a token. */
  list(): Promise<InviteInfo[]>;
  /** Deletes the invite with this id, or this token; false when there is none. */
  revoke(idOrToken: string): Promise<boolean>;
  /** Why the token cannot register anyone now; undefined when it can. Consumes nothing. */
  check(token: string): Promise<InviteProblem | undefined>;
}

export const inviteStoreId: ServiceIdentifier<InviteStore> = Symbol.for('@enigma/auth-store/InviteStore');

/** Most registrations one invite may allow. */
export const MAX_INVITE_USES = 1000;
/** 128 random bits: 22 url-safe characters, beyond guessing online or offline. */
const TOKEN_BYTES = 16;
/** Longest input hashed for a lookup (the protocol allows 128 characters). */
const MAX_LOOKUP_LENGTH = 256;

interface InviteRow {
  id: string;
  created_at: number | string;
  expires_at: number | string | null;
  uses_left: number | string;
  uses_total: number | string;
}

const COLUMNS = 'id, created_at, expires_at, uses_left, uses_total';

function problemOf(row: Pick<InviteRow, 'expires_at' | 'uses_left'> | undefined, now: number): InviteProblem | undefined {
  if (row === undefined) return 'unknown';
  if (Number(row.uses_left) <= 0) return 'used';
  if (row.expires_at !== null && Number(row.expires_at) <= now) return 'expired';
  return undefined;
}

// PostgreSQL returns BIGINT as strings; times fit safely in a JS number.
function toInfo(row: InviteRow, now: number): InviteInfo {
  const problem = problemOf(row, now);
  return {
    id: row.id,
    usesLeft: Number(row.uses_left),
    usesTotal: Number(row.uses_total),
    createdAt: new Date(Number(row.created_at)),
    expiresAt: row.expires_at === null ? undefined : new Date(Number(row.expires_at)),
    state: problem === undefined ? 'active' : problem === 'used' ? 'used' : 'expired',
  };
}

const lookable = (token: unknown): token is string => typeof token === 'string' && token.length > 0 && token.length <= MAX_LOOKUP_LENGTH;

/** Why `token` cannot register anyone at `now` (undefined: it can). */
export async function inviteProblem(dataSource: DataSource, token: string, now: number): Promise<InviteProblem | undefined> {
  if (!lookable(token)) return 'unknown';
  const { records } = await sql<InviteRow>(dataSource, 'SELECT uses_left, expires_at FROM registration_invites WHERE token_hash = ?', [tokenDigest(token)]);
  return problemOf(records[0], now);
}

/**
 * Takes one use of `token`, inside the caller's transaction; false when it
 * has none left, has expired or does not exist. One conditional UPDATE: on
 * PostgreSQL a second transaction taking the last use waits for the first
 * and then finds none; on SQLite the write lock orders them.
 */
export async function consumeInvite(query: Query, token: string, now: number): Promise<boolean> {
  if (!lookable(token)) return false;
  const { records } = await query(
    'UPDATE registration_invites SET uses_left = uses_left - 1 WHERE token_hash = ? AND uses_left > 0 AND (expires_at IS NULL OR expires_at > ?) RETURNING id',
    [tokenDigest(token), now],
  );
  return records.length > 0;
}

function isUniqueViolation(error: unknown): boolean {
  const driverError = (error as { driverError?: { code?: string } }).driverError;
  const code = driverError?.code ?? (error as { code?: string }).code;
  return code === '23505' || (typeof code === 'string' && code.startsWith('SQLITE_CONSTRAINT'));
}

/** `InviteStore` on the SQL database behind a `DatabaseHandle`. `now` is injectable for tests of expiry. */
export class SqlInviteStore implements InviteStore {
  public constructor(
    private readonly database: DatabaseHandle,
    private readonly now: () => number = Date.now,
  ) {}

  public async create(options: { uses: number; expiresInMs: number | undefined }): Promise<CreatedInvite> {
    const { uses, expiresInMs } = options;
    if (!Number.isSafeInteger(uses) || uses < 1 || uses > MAX_INVITE_USES) throw new RangeError(`uses must be a whole number from 1 to ${MAX_INVITE_USES}`);
    if (expiresInMs !== undefined && !(Number.isSafeInteger(expiresInMs) && expiresInMs > 0))
      throw new RangeError('expiresInMs must be a positive whole number');
    const token = randomToken(TOKEN_BYTES);
    const createdAt = this.now();
    const expiresAt = expiresInMs === undefined ? null : createdAt + expiresInMs;
    // 32 random bits of id: a clash among an operator's invites is unlikely, and retried.
    for (let attempt = 1; ; attempt++) {
      const id = randomBytes(4).toString('hex');
      try {
        await write(
          this.database,
          `INSERT INTO registration_invites (id, token_hash, created_at, expires_at, uses_left, uses_total) VALUES (?, ?, ?, ?, ?, ?)`,
          [id, tokenDigest(token), createdAt, expiresAt, uses, uses],
        );
        return { token, invite: toInfo({ id, created_at: createdAt, expires_at: expiresAt, uses_left: uses, uses_total: uses }, createdAt) };
      } catch (error) {
        if (!isUniqueViolation(error) || attempt >= 3) throw error;
      }
    }
  }

  public async list(): Promise<InviteInfo[]> {
    const { records } = await sql<InviteRow>(this.database.current(), `SELECT ${COLUMNS} FROM registration_invites ORDER BY created_at, id`);
    const now = this.now();
    return records.map((row) => toInfo(row, now));
  }

  public async revoke(idOrToken: string): Promise<boolean> {
    if (!lookable(idOrToken)) return false;
    const deleted = await write(this.database, 'DELETE FROM registration_invites WHERE id = ? OR token_hash = ? RETURNING id', [
      idOrToken,
      tokenDigest(idOrToken),
    ]);
    return deleted !== undefined;
  }

  public check(token: string): Promise<InviteProblem | undefined> {
    return inviteProblem(this.database.current(), token, this.now());
  }
}
