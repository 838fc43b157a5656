// How the benchmarks seed their servers: the data dir itself comes from
// tools/fixtures/seed-data-dir.mjs (shared with the tests).
import { PASSWORD } from '../../fixtures/seed-data-dir.mjs';

export { PASSWORD, seedDataDir } from '../../fixtures/seed-data-dir.mjs';

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
