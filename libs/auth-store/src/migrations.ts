import type { MigrationInterface, QueryRunner } from 'typeorm';

const isPostgres = (runner: QueryRunner): boolean => runner.connection.options.type === 'postgres';

/**
 * Creates Enigma's tables. `users` is created only when missing, so a seed
 * `accounts.db` keeps its rows byte for byte; every statement is idempotent,
 * so two processes migrating one file at once both succeed.
 */
export class CreateEnigmaTables1764000000000 implements MigrationInterface {
  public readonly name = 'CreateEnigmaTables1764000000000';

  public async up(runner: QueryRunner): Promise<void> {
    const pg = isPostgres(runner);
    const serial = pg ? 'BIGSERIAL PRIMARY KEY' : 'INTEGER PRIMARY KEY AUTOINCREMENT';
    const integerKey = pg ? 'SERIAL PRIMARY KEY' : 'INTEGER PRIMARY KEY';
    await runner.query(`CREATE TABLE IF NOT EXISTS users (id ${integerKey}, username TEXT NOT NULL, password TEXT NOT NULL)`);
    await runner.query('CREATE TABLE IF NOT EXISTS user_names (name_key VARCHAR(128) PRIMARY KEY, user_id INTEGER NOT NULL UNIQUE)');
    await runner.query('CREATE TABLE IF NOT EXISTS bans (user_id INTEGER PRIMARY KEY, banned_at BIGINT NOT NULL)');
    await runner.query(
      'CREATE TABLE IF NOT EXISTS sessions (id VARCHAR(64) PRIMARY KEY, token_hash VARCHAR(64) NOT NULL UNIQUE, user_id INTEGER NOT NULL, expires_at BIGINT NOT NULL)',
    );
    await runner.query('CREATE INDEX IF NOT EXISTS sessions_user_id ON sessions (user_id)');
    await runner.query(
      `CREATE TABLE IF NOT EXISTS messages (seq ${serial}, id VARCHAR(32) NOT NULL UNIQUE, sender TEXT NOT NULL, ts BIGINT NOT NULL, frame TEXT NOT NULL)`,
    );
  }

  public async down(runner: QueryRunner): Promise<void> {
    // `users` stays: it predates Enigma (the seed's table) and holds the accounts.
    for (const table of ['messages', 'sessions', 'bans', 'user_names']) await runner.query(`DROP TABLE IF EXISTS ${table}`);
  }
}

/** Operator invites for `--registration invite` (`users` untouched). Idempotent like the first. */
export class CreateRegistrationInvites1765000000000 implements MigrationInterface {
  public readonly name = 'CreateRegistrationInvites1765000000000';

  public async up(runner: QueryRunner): Promise<void> {
    await runner.query(
      'CREATE TABLE IF NOT EXISTS registration_invites (id VARCHAR(16) PRIMARY KEY, token_hash VARCHAR(64) NOT NULL UNIQUE, created_at BIGINT NOT NULL, expires_at BIGINT NULL, uses_left INTEGER NOT NULL, uses_total INTEGER NOT NULL)',
    );
  }

  public async down(runner: QueryRunner): Promise<void> {
    await runner.query('DROP TABLE IF EXISTS registration_invites');
  }
}

/**
 * History retention (`--retention`): one row saying below which `seq` the
 * messages were pruned (0: none). Messages already carry their acceptance
 * time (`ts`, milliseconds) and pruning walks them oldest first by `seq`,
 * the primary key, so no other column or index is needed. Kept in the
 * database rather than computed from `MIN(seq)`: once everything was pruned
 * the table is empty, and the last `seq` (which `LOGIN_SUCCESSFUL` reports
 * and clients resume from) must not fall back to 0. Idempotent like the others.
 */
export class CreateMessageRetention1766000000000 implements MigrationInterface {
  public readonly name = 'CreateMessageRetention1766000000000';

  public async up(runner: QueryRunner): Promise<void> {
    await runner.query('CREATE TABLE IF NOT EXISTS message_retention (id INTEGER PRIMARY KEY, pruned_before BIGINT NOT NULL)');
    await runner.query('INSERT INTO message_retention (id, pruned_before) VALUES (1, 0) ON CONFLICT DO NOTHING');
  }

  public async down(runner: QueryRunner): Promise<void> {
    await runner.query('DROP TABLE IF EXISTS message_retention');
  }
}

/**
 * `message_usage`: the bytes (and messages) each account has stored, for the
 * per-account quota. Kept by triggers on `messages`, in the same transaction
 * as the row, so it is exact on every node and whatever deletes rows (an
 * operator, a retention job) frees quota by itself; it can always be rebuilt
 * from `messages` (`SUM(octet_length(frame)) GROUP BY sender`), which is what
 * the backfill here does for the rows already stored. The triggers are made
 * before the backfill: on PostgreSQL, creating a trigger locks `messages`
 * against writes until this migration commits, so no row is counted twice or
 * missed.
 */
