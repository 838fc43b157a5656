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

/**
 * The most frame bytes one backlog reply carries (a `HISTORY` page, the
 * history in `LOGIN_SUCCESSFUL`), whatever its message count: 1 MiB, 16
 * frames of the largest size or thousands of ordinary ones. A reply stops at
 * its count or at this size, whichever comes first (but always carries at
 * least one message when there is one), and says `more: true` when it
 * stopped early; the client pages on. Counting bytes, not only messages,
 * keeps what the server builds for one request small: 1,000 frames of 64 KiB
 * were one 64 MiB reply.
 */
export const MAX_HISTORY_BYTES = 1024 * 1024;

/** Messages a resume's `LOGIN_SUCCESSFUL` catches up at most (the client pages `HISTORY` for the rest). */
export const MAX_RESUME_MESSAGES = 1000;
