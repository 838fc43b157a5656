// Runs every project's tests from the root (`npx jest`); `npm test` goes
// through Nx instead, project by project.
import type { Config } from 'jest';

const config: Config = {
  projects: ['<rootDir>/libs/*/jest.config.mjs', '<rootDir>/apps/*/jest.config.mjs'],
};

export default config;
