import preset from '../../jest.preset.mjs';

export default {
  ...preset,
  displayName: 'desktop-client',
  testMatch: [...preset.testMatch, '<rootDir>/e2e/**/*.spec.ts'],
};
