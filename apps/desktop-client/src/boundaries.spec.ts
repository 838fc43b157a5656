import { describe, expect, it } from '@jest/globals';
import { ESLint } from 'eslint';
import { fileURLToPath } from 'node:url';

// The desktop client runs on users' machines: it must never pull in the
// server-side account store or relay (the tags in eslint.config.mjs, enforced by lint).
const workspaceRoot = fileURLToPath(new URL('../../../', import.meta.url));
const eslint = new ESLint({ cwd: workspaceRoot });

async function boundaryErrors(source: string): Promise<string[]> {
  const [result] = await eslint.lintText(source, { filePath: `${workspaceRoot}apps/desktop-client/src/probe.ts` });
  return result!.messages.filter((m) => m.ruleId === '@nx/enforce-module-boundaries').map((m) => m.message);
}

describe('module boundaries of the desktop client', () => {
  it('should make importing @enigma/auth-store a lint error', async () => {
    const errors = await boundaryErrors("import { AuthStoreError } from '@enigma/auth-store';\nexport const probe = AuthStoreError;\n");
    expect(errors).toEqual([expect.stringContaining('scope:client')]);
  }, 60_000);

  it('should allow importing the shared @enigma/crypto', async () => {
    expect(await boundaryErrors("import { generateKey } from '@enigma/crypto';\nexport const probe = generateKey;\n")).toEqual([]);
  }, 60_000);
});
