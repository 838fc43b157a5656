// @enigma/crypto: Fernet (spec-exact, on node:crypto), chat keys, frame ids,
// password hashing (argon2id) and the tokens the server hands out.
export { Fernet, generateKey, MAX_CLOCK_SKEW_SECONDS } from './fernet.js';
export type { DecryptOptions, EncryptOptions } from './fernet.js';
export { constantTimeEqual, hashPassword, isPasswordHash, OWASP_ARGON2ID, verifyPassword } from './password.js';
export type { PasswordCheck, PasswordHashParameters } from './password.js';
export { messageId, randomToken, tokenDigest } from './ids.js';
export { CryptoContainerModule, createPasswordHasher, passwordHasherId } from './crypto.module.js';
export type { PasswordHasher } from './crypto.module.js';
export { CryptoError } from './errors.js';
export type { CryptoErrorKind } from './errors.js';
