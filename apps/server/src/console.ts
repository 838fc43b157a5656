import type { Interface as ReadLine } from 'node:readline';
import { createInterface } from 'node:readline';
import { auditUsernames, AuthStoreError, type PublicUser } from '@enigma/auth-store';
import { formatDuration } from './duration.js';
import { inviteCommand } from './invite-commands.js';
import type { RetentionStatus } from './retention.js';
import type { EnigmaServer } from './server.js';

type Out = (line: string) => void;

interface Command {
  usage: string;
  help: string;
  run(args: string, server: EnigmaServer, out: Out): Promise<void> | void;
}

const NAME_ARGUMENT = /^\S{1,64}$/;
/** A file name or path the console accepts (`database`, `backup`): no spaces, quotes or shell characters. */
const FILE_ARGUMENT = /^[\p{L}\p{N}_.\-/]{1,200}$/u;

/** The `status` line about retention (`--retention`). */
export function retentionLine(status: RetentionStatus | undefined): string {
  if (status === undefined) return 'retention: off (every message is kept)';
  const kept = status.prunedBefore > 0 ? `every message before seq ${status.prunedBefore} deleted` : 'nothing deleted yet';
  return `retention: ${formatDuration(status.retentionMs)} (checked every ${formatDuration(status.intervalMs)}), ${status.pruning ? 'pruning now' : 'idle'}; ${status.removedSinceStart} removed since start, ${kept}`;
}

const megabytes = (bytes: number): string => `${(bytes / 1_048_576).toFixed(1)} MB`;

const ID_ARGUMENT = /^#(\d{1,10})$/;

/**
 * A name as the operator can tell it apart: characters outside printable
 * ASCII are listed by code point (`аlice [U+0430]`, `aliceㅤ [U+3164]`), and
 * control characters of a legacy name are not sent to the terminal.
 */
function showName(name: string): string {
  const shown = name.replace(/\p{C}/gu, '\uFFFD');
  const unusual = [...new Set([...name].filter((c) => !/^[\x21-\x7e]$/.test(c)))];
  if (unusual.length === 0) return shown;
  return `${shown} [${unusual.map((c) => `U+${(c.codePointAt(0) ?? 0).toString(16).toUpperCase().padStart(4, '0')}`).join(' ')}]`;
}

const showUser = (user: PublicUser): string => `#${user.id} ${showName(user.username)}`;

/**
 * The user a command names: `#12` is the user with id 12; a plain name is
 * refused when other users' names look like it (TR39 skeleton), since the
 * operator cannot tell which one they saw: they are listed with their ids.
 */
async function targetUser(command: string, args: string, server: EnigmaServer, out: Out): Promise<PublicUser | undefined> {
  const id = ID_ARGUMENT.exec(args);
  if (id !== null) {
    const user = await server.users.lookup({ id: Number(id[1]) });
    if (user === undefined) out(`${command}: no user #${id[1]}`);
    return user;
  }
  if (!NAME_ARGUMENT.test(args)) {
    out(`usage: ${command} NAME or ${command} #ID (ids: users)`);
    return undefined;
  }
  const user = await server.users.lookup(args);
  if (user === undefined) {
    out(`${command}: no user named ${showName(args)}`);
    return undefined;
  }
  const lookalikes = (await server.users.lookalikes(user.username)).filter((other) => other.id !== user.id);
  if (lookalikes.length > 0) {
    out(`${command}: ${showName(args)} is ambiguous: ${[user, ...lookalikes].map(showUser).join(', ')} look alike; say which with ${command} #ID`);
    return undefined;
  }
  return user;
}

