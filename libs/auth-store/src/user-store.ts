import { constantTimeEqual, isPasswordHash, randomToken, tokenDigest, type PasswordHasher } from '@enigma/crypto';
import type { ServiceIdentifier } from 'inversify';
import { sql, transaction, write, type DatabaseHandle } from './database.js';
import { consumeInvite, inviteProblem, type InviteProblem } from './invite-store.js';
import { nameSkeleton } from './names.js';
import { PasswordStrengthPool } from './password-strength.js';
import { normalizeUsername, usernameKey } from './policy.js';

export interface PublicUser {
  id: number;
  username: string;
}

export type RegisterResult =
  | { type: 'registered'; user: PublicUser }
  | { type: 'usernameTaken' }
  /** The name's TR39 skeleton is an existing user's: it would pass for theirs. */
  | { type: 'usernameConfusable' }
  | { type: 'invalidUsername'; reason: string }
  | { type: 'weakPassword'; reason: string }
  | { type: 'inviteInvalid'; reason: InviteProblem }
  /** Too many password checks are waiting already (`PasswordStrengthPool`); nothing was done. */
  | { type: 'busy' };

/**
 * A user as the operator names one: by name (exact spelling first, then
 * case-insensitively) or by id (`#12` on the console), which is unambiguous
 * even when two names look alike.
 */
export type UserRef = string | { id: number };

export interface RegisterOptions {
  /**
   * An operator's invite token: checked first, and one of its uses taken in
   * the same transaction as the insert. Without it nothing is asked (the
   * caller enforces the registration policy).
   */
  invite?: string;
}

export type VerifyResult = { type: 'ok'; user: PublicUser; rehashed: boolean } | { type: 'unknownUser' } | { type: 'wrongPassword' } | { type: 'banned' };

export interface SessionGrant {
  token: string;
  sessionId: string;
  expiresAt: Date;
}

export type ResumeResult = { type: 'ok'; user: PublicUser; sessionId: string } | { type: 'expired' } | { type: 'banned' };

/** Accounts, bans and resume sessions. Results are unions, never thrown strings. */
export interface UserStore {
  register(username: string, password: string, options?: RegisterOptions): Promise<RegisterResult>;
  verify(username: string, password: string): Promise<VerifyResult>;
  /** The user a name or id designates, if any. */
  lookup(user: UserRef): Promise<PublicUser | undefined>;
  /** Users whose names look like `username` (same TR39 skeleton, case-insensitively), that user included. */
  lookalikes(username: string): Promise<PublicUser[]>;
  /** False when there is no such user. Also revokes that user's sessions. */
  ban(user: UserRef): Promise<boolean>;
  /** Revokes every resume session of a user (they must log in with their password); false when there is no such user. */
  revokeSessions(user: UserRef): Promise<boolean>;
  unban(user: UserRef): Promise<boolean>;
  isBanned(user: UserRef): Promise<boolean>;
  list(): Promise<PublicUser[]>;
  count(): Promise<number>;
  issueSession(user: PublicUser): Promise<SessionGrant>;
  resumeSession(token: string): Promise<ResumeResult>;
  revokeSession(token: string): Promise<void>;
}

export const userStoreId: ServiceIdentifier<UserStore> = Symbol.for('@enigma/auth-store/UserStore');

export interface UserStoreOptions {
  /** How long a resume session lives without use (sliding). Default 30 days. */
  sessionTtlMs: number;
  minPasswordLength: number;
  /** The clock for invite expiry (tests inject one). Default `Date.now`. */
  now?: () => number;
  /** Judges new passwords off the event loop; one of 1 thread and 16 waiting checks by default. */
  passwordStrength?: PasswordStrengthPool;
}

export const DEFAULT_SESSION_TTL_MS = 30 * 24 * 3600 * 1000;

interface UserRow {
  id: number;
  username: string;
  password: string;
}

