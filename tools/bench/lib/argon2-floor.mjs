// The login burst's baseline: the same number of argon2id verifications
// (the server's parameters and thread pool) with no server around them.
// Run as its own process so it gets a fresh libuv thread pool, as the server does.
import { hashPassword, verifyPassword } from '@enigma/crypto';

const [count, rounds] = process.argv.slice(2).map(Number);
const password = 'bench-Passw0rd-Xq81!';
const hash = await hashPassword(password);
const results = [];
for (let i = 0; i < rounds; i++) {
  const started = performance.now();
  await Promise.all(Array.from({ length: count }, () => verifyPassword(password, hash)));
  const ms = performance.now() - started;
  results.push({ ms, perSec: count / (ms / 1000) });
}
process.stdout.write(JSON.stringify(results));
