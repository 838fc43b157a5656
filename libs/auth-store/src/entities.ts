import { Column, Entity, Index, PrimaryColumn, PrimaryGeneratedColumn } from 'typeorm';

/**
 * The seed's table, exactly: `users(id INTEGER PRIMARY KEY, username, password)`.
 * `password` holds an argon2id PHC string (or, for a seed row not yet used
 * since the upgrade, the legacy plaintext, re-hashed at its next login).
 */
@Entity({ name: 'users' })
export class User {
  @PrimaryGeneratedColumn({ type: 'integer' })
  public id!: number;

  @Column({ type: 'text' })
  public username!: string;

  @Column({ type: 'text' })
  public password!: string;

  /** Never serialise the password hash. */
  public toJSON(): { id: number; username: string } {
    return { id: this.id, username: this.username };
  }
}

/**
 * Case-insensitive uniqueness without touching `users`: one row per folded
 * name. SQLite's lower() folds only ASCII, so the key is computed in JS
 * (NFC + toLowerCase), which folds Cyrillic too.
 */
@Entity({ name: 'user_names' })
export class UserName {
  @PrimaryColumn({ type: 'varchar', length: 128, name: 'name_key' })
  public nameKey!: string;

  @Index({ unique: true })
  @Column({ type: 'integer', name: 'user_id' })
  public userId!: number;

  /** TR39 skeleton of the name, case-folded (`nameSkeleton`): look-alike names share it. */
  @Index('user_names_skeleton')
  @Column({ type: 'text', nullable: true })
  public skeleton!: string | null;
}

@Entity({ name: 'bans' })
export class Ban {
  @PrimaryColumn({ type: 'integer', name: 'user_id' })
  public userId!: number;

  @Column({ type: 'bigint', name: 'banned_at' })
  public bannedAt!: number;
}

/** A resume session: only the SHA-256 of the token is stored. */
@Entity({ name: 'sessions' })
export class Session {
  @PrimaryColumn({ type: 'varchar', length: 64 })
  public id!: string;

  @Index({ unique: true })
  @Column({ type: 'varchar', length: 64, name: 'token_hash' })
  public tokenHash!: string;

  @Index()
  @Column({ type: 'integer', name: 'user_id' })
  public userId!: number;

  @Column({ type: 'bigint', name: 'expires_at' })
  public expiresAt!: number;
}

/** A relayed frame, ciphertext exactly as sent; `seq` orders the chat server-wide. */
@Entity({ name: 'messages' })
export class Message {
  @PrimaryGeneratedColumn({ type: 'integer' })
  public seq!: number;

  @Index({ unique: true })
  @Column({ type: 'varchar', length: 32 })
  public id!: string;

  @Column({ type: 'text' })
  public sender!: string;

  @Column({ type: 'bigint' })
  public ts!: number;

  @Column({ type: 'text' })
  public frame!: string;
}

/**
 * What one account has stored in `messages` (bytes of frames, and rows), for
 * the per-account quota. Kept by triggers on `messages` (migration
 * `CreateMessageUsage1766000000001`), never written by the stores.
 */
@Entity({ name: 'message_usage' })
export class MessageUsage {
  @PrimaryColumn({ type: 'text' })
  public sender!: string;

  @Column({ type: 'bigint' })
  public bytes!: number;

  @Column({ type: 'bigint' })
  public messages!: number;
}

/**
 * A registration invite made by the operator (`--registration invite`). Only
 * the SHA-256 of the token is stored; `id` is a short public handle for
 * `invite list` and `invite revoke`. Revoking deletes the row, so a revoked
 * token reads as unknown.
 */
@Entity({ name: 'registration_invites' })
export class RegistrationInvite {
  @PrimaryColumn({ type: 'varchar', length: 16 })
  public id!: string;

  @Index({ unique: true })
  @Column({ type: 'varchar', length: 64, name: 'token_hash' })
  public tokenHash!: string;

  @Column({ type: 'bigint', name: 'created_at' })
  public createdAt!: number;

  /** Milliseconds since the epoch; null = never expires. */
  @Column({ type: 'bigint', name: 'expires_at', nullable: true })
  public expiresAt!: number | null;

  @Column({ type: 'integer', name: 'uses_left' })
  public usesLeft!: number;

  @Column({ type: 'integer', name: 'uses_total' })
  public usesTotal!: number;
}

export const entities = [User, UserName, Ban, Session, Message, MessageUsage, RegistrationInvite];
