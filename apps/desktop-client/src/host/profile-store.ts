import { chmod, mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import path from 'node:path';
import envPaths from 'env-paths';

/** What the app remembers per server. Never a password. */
export interface ServerProfile {
  /** Pinned SHA-256 fingerprint of the server's certificate. */
  fingerprint?: string;
  chatKey?: string;
  lastUsername?: string;
}

export interface Profile {
  lastServer?: string;
  servers: Record<string, ServerProfile>;
}

/** The user's config directory, e.g. ~/.config/enigma on Linux. */
export function defaultProfileDir(): string {
  return envPaths('enigma', { suffix: '' }).config;
}

/**
 * Profiles live in one JSON file readable by the owner only (0600, in a 0700
 * directory): it holds chat keys. Writes go through a temp file and a rename,
 * so a crash never leaves half a file.
 */
export class ProfileStore {
  readonly #file: string;

  public constructor(private readonly directory: string) {
    this.#file = path.join(directory, 'profile.json');
  }

  public async load(): Promise<Profile> {
    try {
      const parsed = JSON.parse(await readFile(this.#file, 'utf8')) as Partial<Profile>;
      const servers = typeof parsed.servers === 'object' && parsed.servers !== null ? parsed.servers : {};
      return { lastServer: typeof parsed.lastServer === 'string' ? parsed.lastServer : undefined, servers };
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT' || error instanceof SyntaxError) return { servers: {} };
      throw error;
    }
  }

  public async update(server: string, change: ServerProfile): Promise<Profile> {
    const profile = await this.load();
    profile.servers[server] = { ...profile.servers[server], ...change };
    profile.lastServer = server;
    await mkdir(this.directory, { recursive: true, mode: 0o700 });
    const temporary = `${this.#file}.${process.pid}.tmp`;
    await writeFile(temporary, `${JSON.stringify(profile, null, 2)}\n`, { mode: 0o600 });
    await chmod(temporary, 0o600);
    await rename(temporary, this.#file);
    return profile;
  }

  public get file(): string {
    return this.#file;
  }
}