export class CreateMessageUsage1766000000001 implements MigrationInterface {
  public readonly name = 'CreateMessageUsage1766000000001';

  public async up(runner: QueryRunner): Promise<void> {
    await runner.query('CREATE TABLE IF NOT EXISTS message_usage (sender TEXT PRIMARY KEY, bytes BIGINT NOT NULL, messages BIGINT NOT NULL)');
    if (isPostgres(runner)) {
      await runner.query(`CREATE OR REPLACE FUNCTION enigma_message_usage() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP = 'INSERT' THEN
    INSERT INTO message_usage (sender, bytes, messages) VALUES (NEW.sender, octet_length(NEW.frame), 1)
      ON CONFLICT (sender) DO UPDATE SET bytes = message_usage.bytes + EXCLUDED.bytes, messages = message_usage.messages + 1;
    RETURN NEW;
  END IF;
  UPDATE message_usage SET bytes = bytes - octet_length(OLD.frame), messages = messages - 1 WHERE sender = OLD.sender;
  RETURN OLD;
END $$`);
      // Not CREATE OR REPLACE TRIGGER (PostgreSQL 14+): migrations run one node at a time (an advisory lock), in a transaction.
      await runner.query('DROP TRIGGER IF EXISTS messages_usage ON messages');
      await runner.query('CREATE TRIGGER messages_usage AFTER INSERT OR DELETE ON messages FOR EACH ROW EXECUTE FUNCTION enigma_message_usage()');
    } else {
      await runner.query(`CREATE TRIGGER IF NOT EXISTS messages_usage_insert AFTER INSERT ON messages BEGIN
  INSERT INTO message_usage (sender, bytes, messages) VALUES (NEW.sender, octet_length(NEW.frame), 1)
    ON CONFLICT (sender) DO UPDATE SET bytes = bytes + excluded.bytes, messages = messages + 1;
END`);
      await runner.query(`CREATE TRIGGER IF NOT EXISTS messages_usage_delete AFTER DELETE ON messages BEGIN
  UPDATE message_usage SET bytes = bytes - octet_length(OLD.frame), messages = messages - 1 WHERE sender = OLD.sender;
END`);
    }
    await runner.query('DELETE FROM message_usage');
    await runner.query('INSERT INTO message_usage (sender, bytes, messages) SELECT sender, SUM(octet_length(frame)), COUNT(*) FROM messages GROUP BY sender');
  }

  public async down(runner: QueryRunner): Promise<void> {
    if (isPostgres(runner)) {
      await runner.query('DROP TRIGGER IF EXISTS messages_usage ON messages');
      await runner.query('DROP FUNCTION IF EXISTS enigma_message_usage()');
    } else {
      await runner.query('DROP TRIGGER IF EXISTS messages_usage_insert');
      await runner.query('DROP TRIGGER IF EXISTS messages_usage_delete');
    }
    await runner.query('DROP TABLE IF EXISTS message_usage');
  }
}

/**
 * `user_names.skeleton`: the TR39 skeleton of each name (`nameSkeleton`), so a
 * registration finds "a user whose name looks like mine" with one indexed
 * query. `users` keeps its three columns. The column is filled, for existing
 * rows too, in JavaScript right after the migrations, under the same lock
 * (`backfillNameKeys` in database.ts). Idempotent like the others.
 */
export class AddNameSkeletons1766000000002 implements MigrationInterface {
  public readonly name = 'AddNameSkeletons1766000000002';

  public async up(runner: QueryRunner): Promise<void> {
    if (isPostgres(runner)) {
      await runner.query('ALTER TABLE user_names ADD COLUMN IF NOT EXISTS skeleton TEXT NULL');
    } else {
      const columns = (await runner.query('PRAGMA table_info(user_names)')) as Array<{ name: string }>;
      if (!columns.some((column) => column.name === 'skeleton')) await runner.query('ALTER TABLE user_names ADD COLUMN skeleton TEXT NULL');
    }
    await runner.query('CREATE INDEX IF NOT EXISTS user_names_skeleton ON user_names (skeleton)');
  }

  public async down(runner: QueryRunner): Promise<void> {
    await runner.query('DROP INDEX IF EXISTS user_names_skeleton');
    await runner.query('ALTER TABLE user_names DROP COLUMN skeleton');
  }
}

export const migrations = [
  CreateEnigmaTables1764000000000,
  CreateRegistrationInvites1765000000000,
  CreateMessageRetention1766000000000,
  CreateMessageUsage1766000000001,
  AddNameSkeletons1766000000002,
];