/** The operator's commands (docs/operations.md, "Console"). One line in, one or more lines out, never a stack trace. */
export const commands: Record<string, Command> = {
  help: {
    usage: 'help',
    help: 'list the commands',
    run: (_args, _server, out) => {
      const width = Math.max(...Object.values(commands).map((command) => command.usage.length));
      for (const command of Object.values(commands)) out(`  ${command.usage.padEnd(width)}  ${command.help}`);
    },
  },
  start: {
    usage: 'start',
    help: 'accept connections again after stop',
    run: (_args, server, out) => out(server.resume() ? 'started: accepting connections' : 'already running'),
  },
  stop: {
    usage: 'stop',
    help: 'pause: disconnect everyone and refuse new connections until start',
    run: (_args, server, out) => out(server.pause() ? 'stopped: everyone disconnected, new connections refused (type start to resume)' : 'already stopped'),
  },
  database: {
    usage: 'database [name.db]',
    help: 'show the database, or create/select another one',
    run: async (args, server, out) => {
      if (args === '') {
        out(`database: ${server.status().database} (${await server.users.count()} users)`);
        return;
      }
      if (!FILE_ARGUMENT.test(args)) {
        out('database: give a file name such as other.db (letters, digits, _ . - /)');
        return;
      }
      try {
        const description = await server.switchDatabase(args);
        out(`database: now using ${description} (${await server.users.count()} users)`);
      } catch (error) {
        out(`database: could not open ${args}: ${AuthStoreError.is(error) ? error.message : 'unexpected error (see the log)'}`);
      }
    },
  },
  status: {
    usage: 'status',
    help: 'state, addresses, database, who is online',
    run: async (_args, server, out) => {
      const status = server.status();
      out(`state: ${status.paused ? 'stopped (type start to resume)' : 'running'}, up since ${status.startedAt.toISOString()}`);
      for (const url of status.urls) out(`listening on ${url}`);
      if (status.fingerprint !== undefined) out(`fingerprint (SHA-256): ${status.fingerprint}`);
      out(`database: ${status.database} (${await server.users.count()} users)`);
      out(`registration: ${status.registration}`);
      out(retentionLine(await server.retention()));
      const presence = await server.presence();
      if (status.nodeId !== undefined) out(`cluster: this is node ${status.nodeId}, ${presence.nodes} nodes alive`);
      out(
        `online: ${presence.online.length} users in ${presence.sessions.length} sessions${status.nodeId === undefined ? '' : ` (${status.sessions} on this node)`}`,
      );
    },
  },
  backup: {
    usage: 'backup PATH [--overwrite]',
    help: 'write an online copy of the SQLite database (a name is inside the data dir)',
    run: async (args, server, out) => {
      const words = args.split(/\s+/).filter((word) => word !== '');
      const overwrite = words.includes('--overwrite');
      const [target, ...extra] = words.filter((word) => word !== '--overwrite');
      if (target === undefined || extra.length > 0 || target.startsWith('-'))
        return out('usage: backup PATH [--overwrite]   (e.g. backup backups/2026-05-01.db)');
      if (!FILE_ARGUMENT.test(target)) return out('backup: give a file name such as backup.db (letters, digits, _ . - /)');
      try {
        const result = await server.backup(target, { overwrite });
        out(`backup: wrote ${result.file} (${megabytes(result.bytes)}) in ${(result.ms / 1000).toFixed(1)} s`);
      } catch (error) {
        if (AuthStoreError.is(error, 'notSupported'))
          return out('backup: this server keeps its data in PostgreSQL; back it up with pg_dump (docs/operations.md)');
        out(`backup: ${AuthStoreError.is(error) ? error.message : 'failed unexpectedly (details in the log)'}`);
      }
    },
  },
  stats: {
    usage: 'stats',
    help: 'event-loop delay since the last stats, memory, sessions',
    run: (_args, server, out) => {
      const s = server.stats();
      out(
        `stats: event loop delay p50 ${s.eventLoopDelayP50Ms} ms, p99 ${s.eventLoopDelayP99Ms} ms, max ${s.eventLoopDelayMaxMs} ms; rss ${s.rssBytes} B; heap ${s.heapUsedBytes} B; sessions ${s.sessions}`,
      );
    },
  },
  who: {
    usage: 'who',
    help: 'who is online, with their sessions (on every node)',
    run: async (_args, server, out) => {
      const { sessions } = await server.presence();
      if (sessions.length === 0) return out('nobody is online');
      for (const s of sessions)
        out(`  ${s.username}  from ${s.address}  since ${new Date(s.since).toISOString()}${s.node === undefined ? '' : `  on node ${s.node}`}`);
    },
  },
  users: {
    usage: 'users',
    help: 'list the registered users',
    run: async (_args, server, out) => {
      const users = await server.users.list();
      out(`${users.length} users`);
      // As stored (scripts parse this list); `names` spells out look-alikes by code point.
      for (const user of users) out(`  ${user.id}  ${user.username}`);
    },
  },
  names: {
    usage: 'names',
    help: 'report users whose names look alike or break the name rules (changes nothing)',
    run: async (_args, server, out) => {
      const users = await server.users.list();
      const { refused, lookalikes } = auditUsernames(users);
      if (refused.length === 0 && lookalikes.length === 0) return out(`names: ${users.length} users, no look-alike names, none against the name rules`);
      out(
        `names: ${users.length} users; ${lookalikes.length} groups of look-alike names, ${refused.length} names against today's rules (registered before them; nothing was changed)`,
      );
      for (const group of lookalikes) out(`  look alike: ${group.map(showUser).join(', ')}`);
      for (const { user, reason } of refused) out(`  against the rules: ${showUser(user)}: ${reason}`);
      out('names: to act on one of them use its id, e.g. kick #12, ban #12');
    },
  },
  kick: {
    usage: 'kick NAME|#ID',
    help: 'disconnect a user; they must log in again with their password',
    run: async (args, server, out) => {
      const user = await targetUser('kick', args, server, out);
      if (user === undefined) return;
      const count = await server.relay.kick({ id: user.id });
      if (count === undefined) return out(`kick: no user ${showUser(user)}`);
      out(
        count === 0
          ? `kick: ${showUser(user)} is not online (their saved sessions are revoked)`
          : `kicked ${showUser(user)} (${count} sessions; they must log in with their password)`,
      );
    },
  },
  ban: {
    usage: 'ban NAME|#ID',
    help: 'disconnect a user and refuse their logins',
    run: async (args, server, out) => {
      const user = await targetUser('ban', args, server, out);
      if (user === undefined) return;
      out((await server.relay.ban({ id: user.id })) ? `banned ${showUser(user)}` : `ban: no user ${showUser(user)}`);
    },
  },
  unban: {
    usage: 'unban NAME|#ID',
    help: 'allow a banned user to log in again',
    run: async (args, server, out) => {
      const user = await targetUser('unban', args, server, out);
      if (user === undefined) return;
      out((await server.relay.unban({ id: user.id })) ? `unbanned ${showUser(user)}` : `unban: no user ${showUser(user)}`);
    },
  },
  notice: {
    usage: 'notice TEXT',
    help: 'send a plaintext notice to everyone online',
    run: async (args, server, out) => {
      if (args === '') return out('usage: notice TEXT');
      if (args.length > 1000) return out('notice: at most 1000 characters');
      server.relay.notice(args);
      out(`notice sent to ${(await server.relay.online()).length} users`);
    },
  },
  invite: {
    usage: 'invite [create|list|revoke]',
    help: 'print invite links; create [--uses N] [--expires 7d|never], list, revoke ID: registration invites',
    run: (args, server, out) => inviteCommand(args, server, out),
  },
  exit: {
    usage: 'exit',
    help: 'notify everyone, close cleanly and exit',
    run: () => {
      /* handled by the console loop: it owns the process exit */
    },
  },
};

