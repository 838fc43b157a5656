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
    await runner.query(`CREATE TABLE IF NOT EXISTS messages (seq ${serial}, id VARCHAR(32) NOT NULL UNIQUE, sender TEXT NOT NULL, ts BIGINT NOT NULL, frame TEXT NOT NULL)`);
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
 * `user_names.skeleton`: the TR39 skeleton of each name (`nameSkeleton`), so a
 * registration finds "a user whose name looks like mine" with one indexed
 * query. `users` keeps its three columns. The column is filled, for existing
 * rows too, in JavaScript right after the migrations, under the same lock
 * (`backfillNameKeys` in database.ts). Idempotent like the others.
 */
export class AddNameSkeletons1766000000000 implements MigrationInterface {
  public readonly name = 'AddNameSkeletons1766000000000';

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

export const migrations = [CreateEnigmaTables1764000000000, CreateRegistrationInvites1765000000000, AddNameSkeletons1766000000000];
