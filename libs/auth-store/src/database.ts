import { randomBytes } from 'node:crypto';
import { link, mkdir, open, rename, rm, stat } from 'node:fs/promises';
import path from 'node:path';
import { DataSource, type QueryResult, type QueryRunner } from 'typeorm';
import { entities } from './entities.js';
import { AuthStoreError } from './errors.js';
import { migrations } from './migrations.js';
import { nameSkeleton } from './names.js';
import { usernameKey } from './policy.js';
import { SQLITE_PRAGMAS, SqliteWriterThread } from './sqlite-writer.js';

/**
 * Told how long a write took, in seconds, from the call until it was
 * committed. For metrics (the server's write-latency histogram): it is called
 * on the event loop for every write, so it must be cheap and must not throw.
 */
export type WriteObserver = (seconds: number) => void;

/** The database in use, switchable at run time (the console's `database` command). */
export interface DatabaseHandle {
  /** The SQLite path, or the PostgreSQL host/database (never the password). */
  readonly description: string;
  readonly dialect: 'sqlite' | 'postgres';
  current(): DataSource;
  /**
   * SQLite: the thread that runs the current database's hot-path writes off
   * the event loop (see `SqliteWriterThread`). PostgreSQL: undefined (its
   * driver does not block the loop).
   */
  writer(): SqliteWriterThread | undefined;
  /** Opens (creating) and migrates another database, then swaps; on failure the old one stays. */
  switchTo(database: string): Promise<void>;
  close(): Promise<void>;
  /**
   * Sets (or, with undefined, removes) the one observer of write latency: every
   * statement of the SQLite writer thread, every PostgreSQL `write()` and
   * message append. It follows the handle across `switchTo`.
   */
  observeWrites(observer: WriteObserver | undefined): void;
  /** Runs a write, reporting its duration to the observer when it succeeds (the stores' PostgreSQL writes). */
  timeWrite<T>(work: () => Promise<T>): Promise<T>;
  /**
   * SQLite: writes an online, consistent copy of the current database to
   * `destination` (see `backup` below). PostgreSQL: refused with kind
   * `notSupported` (use pg_dump).
   */
  backup(destination: string, options?: BackupOptions): Promise<BackupResult>;
}

export interface BackupOptions {
  /** Replace an existing file (default: refuse with kind `backupExists`). */
  overwrite?: boolean;
}

export interface BackupResult {
  /** The absolute path written. */
  file: string;
  bytes: number;
}

const POSTGRES_URL = /^postgres(ql)?:\/\//;
const MIGRATION_LOCK = 7_771_777; // pg advisory lock id: nodes starting together migrate one at a time

function describe(database: string): string {
  if (!POSTGRES_URL.test(database)) return database;
  const url = new URL(database);
  return `postgres://${url.hostname}${url.port ? `:${url.port}` : ''}${url.pathname}`;
}

async function createDataSource(database: string): Promise<DataSource> {
  if (POSTGRES_URL.test(database)) {
    return new DataSource({ type: 'postgres', url: database, entities, migrations, synchronize: false, logging: false });
  }
  try {
    await mkdir(path.dirname(database), { recursive: true, mode: 0o700 });
    // Created owner-only before SQLite opens it: SQLite would make it 0644
    // (the umask), readable by every local user even in a data dir the
    // operator made 0755, and it gives its -wal and -shm files the main
    // file's permissions.
    await (await open(database, 'a', 0o600)).close();
  } catch (error) {
    throw new AuthStoreError('databaseUnavailable', `cannot create ${database} (or its folder)`, { cause: error });
  }
  return new DataSource({
    type: 'better-sqlite3',
    database,
    entities,
    migrations,
    synchronize: false,
    logging: false,
    enableWAL: true,
    timeout: 5000,
    statementCacheSize: 200,
    prepareDatabase: (db: { pragma(sql: string): unknown }) => {
      for (const pragma of SQLITE_PRAGMAS) db.pragma(pragma);
    },
  });
}

/** Opens a database and brings its schema up to date. */
async function openDataSource(database: string): Promise<DataSource> {
  const dataSource = await createDataSource(database);
  try {
    await dataSource.initialize();
  } catch (error) {
    throw new AuthStoreError('databaseUnavailable', `cannot open the database ${describe(database)}`, { cause: error });
  }
  try {
    await migrateExclusively(dataSource);
  } catch (error) {
    await dataSource.destroy().catch(() => undefined);
    throw new AuthStoreError('migrationFailed', `cannot prepare the database ${describe(database)}`, { cause: error });
  }
  return dataSource;
}

/**
 * Runs the migrations while holding the database's write lock, so processes
 * that open one database at the same moment migrate one after the other
 * (TypeORM's own "create the migrations table if missing" is not atomic).
 */
