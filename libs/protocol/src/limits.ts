/** Size limits of protocol v1. Servers may lower them; they must not raise them. */
export interface ProtocolLimits {
  /** Longest frame (`md5hex + token`) in characters. */
  readonly maxFrameLength: number;
  /** Longest username accepted on the wire, before NFC normalisation. */
  readonly maxUsernameLength: number;
  /** Longest password accepted on the wire. */
  readonly maxPasswordLength: number;
  /** Longest session token accepted on the wire. */
  readonly maxSessionLength: number;
  /** Largest page a `HISTORY` request may ask for. */
  readonly maxHistoryPage: number;
  /** Longest registration invite token accepted on the wire (ours are 22 characters). */
  readonly maxInviteLength: number;
}

/** 64 KiB: a Fernet token of ~48 KiB of UTF-8 text fits, with room to spare. */
export const MAX_FRAME_LENGTH = 64 * 1024;

export const DEFAULT_LIMITS: ProtocolLimits = Object.freeze({
  maxFrameLength: MAX_FRAME_LENGTH,
  // 32 characters after NFC; decomposed input may be up to 4x longer before it.
  maxUsernameLength: 128,
  maxPasswordLength: 1024,
  maxSessionLength: 256,
  maxHistoryPage: 500,
  maxInviteLength: 128,
});

/** How many backlog messages `LOGIN_SUCCESSFUL` carries unless configured. */
export const DEFAULT_BACKLOG = 100;
