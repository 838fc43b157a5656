import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { DesktopSession, readServerField } from './host/desktop-session.js';
import { openAppWindow } from './host/launcher.js';
import { defaultProfileDir, ProfileStore } from './host/profile-store.js';
import { UiHost } from './host/ui-host.js';

const usage = `usage: enigma [--server URL | --invite LINK] [--no-window] [--profile-dir DIR]

  --server URL       server address, e.g. https://192.168.1.5:7777
  --invite LINK      an enigma://host:port/#fp=...&key=... invite; with invite=TOKEN
                     in it, the app opens ready to register (name and password only)
  --no-window        print the UI's URL instead of opening a window
  --profile-dir DIR  where profiles (servers, pinned fingerprints, chat keys) live
`;

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
  if (flags.server !== undefined && flags.invite !== undefined) fail('give --server or --invite, not both');

  const profileDir = path.resolve(flags['profile-dir'] ?? defaultProfileDir());
  const profiles = new ProfileStore(profileDir);
  const profile = await profiles.load();

  let server = profile.lastServer;
  let chatKey = server === undefined ? undefined : profile.servers[server]?.chatKey;
  let inviteToken: string | undefined;
  const given = flags.invite ?? flags.server;
  if (given !== undefined) {
    try {
      const target = readServerField(given);
      server = target.url;
      chatKey = target.chatKey ?? profile.servers[server]?.chatKey;
      inviteToken = target.inviteToken;
      if (target.fingerprint !== undefined) await profiles.update(server, { fingerprint: target.fingerprint, ...(chatKey ? { chatKey } : {}) });
    } catch {
      fail(flags.invite !== undefined ? 'that invite link is not valid' : 'that server address is not valid');
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
  const windowDir = path.join(profileDir, 'window');
  await mkdir(windowDir, { recursive: true, mode: 0o700 });
  const window = openAppWindow(host.launchUrl, windowDir);
  if (window.kind === 'default-browser') {
    process.stdout.write(`Opened Enigma in your browser. If nothing opened, visit ${host.launchUrl}\n`);
    return;
  }
  process.stdout.write('Enigma window opened\n');
  await window.closed;
  process.stdout.write('Enigma window closed\n');
  await shutdown();
}

void main();
