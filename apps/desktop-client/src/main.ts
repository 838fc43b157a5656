import { chmod, mkdir, open } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { DesktopSession, readServerField } from './host/desktop-session.js';
import { openAppWindow, writeLaunchPage, type LaunchPage } from './host/launcher.js';
import { defaultProfileDir, ProfileStore } from './host/profile-store.js';
import { UiHost } from './host/ui-host.js';

const usage = `usage: enigma [--server URL | --invite-file PATH | --invite -] [--no-window] [--profile-dir DIR]

  --server URL        server address, e.g. https://192.168.1.5:7777
  --invite-file PATH  read an enigma://host:port/#fp=...&key=... invite from a file
                      (keep it readable by you only: it holds the chat key); with
                      invite=TOKEN in it, the app opens ready to register
  --invite -          read the invite from standard input
  --invite LINK       the invite itself; works, but other users of this computer
                      can read a command line (ps, /proc): prefer the two above
  --no-window         print the UI's URL instead of opening a window
  --profile-dir DIR   where profiles (servers, pinned fingerprints, chat keys) live
`;

/** An invite link is well under 1 KiB; refuse to read more than this. */
const MAX_INVITE_BYTES = 8 * 1024;

function warn(message: string): void {
  process.stderr.write(`enigma: warning: ${message}\n`);
}

/** Reads an invite from a file's or standard input's stream, refusing more than `MAX_INVITE_BYTES`. */
async function readInvite(stream: AsyncIterable<Buffer>): Promise<string> {
  const chunks: Buffer[] = [];
  let length = 0;
  for await (const chunk of stream) {
    chunks.push(chunk);
    length += chunk.length;
    if (length > MAX_INVITE_BYTES) throw new RangeError('too long for an invite');
  }
  return Buffer.concat(chunks).toString('utf8').trim();
}

/** The invite from a file: warns (but goes on) when other users may read the file, since then they may already have the key. */
async function inviteFromFile(file: string): Promise<string> {
  const handle = await open(file, 'r');
  try {
    const stat = await handle.stat();
    if (!stat.isFile()) throw new TypeError('not a file');
    if (process.platform !== 'win32' && (stat.mode & 0o077) !== 0) {
      warn(
        `${file} can be read by other users (mode ${(stat.mode & 0o777).toString(8)}); it holds the chat key: chmod 600 it, and if others share this computer, rotate the key`,
      );
    }
    return await readInvite(handle.createReadStream({ autoClose: false }));
  } finally {
    await handle.close();
  }
}

/** A value given on the command line that carries a secret (a chat key or an invite token). */
function holdsSecret(value: string): boolean {
  const fragment = new URLSearchParams(value.split('#')[1] ?? '');
  return Boolean(fragment.get('key') || fragment.get('invite'));
}

function fail(message: string): never {
  process.stderr.write(`enigma: ${message}\n${usage}`);
  process.exit(2);
}

