/** One connection as the relay sees it; the transport names it. */
export interface Peer {
  readonly id: string;
  readonly address: string;
}

/** A logged-in connection. */
export interface PeerSession {
  peerId: string;
  username: string;
  address: string;
  /** When it logged in, ms since the epoch. */
  since: number;
  /** The resume token, to revoke it at logout. */
  sessionToken: string;
}
