import { Fernet } from '@enigma/crypto';
import { ClientError } from './errors.js';

export interface Invite {
  /** `https://host:port` */
  url: string;
  /** SHA-256 of the server certificate, colon-separated uppercase hex. */
  fingerprint?: string;
  chatKey?: string;
  /** An operator's registration token (`invite create`): lets its holder register on an invite-only server. */
  inviteToken?: string;
}

/** What a registration token may look like: url-safe base64 (ours are 22 characters). */
const INVITE_TOKEN = /^[A-Za-z0-9_-]{16,128}$/;

/** `AB:CD:…` (32 bytes) from any spelling: with or without colons, any case. */
export function normalizeFingerprint(fingerprint: string): string | undefined {
  const hex = fingerprint.replace(/:/g, '').toUpperCase();
  if (!/^[0-9A-F]{64}$/.test(hex)) return undefined;
  return hex.match(/../g)!.join(':');
}

function invalid(reason: string): never {
  throw new ClientError('invalidInvite', `invalid invite: ${reason}`);
}

/**
 * Reads `enigma://HOST:PORT/#fp=SHA256&invite=TOKEN&key=FERNET-KEY` (every
 * part after `#` optional). The part after `#` is never sent to any server
 * as such: the invite token goes only into a registration.
 */
export function parseInvite(link: string): Invite {
  if (typeof link !== 'string' || !link.startsWith('enigma://')) invalid('it must start with enigma://');
  let url: URL;
  try {
    url = new URL(`https://${link.slice('enigma://'.length)}`);
  } catch {
    invalid('the server address cannot be read');
  }
  if (url.port === '' || url.username !== '' || url.password !== '') invalid('it must name a host and a port');
  const fragment = new URLSearchParams(url.hash.slice(1));
  const invite: Invite = { url: url.origin };
  const fp = fragment.get('fp');
  if (fp !== null && fp !== '') {
    const fingerprint = normalizeFingerprint(fp);
    if (fingerprint === undefined) invalid('the fingerprint is not 64 hex digits');
    invite.fingerprint = fingerprint;
  }
  const key = fragment.get('key');
  if (key !== null && key !== '') {
    try {
      new Fernet(key);
    } catch {
      invalid('the chat key is not a Fernet key');
    }
    invite.chatKey = key;
  }
  const token = fragment.get('invite');
  if (token !== null && token !== '') {
    if (!INVITE_TOKEN.test(token)) invalid('the invite token is not valid');
    invite.inviteToken = token;
  }
  return invite;
}

export function formatInvite(invite: Invite): string {
  const url = new URL(invite.url);
  const port = url.port || (url.protocol === 'https:' ? '443' : '80');
  const fragment = new URLSearchParams();
  if (invite.fingerprint !== undefined) fragment.set('fp', invite.fingerprint.replace(/:/g, ''));
  if (invite.inviteToken !== undefined && invite.inviteToken !== '') fragment.set('invite', invite.inviteToken);
  if (invite.chatKey !== undefined && invite.chatKey !== '') fragment.set('key', invite.chatKey);
  return `enigma://${url.hostname.includes(':') ? `[${url.hostname}]` : url.hostname}:${port}/#${fragment.toString()}`;
}
