import { describe, expect, it } from '@jest/globals';
import { readFileSync } from 'node:fs';

describe('package manifest', () => {
  it('should be tagged as an app so module boundaries apply', () => {
    const manifest = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { nx: { tags: string[] } };
    expect(manifest.nx.tags).toContain('type:app');
  });
});
