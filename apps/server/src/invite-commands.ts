// The console's `invite` command: the links members share, and the operator's
// registration invites (`--registration invite`).
import { MAX_INVITE_USES, type InviteInfo } from '@enigma/auth-store';
import { formatDuration, parseDuration } from './duration.js';
import type { EnigmaServer } from './server.js';

type Out = (line: string) => void;

/** How long `invite create` makes an invite last unless told otherwise: a week. */
export const DEFAULT_INVITE_EXPIRY_MS = 7 * 86_400_000;

const USAGE = 'usage: invite [create [--uses N] [--expires 7d|never] | list | revoke ID]';
const CREATE_USAGE = 'usage: invite create [--uses N] [--expires 7d|never]';

/** `enigma://HOST:PORT/#fp=…&` for every address the server listens on. */
function linkStarts(server: EnigmaServer): string[] {
  const status = server.status();
  const fp = status.fingerprint === undefined ? '' : `fp=${status.fingerprint.replaceAll(':', '')}&`;
  return status.urls.map((url) => `enigma://${new URL(url).host}/#${fp}`);
}

const when = (date: Date | undefined): string => (date === undefined ? 'never' : date.toISOString());

function describe(invite: InviteInfo): string {
  return `  ${invite.id}  ${invite.usesLeft}/${invite.usesTotal} uses left  ${invite.state.padEnd(7)}  expires ${when(invite.expiresAt)}  created ${invite.createdAt.toISOString()}`;
}

/** `--uses 3 --expires 30d` → the options, or the one line that says what is wrong. */
function readCreateOptions(words: string[]): { uses: number; expiresInMs: number | undefined } | string {
  let uses = 1;
  let expiresInMs: number | undefined = DEFAULT_INVITE_EXPIRY_MS;
  for (let i = 0; i < words.length; i += 2) {
    const [flag = '', value] = words.slice(i, i + 2);
    if (flag !== '--uses' && flag !== '--expires') return `invite create: unknown option ${JSON.stringify(flag.slice(0, 20))}; ${CREATE_USAGE}`;
    if (value === undefined) return `invite create: ${flag} needs a value; ${CREATE_USAGE}`;
    if (flag === '--uses') {
      uses = /^\d{1,4}$/.test(value) ? Number(value) : NaN;
      if (!(uses >= 1 && uses <= MAX_INVITE_USES)) return `invite create: --uses takes a whole number from 1 to ${MAX_INVITE_USES}`;
    } else if (value === 'never') {
      expiresInMs = undefined;
    } else {
      const duration = parseDuration(value);
      if (!duration.ok) return `invite create: --expires: ${duration.reason}, or never`;
      expiresInMs = duration.ms;
    }
  }
  return { uses, expiresInMs };
}

async function create(words: string[], server: EnigmaServer, out: Out): Promise<void> {
  const options = readCreateOptions(words);
  if (typeof options === 'string') return out(options);
  const { token, invite } = await server.invites.create(options);
  const lifetime = options.expiresInMs === undefined ? 'never expires' : `expires ${when(invite.expiresAt)} (in ${formatDuration(options.expiresInMs)})`;
  out(`invite ${invite.id} created: ${invite.usesTotal} ${invite.usesTotal === 1 ? 'use' : 'uses'}, ${lifetime}`);
  out(`token (shown this once; the server keeps only its hash): ${token}`);
  out('invite links (the server never holds the chat key: append it after key= before sharing):');
  for (const start of linkStarts(server)) out(`  ${start}invite=${token}&key=`);
  const policy = server.status().registration;
  if (policy === 'open') out('note: registration is open (--registration open): nobody needs an invite yet');
  if (policy === 'closed') out('note: registration is closed: invites work only with --registration invite');
}

/** Runs `invite ...`. Never echoes a token it was given. */
export async function inviteCommand(args: string, server: EnigmaServer, out: Out): Promise<void> {
  const [sub, ...words] = args.split(/\s+/).filter((word) => word !== '');
  switch (sub) {
    case undefined: {
      out('invite links (the server never holds the chat key: append it as key=... before sharing):');
      for (const start of linkStarts(server)) out(`  ${start}key=`);
      const policy = server.status().registration;
      if (policy === 'invite') out('registration is by invite only: invite create makes a link that also lets a newcomer register');
      if (policy === 'closed') out('registration is closed: these links are for existing members');
      return;
    }
    case 'create':
      return create(words, server, out);
    case 'list': {
      if (words.length > 0) return out('usage: invite list');
      const invites = await server.invites.list();
      out(invites.length === 0 ? 'no invites (invite create makes one)' : `${invites.length} ${invites.length === 1 ? 'invite' : 'invites'}`);
      for (const invite of invites) out(describe(invite));
      return;
    }
    case 'revoke': {
      const [target] = words;
      if (target === undefined || words.length !== 1) return out('usage: invite revoke ID (or the token itself)');
      out((await server.invites.revoke(target)) ? 'invite revoked: its token no longer registers anyone' : 'invite revoke: no such invite (see invite list)');
      return;
    }
    default:
      out(USAGE);
  }
}
