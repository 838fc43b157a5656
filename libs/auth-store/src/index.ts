// @enigma/auth-store (skeleton: the real API arrives with its issue).
export { AuthStoreError } from './errors.js';
export type { AuthStoreErrorKind } from './errors.js';