async function main(): Promise<void> {
  let flags;
  try {
    flags = parseArgs({
      options: {
        server: { type: 'string' },
        invite: { type: 'string' },
        'invite-file': { type: 'string' },
        'no-window': { type: 'boolean', default: false },
        'profile-dir': { type: 'string' },
        help: { type: 'boolean', default: false },
      },
      strict: true,
    }).values;
  } catch (error) {
    fail((error as Error).message);
  }
  if (flags.help) {
    process.stdout.write(usage);
    return;
  }
  const sources = [flags.server, flags.invite, flags['invite-file']].filter((given) => given !== undefined);
  if (sources.length > 1) fail('give one of --server, --invite and --invite-file');

  let invite: string | undefined;
  try {
    if (flags['invite-file'] !== undefined) invite = await inviteFromFile(flags['invite-file']);
    else if (flags.invite === '-') invite = await readInvite(process.stdin as AsyncIterable<Buffer>);
  } catch (error) {
    fail(
      flags['invite-file'] !== undefined
        ? `cannot read the invite from ${flags['invite-file']}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`
        : 'cannot read the invite from standard input',
    );
  }
  if (flags.invite !== undefined && flags.invite !== '-') {
    invite = flags.invite.trim();
    if (holdsSecret(flags.invite))
      warn('an invite on the command line can be read by other users of this computer (ps, /proc/PID/cmdline); use --invite-file PATH or --invite - next time');
  }
  if (flags.server !== undefined && holdsSecret(flags.server)) {
    warn(
      'a link with a key on the command line can be read by other users of this computer (ps, /proc/PID/cmdline); use --invite-file PATH or --invite - next time',
    );
  }

  const profileDir = path.resolve(flags['profile-dir'] ?? defaultProfileDir());
  const profiles = new ProfileStore(profileDir);
  const profile = await profiles.load();

  let server = profile.lastServer;
  let chatKey = server === undefined ? undefined : profile.servers[server]?.chatKey;
  let inviteToken: string | undefined;
  // An invite is an enigma:// link: anything else from an invite flag is a mistake, not a server address.
  if (invite !== undefined && !invite.startsWith('enigma://')) fail('that invite link is not valid: it must start with enigma://');
  const given = invite ?? flags.server;
  if (given !== undefined) {
    try {
      const target = readServerField(given);
      server = target.url;
      chatKey = target.chatKey ?? profile.servers[server]?.chatKey;
      inviteToken = target.inviteToken;
      if (target.fingerprint !== undefined) await profiles.update(server, { fingerprint: target.fingerprint, ...(chatKey ? { chatKey } : {}) });
    } catch {
      fail(invite !== undefined ? 'that invite link is not valid' : 'that server address is not valid');
    }
  }
  const locale = Intl.DateTimeFormat().resolvedOptions().locale;
  const session = new DesktopSession(profiles, {
    server: server ?? '',
    chatKey,
    username: server === undefined ? undefined : profile.servers[server]?.lastUsername,
    locale: process.env['LANG']?.split(/[._]/)[0] ?? locale,
    inviteToken,
  });

  const staticDir = fileURLToPath(new URL('./ui/', import.meta.url));
  const host = await UiHost.start(staticDir, (socket) => {
    process.stdout.write('UI connected\n');
    session.attach(socket);
  });

  const launchPages: LaunchPage[] = [];
  // However the app ends (short of SIGKILL), the launch page goes with it.
  process.once('exit', () => launchPages.forEach((page) => page.remove()));
  const shutdown = async (): Promise<void> => {
    await session.close();
    await host.close();
    process.exit(0);
  };
  process.on('SIGINT', () => void shutdown());
  process.on('SIGTERM', () => void shutdown());

  if (flags['no-window']) {
    process.stdout.write(`Enigma is ready: open ${host.launchUrl}\n`);
    return;
  }
  // The browser's own profile: private, whatever mode an older version left it in.
  const windowDir = path.join(profileDir, 'window');
  await mkdir(windowDir, { recursive: true, mode: 0o700 });
  await chmod(windowDir, 0o700);
  // The launch URL holds the one-time token: it goes to the browser inside an
  // owner-only file, never on its command line (readable by every local user).
  // The file sits in the browser's own profile directory, which the browser
  // can always read (a snap or flatpak browser has a /tmp of its own).
  const launchPage = await writeLaunchPage(host.launchUrl, windowDir);
  launchPages.push(launchPage);
  const window = openAppWindow(launchPage.url, windowDir);
  if (window.kind === 'default-browser') {
    // stdout is this user's terminal, not a command line: the URL may go there.
    process.stdout.write(`Opened Enigma in your browser. If nothing opened, open ${host.launchUrl}\n`);
    return;
  }
  process.stdout.write('Enigma window opened\n');
  await window.closed;
  process.stdout.write('Enigma window closed\n');
  await shutdown();
}

void main();