function isUniqueViolation(error: unknown): boolean {
  const driverError = (error as { driverError?: { code?: string } }).driverError;
  const code = driverError?.code ?? (error as { code?: string }).code;
  return code === '23505' || (typeof code === 'string' && code.startsWith('SQLITE_CONSTRAINT'));
}

/** The invite's last use went to another registration meanwhile (or it expired, or was revoked). */
class InviteLost extends Error {}

/** A look-alike name was registered meanwhile. */
class LooksLikeAnother extends Error {}

/** `UserStore` on the SQL database (SQLite or PostgreSQL) behind a `DatabaseHandle`. */
export class SqlUserStore implements UserStore {
  /** SQLite: registration transactions, one after another (see `serialized`). */
  #sqliteLane: Promise<unknown> = Promise.resolve();
  readonly #strength: PasswordStrengthPool;

  public constructor(
    private readonly database: DatabaseHandle,
    private readonly hasher: PasswordHasher,
    private readonly options: UserStoreOptions,
  ) {
    this.#strength = options.passwordStrength ?? new PasswordStrengthPool();
  }

  public async register(username: string, password: string, options: RegisterOptions = {}): Promise<RegisterResult> {
    const { invite } = options;
    const now = this.options.now ?? Date.now;
    // The invite first: without a usable one nothing else is revealed (not
    // even whether a name is taken) and no password is hashed.
    if (invite !== undefined) {
      const problem = await inviteProblem(this.database.current(), invite, now());
      if (problem !== undefined) return { type: 'inviteInvalid', reason: problem };
    }
    const name = normalizeUsername(username);
    if (!name.ok) return { type: 'invalidUsername', reason: name.reason };
    const strength = await this.#strength.check(password, { minLength: this.options.minPasswordLength, username: name.username });
    if (strength === 'busy') return { type: 'busy' };
    if (!strength.ok) return { type: 'weakPassword', reason: strength.reason };
    if ((await this.find(name.username)) !== undefined) return { type: 'usernameTaken' };
    if (await this.looksLikeAnother(this.database.current(), name.skeleton)) return { type: 'usernameConfusable' };

    const hash = await this.hasher.hash(password);
    try {
      const id = await this.serialized(() =>
        transaction(this.database.current(), async (query) => {
          // The invite's use is taken in the insert's transaction: a registration
          // that fails below gives it back, and of two racing for its last use
          // exactly one gets it.
          if (invite !== undefined && !(await consumeInvite(query, invite, now()))) throw new InviteLost();
          const inserted = await query<{ id: number | string }>('INSERT INTO users (username, password) VALUES (?, ?) RETURNING id', [name.username, hash]);
          const userId = Number(inserted.records[0]!.id);
          // Again inside the transaction, after the first write: on SQLite
          // (one registration at a time, write lock held) this is exact; a
          // read before it would make the lock upgrade fail ("database is
          // locked") whenever the writer thread committed in between. On
          // PostgreSQL two look-alikes registered in the same instant could
          // both pass (the console's `names` shows them). The same name in
          // another case is left to the unique key (usernameTaken).
          const lookalike = await query('SELECT 1 AS hit FROM user_names WHERE skeleton = ? AND name_key <> ? LIMIT 1', [name.skeleton, name.key]);
          if (lookalike.records.length > 0) throw new LooksLikeAnother();
          await query('INSERT INTO user_names (name_key, user_id, skeleton) VALUES (?, ?, ?)', [name.key, userId, name.skeleton]);
          return userId;
        }),
      );
      return { type: 'registered', user: { id, username: name.username } };
    } catch (error) {
      if (error instanceof LooksLikeAnother) return { type: 'usernameConfusable' };
      if (error instanceof InviteLost && invite !== undefined)
        return { type: 'inviteInvalid', reason: (await inviteProblem(this.database.current(), invite, now())) ?? 'used' };
      // Two registrations of one name at once: the unique key decides.
      if (isUniqueViolation(error)) return { type: 'usernameTaken' };
      throw error;
    }
  }

