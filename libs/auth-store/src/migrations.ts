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

export const migrations = [CreateEnigmaTables1764000000000, CreateRegistrationInvites1765000000000, CreateMessageRetention1766000000000];