async function migrateExclusively(dataSource: DataSource): Promise<void> {
  if (dataSource.options.type === 'postgres') {
    await dataSource.query('SELECT pg_advisory_lock($1)', [MIGRATION_LOCK]);
    try {
      await dataSource.runMigrations({ transaction: 'each' });
      await backfillNameKeys(dataSource);
    } finally {
      await dataSource.query('SELECT pg_advisory_unlock($1)', [MIGRATION_LOCK]);
    }
    return;
  }
  // SQLite: BEGIN IMMEDIATE takes the write lock (others wait, up to the busy timeout).
  await dataSource.query('BEGIN IMMEDIATE');
  try {
    await dataSource.runMigrations({ transaction: 'none' });
    await backfillNameKeys(dataSource);
    await dataSource.query('COMMIT');
  } catch (error) {
    await dataSource.query('ROLLBACK').catch(() => undefined);
    throw error;
  }
}

/**
 * Seed databases have users but no `user_names` rows: give each its
 * case-folded key. When two legacy names fold to the same key the first keeps
 * it; the other still logs in by its exact name. Rows from before skeletons
 * (or written by an older node of a cluster) get theirs. Existing names are
 * never refused or changed here, even when they break today's rules or look
 * like another: the console's `names` command reports those.
 */
async function backfillNameKeys(dataSource: DataSource): Promise<void> {
  const missing = await sql<{ id: number; username: string }>(
    dataSource,
    'SELECT u.id, u.username FROM users u LEFT JOIN user_names n ON n.user_id = u.id WHERE n.user_id IS NULL ORDER BY u.id',
  );
  for (const row of missing.records) {
    const username = String(row.username);
    await sql(dataSource, 'INSERT INTO user_names (name_key, user_id, skeleton) VALUES (?, ?, ?) ON CONFLICT DO NOTHING', [
      usernameKey(username),
      Number(row.id),
      nameSkeleton(username),
    ]);
  }
  const unskeletoned = await sql<{ id: number; username: string }>(
    dataSource,
    'SELECT u.id, u.username FROM user_names n JOIN users u ON u.id = n.user_id WHERE n.skeleton IS NULL ORDER BY u.id',
  );
  for (const row of unskeletoned.records) {
    await sql(dataSource, 'UPDATE user_names SET skeleton = ? WHERE user_id = ?', [nameSkeleton(String(row.username)), Number(row.id)]);
  }
}

export type SqlResult<Row> = QueryResult & { records: Row[] };
/** A query with `?` placeholders, on one connection. */
export type Query = <Row = Record<string, unknown>>(text: string, parameters?: unknown[]) => Promise<SqlResult<Row>>;

/** A query runner gives the structured result (rows *and* affected counts) on every driver. */
function queryOn(dataSource: DataSource, runner: QueryRunner): Query {
  const postgres = dataSource.options.type === 'postgres';
  return async <Row>(text: string, parameters: unknown[] = []) => {
    let index = 0;
    const query = postgres ? text.replace(/\?/g, () => `$${++index}`) : text;
    return (await runner.query(query, parameters, true)) as SqlResult<Row>;
  };
}

/** Runs SQL written with `?` placeholders on either dialect. */
export async function sql<Row = Record<string, unknown>>(dataSource: DataSource, text: string, parameters: unknown[] = []): Promise<SqlResult<Row>> {
  const runner = dataSource.createQueryRunner();
  try {
    return await queryOn(dataSource, runner)<Row>(text, parameters);
  } finally {
    await runner.release();
  }
}

/**
 * A one-statement write with `?` placeholders, resolved once committed: on
 * SQLite through the writer thread (the fsync off the event loop, batched
 * with the writes queued beside it), on PostgreSQL through the pool.
 * Resolves with the first row it returns (`RETURNING`), if any.
 */
export async function write<Row = Record<string, unknown>>(database: DatabaseHandle, text: string, parameters: unknown[] = []): Promise<Row | undefined> {
  const writer = database.writer();
  if (writer !== undefined) return writer.run<Row>(text, parameters);
  return (await database.timeWrite(() => sql<Row>(database.current(), text, parameters))).records[0];
}

/** Runs `work` in one transaction on one connection; rolled back if it throws. */
export async function transaction<T>(dataSource: DataSource, work: (query: Query) => Promise<T>): Promise<T> {
  const runner = dataSource.createQueryRunner();
  try {
    await runner.startTransaction();
    const result = await work(queryOn(dataSource, runner));
    await runner.commitTransaction();
    return result;
  } catch (error) {
    if (runner.isTransactionActive) await runner.rollbackTransaction();
    throw error;
  } finally {
    await runner.release();
  }
}

const exists = (file: string): Promise<boolean> =>
  stat(file).then(
    () => true,
    () => false,
  );

/**
 * An online copy of a SQLite database, made by the writer thread that owns
 * its connection (consistent with the writes going on while it runs). The
 * copy is written to a hidden file beside the destination, created
 * owner-only before SQLite opens it (the data it holds is the chat history
 * and the password hashes), and put in place only once complete: whoever
 * finds a file at `destination` finds a whole backup. Without `overwrite`
 * the final step is a hard link, which fails atomically if the name was
 * taken meanwhile.
 */