/** Runs one console line. Returns 'exit' when the operator asked to leave. */
export async function runCommand(line: string, server: EnigmaServer, out: Out): Promise<'exit' | undefined> {
  const trimmed = line.trim();
  if (trimmed === '') return undefined;
  const space = trimmed.search(/\s/);
  const name = (space === -1 ? trimmed : trimmed.slice(0, space)).toLowerCase();
  const args = space === -1 ? '' : trimmed.slice(space + 1).trim();
  if (name === 'exit' || name === 'quit') return 'exit';
  const command = Object.hasOwn(commands, name) ? commands[name] : undefined;
  if (command === undefined) {
    out(`unknown command "${name.slice(0, 40)}"; type help for commands`);
    return undefined;
  }
  try {
    await command.run(args, server, out);
  } catch {
    out(`${name}: failed unexpectedly (details in the log)`);
  }
  return undefined;
}

/**
 * Reads commands from stdin line by line, on a TTY or through a pipe. EOF on
 * stdin does not stop the server (it may run detached with stdin closed).
 */
export function startConsole(server: EnigmaServer, input: NodeJS.ReadableStream, out: Out, onExit: () => void): ReadLine {
  const reader = createInterface({ input, terminal: false });
  let queue = Promise.resolve();
  reader.on('line', (line) => {
    queue = queue.then(async () => {
      if ((await runCommand(line, server, out)) === 'exit') onExit();
    });
  });
  return reader;
}
