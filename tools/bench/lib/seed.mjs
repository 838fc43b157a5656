// Prepares an Enigma data directory before its server starts: accounts,
// resume sessions and backlog written straight into the database with the
// server's own libraries. Registering over the wire would hit the
// per-address registration throttle (10 an hour) and cost one argon2id hash
// per account; here one hash serves every account (same password).
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { openDatabase, usernameKey } from '@enigma/auth-store';
import { Fernet, generateKey, hashPassword, randomToken, tokenDigest } from '@enigma/crypto';
import { encodeFrame } from '@enigma/protocol';

export const PASSWORD = 'bench-Passw0rd-Xq81!';
const DAY_MS = 24 * 3600 * 1000;

/**
 * Accounts for `connections` logged-in clients: 10 sessions each (half the
 * server's default cap of 20 per user). One account per connection would be
 * more realistic, but then every login announces a new user to everyone and
 * that O(n²) presence traffic swamps what these scenarios measure (it is
 * reported separately in docs/benchmarks.md).
 */
export const accountsFor = (connections) => Math.ceil(connections / 10);

/**
 * How `count` clients of a server kind log in: Enigma's resume seeded
 * sessions (a password login each would spend minutes in argon2id; the login
 * burst scenario measures that); the baselines accept any login.
 */
export const authFor = (kind, seed, count) =>
  kind === 'enigma' ? { kind: 'resume', tokens: seed.sessions } : { kind: 'login', usernames: Array(count).fill('bench'), password: PASSWORD };

let passwordHash; // computed once per bench run
const usernameOf = (i) => `bench${String(i).padStart(5, '0')}`;

/**
 * @param {{ accounts: number, sessions?: number, messages?: number, messageBytes?: number, databaseUrl?: string }} plan
 *   sessions: resume tokens, spread round-robin over the accounts; databaseUrl: a
 *   postgres:// database to seed instead of the data dir's SQLite file
 * @returns {Promise<{ dataDir: string, usernames: string[], sessions: string[], remove(): void }>}
 */
export async function seedDataDir({ accounts, sessions = 0, messages = 0, messageBytes = 100, databaseUrl }) {
  // The system temp dir is on disk here, like a real deployment (not tmpfs):
  // Enigma commits every frame with synchronous=FULL, and that cost is real.
  const dataDir = mkdtempSync(path.join(tmpdir(), 'enigma-bench-'));
  const handle = await openDatabase(databaseUrl ?? path.join(dataDir, 'accounts.db'));
  // PostgreSQL numbers its placeholders: ?, ? becomes $1, $2.
  const sql = (text) => (databaseUrl ? text.replace(/\?/g, ((n) => () => `$${++n}`)(0)) : text);
  passwordHash ??= await hashPassword(PASSWORD);
  const usernames = Array.from({ length: accounts }, (_, i) => usernameOf(i));
  const tokens = Array.from({ length: sessions }, () => randomToken(32));
  const fernet = new Fernet(generateKey());
  try {
    await handle.current().transaction(async (db) => {
      for (const [i, name] of usernames.entries()) {
        await db.query(sql('INSERT INTO users (id, username, password) VALUES (?, ?, ?)'), [i + 1, name, passwordHash]);
        await db.query(sql('INSERT INTO user_names (name_key, user_id) VALUES (?, ?)'), [usernameKey(name), i + 1]);
      }
      for (const [i, token] of tokens.entries()) {
        await db.query(sql('INSERT INTO sessions (id, token_hash, user_id, expires_at) VALUES (?, ?, ?, ?)'), [
          randomToken(12),
          tokenDigest(token),
          (i % accounts) + 1,
          Date.now() + DAY_MS,
        ]);
      }
      for (let i = 0; i < messages; i++) {
        const frame = encodeFrame(fernet.encrypt('m'.repeat(messageBytes)));
        await db.query(sql('INSERT INTO messages (id, sender, ts, frame) VALUES (?, ?, ?, ?)'), [frame.slice(0, 32), usernames[i % accounts], Date.now(), frame]);
      }
    });
  } finally {
    await handle.close();
  }
  return { dataDir, usernames, sessions: tokens, remove: () => rmSync(dataDir, { recursive: true, force: true }) };
}
