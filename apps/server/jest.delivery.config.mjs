import preset from '../../jest.preset.mjs';

// The delivery suite kills and restarts real server processes: its own target
// (`nx run server:test-delivery`), run by `npm test` after the unit tests.
export default { ...preset, displayName: 'server-delivery', roots: ['<rootDir>/delivery'], testMatch: ['<rootDir>/delivery/**/*.spec.ts'] };
