import { describe, expect, it } from '@jest/globals';
import { mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { ProfileStore } from './profile-store.js';

describe('ProfileStore', () => {
  it('should keep servers, pinned fingerprints, chat keys and the last username in an owner-only file', async () => {
    const dir = path.join(await mkdtemp(path.join(tmpdir(), 'enigma-profile-')), 'nested');
    try {
      const store = new ProfileStore(dir);
      expect(await store.load()).toEqual({ servers: {} });
      await store.update('https://10.0.0.2:7777', { fingerprint: 'AA:BB', chatKey: 'k'.repeat(43) + '=' });
      await store.update('https://10.0.0.2:7777', { lastUsername: 'Алиса' });
      expect(await store.load()).toEqual({
        lastServer: 'https://10.0.0.2:7777',
        servers: { 'https://10.0.0.2:7777': { fingerprint: 'AA:BB', chatKey: 'k'.repeat(43) + '=', lastUsername: 'Алиса' } },
      });
      expect((await stat(store.file)).mode & 0o777).toBe(0o600);
      expect((await stat(dir)).mode & 0o777).toBe(0o700);
      expect(await readFile(store.file, 'utf8')).not.toMatch(/password/i);
    } finally {
      await rm(path.dirname(dir), { recursive: true, force: true });
    }
  });
});