  /**
   * TypeORM gives a SQLite database one shared connection: two transactions
   * started on it at once would nest (a SAVEPOINT inside the other's
   * transaction) and one's rollback could undo the other's insert. They run
   * one after another; PostgreSQL gives each its own pooled connection.
   */
  private serialized<T>(work: () => Promise<T>): Promise<T> {
    if (this.database.dialect === 'postgres') return work();
    const result = this.#sqliteLane.then(work);
    this.#sqliteLane = result.catch(() => undefined);
    return result;
  }

  public async verify(username: string, password: string): Promise<VerifyResult> {
    const row = await this.find(username);
    if (row === undefined) return { type: 'unknownUser' };

    let ok: boolean;
    let rehash: boolean;
    if (isPasswordHash(row.password)) {
      ({ ok, needsRehash: rehash } = await this.hasher.verify(password, row.password));
    } else {
      // A seed row: plaintext. Compare in constant time, then hash it in this same login.
      ok = constantTimeEqual(password, row.password);
      rehash = ok;
    }
    if (!ok) return { type: 'wrongPassword' };
    if (await this.isBannedId(row.id)) return { type: 'banned' };
    if (rehash) {
      const hash = await this.hasher.hash(password);
      // Only this row, only this column, and only if nobody changed it meanwhile.
      await write(this.database, 'UPDATE users SET password = ? WHERE id = ? AND password = ?', [hash, row.id, row.password]);
    }
    return { type: 'ok', user: { id: Number(row.id), username: row.username }, rehashed: rehash };
  }

  public async lookup(user: UserRef): Promise<PublicUser | undefined> {
    const row = await this.resolve(user);
    return row === undefined ? undefined : { id: Number(row.id), username: row.username };
  }

  public async lookalikes(username: string): Promise<PublicUser[]> {
    if (typeof username !== 'string' || !username.isWellFormed() || username.length > 256) return [];
    const { records } = await sql<UserRow>(
      this.database.current(),
      'SELECT u.id, u.username FROM user_names n JOIN users u ON u.id = n.user_id WHERE n.skeleton = ? ORDER BY u.id',
      [nameSkeleton(username)],
    );
    return records.map((r) => ({ id: Number(r.id), username: r.username }));
  }

  public async ban(user: UserRef): Promise<boolean> {
    const row = await this.resolve(user);
    if (row === undefined) return false;
    await write(this.database, 'INSERT INTO bans (user_id, banned_at) VALUES (?, ?) ON CONFLICT DO NOTHING', [row.id, Date.now()]);
    await write(this.database, 'DELETE FROM sessions WHERE user_id = ?', [row.id]);
    return true;
  }

  public async revokeSessions(user: UserRef): Promise<boolean> {
    const row = await this.resolve(user);
    if (row === undefined) return false;
    await write(this.database, 'DELETE FROM sessions WHERE user_id = ?', [row.id]);
    return true;
  }

  public async unban(user: UserRef): Promise<boolean> {
    const row = await this.resolve(user);
    if (row === undefined) return false;
    await write(this.database, 'DELETE FROM bans WHERE user_id = ?', [row.id]);
    return true;
  }

  public async isBanned(user: UserRef): Promise<boolean> {
    const row = await this.resolve(user);
    return row !== undefined && (await this.isBannedId(row.id));
  }

  public async list(): Promise<PublicUser[]> {
    const { records } = await sql<UserRow>(this.database.current(), 'SELECT id, username FROM users ORDER BY id');
    return records.map((r) => ({ id: Number(r.id), username: r.username }));
  }

  public async count(): Promise<number> {
    const { records } = await sql<{ n: number }>(this.database.current(), 'SELECT COUNT(*) AS n FROM users');
    return Number(records[0]?.n ?? 0);
  }

