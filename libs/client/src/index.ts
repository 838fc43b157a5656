// @enigma/client (skeleton: the real API arrives with its issue).
export { ClientError } from './errors.js';
export type { ClientErrorKind } from './errors.js';
