// Shared Jest settings. Every package is native ESM ("type": "module") because
// Inversify 8 ships ESM only; Jest runs it through `node --experimental-vm-modules`
// and @swc/jest compiles TypeScript (with legacy decorators + metadata for
// Inversify and TypeORM) to ES modules. See docs/decisions.md.
const swcOptions = {
  jsc: {
    parser: { syntax: 'typescript', decorators: true, tsx: true },
    transform: { legacyDecorator: true, decoratorMetadata: true, react: { runtime: 'automatic' } },
    target: 'es2022',
    keepClassNames: true,
  },
  module: { type: 'es6' },
  sourceMaps: 'inline',
};

/** @type {import('jest').Config} */
export default {
  testEnvironment: 'node',
  // `@enigma/source` makes `import '@enigma/x'` load the library's TypeScript
  // sources, so a test never runs against a stale dist/.
  testEnvironmentOptions: { customExportConditions: ['@enigma/source', 'node', 'node-addons'] },
  extensionsToTreatAsEsm: ['.ts', '.tsx'],
  transform: { '^.+\\.tsx?$': ['@swc/jest', swcOptions] },
  moduleNameMapper: { '^(\\.{1,2}/.*)\\.js$': '$1' },
  testMatch: ['<rootDir>/src/**/*.spec.ts', '<rootDir>/src/**/*.spec.tsx'],
  testPathIgnorePatterns: ['/node_modules/', '/dist/'],
};
