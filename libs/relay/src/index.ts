// @enigma/relay (skeleton: the real API arrives with its issue).
export { RelayError } from './errors.js';
export type { RelayErrorKind } from './errors.js';