async function backupSqlite(writer: SqliteWriterThread, live: string, destination: string, overwrite: boolean): Promise<BackupResult> {
  const target = path.resolve(destination);
  if ([live, `${live}-wal`, `${live}-shm`, `${live}-journal`].includes(target)) {
    throw new AuthStoreError('backupFailed', `${target} is the database in use; choose another file`);
  }
  if (!overwrite && (await exists(target)))
    throw new AuthStoreError('backupExists', `${target} already exists; choose another name, or add --overwrite to replace it`);
  const folder = path.dirname(target);
  const partial = path.join(folder, `.${path.basename(target)}.${randomBytes(6).toString('hex')}.partial`);
  try {
    await mkdir(folder, { recursive: true, mode: 0o700 });
    await (await open(partial, 'wx', 0o600)).close();
  } catch (error) {
    throw new AuthStoreError('backupFailed', `cannot create a file in ${folder}`, { cause: error });
  }
  try {
    try {
      await writer.backup(partial);
    } catch (error) {
      throw new AuthStoreError('backupFailed', `the copy failed: ${(error as Error).message}`, { cause: error });
    }
    if (overwrite) {
      await rename(partial, target);
    } else {
      try {
        await link(partial, target);
      } catch (error) {
        const code = (error as NodeJS.ErrnoException).code;
        if (code === 'EEXIST') throw new AuthStoreError('backupExists', `${target} already exists; choose another name, or add --overwrite to replace it`);
        // A file system without hard links: check, then rename (a narrow race, only there).
        if (await exists(target))
          throw new AuthStoreError('backupExists', `${target} already exists; choose another name, or add --overwrite to replace it`, { cause: error });
        await rename(partial, target);
      }
    }
    return { file: target, bytes: (await stat(target)).size };
  } catch (error) {
    if (AuthStoreError.is(error)) throw error;
    throw new AuthStoreError('backupFailed', `cannot write ${target}`, { cause: error });
  } finally {
    await rm(partial, { force: true });
    await rm(`${partial}-journal`, { force: true });
  }
}

class SwitchableDatabase implements DatabaseHandle {
  #dataSource: DataSource;
  #database: string;
  #writer: SqliteWriterThread | undefined;
  #observer: WriteObserver | undefined;
  readonly #committed = (seconds: number): void => this.#observer?.(seconds);

  public constructor(dataSource: DataSource, database: string) {
    this.#dataSource = dataSource;
    this.#database = database;
    this.#writer = this.writerFor(database);
  }

  public observeWrites(observer: WriteObserver | undefined): void {
    this.#observer = observer;
  }

  public async timeWrite<T>(work: () => Promise<T>): Promise<T> {
    if (this.#observer === undefined) return work();
    const started = performance.now();
    const result = await work();
    this.#observer?.((performance.now() - started) / 1000);
    return result;
  }

  private writerFor(database: string): SqliteWriterThread | undefined {
    return POSTGRES_URL.test(database) ? undefined : new SqliteWriterThread(database, this.#committed);
  }

  public get description(): string {
    return describe(this.#database);
  }

  public get dialect(): 'sqlite' | 'postgres' {
    return this.#dataSource.options.type === 'postgres' ? 'postgres' : 'sqlite';
  }

  public current(): DataSource {
    return this.#dataSource;
  }

  public writer(): SqliteWriterThread | undefined {
    return this.#writer;
  }

  public async switchTo(database: string): Promise<void> {
    const next = await openDataSource(database);
    const previous = { dataSource: this.#dataSource, writer: this.#writer };
    this.#dataSource = next;
    this.#database = database;
    this.#writer = this.writerFor(database);
    // Writes already posted to the old database finish there first.
    await previous.writer?.close();
    if (previous.dataSource !== next) await previous.dataSource.destroy().catch(() => undefined);
  }

  public async backup(destination: string, options: BackupOptions = {}): Promise<BackupResult> {
    const writer = this.#writer;
    if (writer === undefined)
      throw new AuthStoreError('notSupported', 'a PostgreSQL database is backed up with pg_dump (docs/operations.md), not by the server');
    return backupSqlite(writer, this.#database, destination, options.overwrite === true);
  }

  public async close(): Promise<void> {
    await this.#writer?.close();
    if (this.#dataSource.isInitialized) await this.#dataSource.destroy();
  }
}

/**
 * Opens a SQLite file (created with its directory when missing; WAL mode,
 * 5 s busy timeout, fsync on commit) or a `postgres://` URL, and runs the
 * migrations.
 */
export async function openDatabase(database: string): Promise<DatabaseHandle> {
  const resolved = POSTGRES_URL.test(database) ? database : path.resolve(database);
  return new SwitchableDatabase(await openDataSource(resolved), resolved);
}
