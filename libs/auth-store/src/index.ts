// @enigma/auth-store: accounts, bans, resume sessions and the message history
// on TypeORM (SQLite through better-sqlite3 by default, or PostgreSQL).
export { AuthStoreContainerModule, databaseHandleId, passwordStrengthId } from './auth-store.module.js';
export type { AuthStoreOptions } from './auth-store.module.js';
export { addressBlock } from './address-block.js';
export { openDatabase } from './database.js';
export type { BackupOptions, BackupResult, DatabaseHandle, WriteObserver } from './database.js';
export { Ban, entities, Message, MessageUsage, RegistrationInvite, Session, User, UserName } from './entities.js';
export {
  AddNameSkeletons1766000000002,
  CreateEnigmaTables1764000000000,
  CreateMessageRetention1766000000000,
  CreateMessageUsage1766000000001,
  CreateRegistrationInvites1765000000000,
  migrations,
} from './migrations.js';
export { auditUsernames } from './name-audit.js';
export type { NameAudit } from './name-audit.js';
export { nameSkeleton } from './names.js';
export { PasswordStrengthPool } from './password-strength.js';
export type { PasswordStrengthOptions } from './password-strength.js';
export { inviteStoreId, MAX_INVITE_USES, SqlInviteStore } from './invite-store.js';
export type { CreatedInvite, InviteInfo, InviteProblem, InviteStore } from './invite-store.js';
export { messageStoreId, SqlMessageStore } from './message-store.js';
export type { AppendOptions, AppendResult, HistorySlice, MessageStore, SliceQuery, StoredMessage } from './message-store.js';
export { checkNewPassword, DEFAULT_MIN_PASSWORD_LENGTH, MAX_PASSWORD_LENGTH, MAX_USERNAME_LENGTH, normalizeUsername, usernameKey } from './policy.js';
export type { PasswordCheck as NewPasswordCheck, UsernameCheck } from './policy.js';
export { DEFAULT_THROTTLE, loginThrottleId, RateLimitedLoginThrottle } from './throttle.js';
export type { LimiterFactory, LoginThrottle, ThrottleDecision, ThrottleOptions } from './throttle.js';
export { DEFAULT_SESSION_TTL_MS, SqlUserStore, userStoreId } from './user-store.js';
export type { PublicUser, RegisterOptions, RegisterResult, ResumeResult, SessionGrant, UserRef, UserStore, UserStoreOptions } from './user-store.js';
export { AuthStoreError } from './errors.js';
export type { AuthStoreErrorKind } from './errors.js';