  public async issueSession(user: PublicUser): Promise<SessionGrant> {
    const token = randomToken(32);
    const sessionId = randomToken(12);
    const expiresAt = Date.now() + this.options.sessionTtlMs;
    await write(this.database, 'INSERT INTO sessions (id, token_hash, user_id, expires_at) VALUES (?, ?, ?, ?)', [
      sessionId,
      tokenDigest(token),
      user.id,
      expiresAt,
    ]);
    return { token, sessionId, expiresAt: new Date(expiresAt) };
  }

  public async resumeSession(token: string): Promise<ResumeResult> {
    if (typeof token !== 'string' || token.length === 0 || token.length > 256) return { type: 'expired' };
    const db = this.database.current();
    const { records } = await sql<{ id: string; user_id: number; expires_at: number; username: string }>(
      db,
      'SELECT s.id, s.user_id, s.expires_at, u.username FROM sessions s JOIN users u ON u.id = s.user_id WHERE s.token_hash = ?',
      [tokenDigest(token)],
    );
    const session = records[0];
    const now = Date.now();
    if (session === undefined) return { type: 'expired' };
    if (Number(session.expires_at) <= now) {
      await write(this.database, 'DELETE FROM sessions WHERE id = ?', [session.id]);
      return { type: 'expired' };
    }
    if (await this.isBannedId(Number(session.user_id))) return { type: 'banned' };
    // Sliding expiry, renewed at most once per refresh interval (a tenth of the
    // lifetime, at most a day): a reconnect storm then mostly reads (each
    // write is an fsync, if off the event loop).
    const refreshEveryMs = Math.min(24 * 3600_000, this.options.sessionTtlMs / 10);
    if (Number(session.expires_at) < now + this.options.sessionTtlMs - refreshEveryMs) {
      await write(this.database, 'UPDATE sessions SET expires_at = ? WHERE id = ?', [now + this.options.sessionTtlMs, session.id]);
    }
    return { type: 'ok', user: { id: Number(session.user_id), username: session.username }, sessionId: session.id };
  }

  public async revokeSession(token: string): Promise<void> {
    if (typeof token !== 'string') return;
    await write(this.database, 'DELETE FROM sessions WHERE token_hash = ?', [tokenDigest(token)]);
  }

  private async resolve(user: UserRef): Promise<UserRow | undefined> {
    if (typeof user === 'string') return this.find(user);
    if (!Number.isSafeInteger(user.id) || user.id < 1) return undefined;
    const { records } = await sql<UserRow>(this.database.current(), 'SELECT id, username, password FROM users WHERE id = ?', [user.id]);
    return records[0];
  }

  private async looksLikeAnother(db: ReturnType<DatabaseHandle['current']>, skeleton: string): Promise<boolean> {
    const { records } = await sql(db, 'SELECT 1 AS hit FROM user_names WHERE skeleton = ? LIMIT 1', [skeleton]);
    return records.length > 0;
  }

  /** Exact (NFC) name first, then the case-insensitive key. */
  private async find(username: string): Promise<UserRow | undefined> {
    if (typeof username !== 'string' || !username.isWellFormed() || username.length > 256) return undefined;
    const db = this.database.current();
    const exact = await sql<UserRow>(db, 'SELECT id, username, password FROM users WHERE username = ? ORDER BY id LIMIT 1', [username.normalize('NFC')]);
    if (exact.records[0] !== undefined) return exact.records[0];
    const folded = await sql<UserRow>(db, 'SELECT u.id, u.username, u.password FROM user_names n JOIN users u ON u.id = n.user_id WHERE n.name_key = ?', [
      usernameKey(username),
    ]);
    return folded.records[0];
  }

  private async isBannedId(userId: number): Promise<boolean> {
    const { records } = await sql(this.database.current(), 'SELECT 1 AS banned FROM bans WHERE user_id = ?', [userId]);
    return records.length > 0;
  }
}
