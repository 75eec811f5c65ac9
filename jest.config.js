// Two projects: fast unit tests (mocked SDK), and the end-to-end suite that runs dist/
// against the emulator (started by e2e/netns.sh inside a loopback-only network namespace).
const tsJest = {
  // Sources import each other as './x.ts'; keep those paths (tsconfig's
  // rewriteRelativeImportExtensions would turn them into './x.js', which jest cannot resolve).
  '^.+\\.ts$': [
    'ts-jest',
    { useESM: true, tsconfig: { isolatedModules: true, rewriteRelativeImportExtensions: false } },
  ],
};
const common = {
  extensionsToTreatAsEsm: ['.ts'],
  transform: tsJest,
  testEnvironment: 'node',
};
export default {
  // A global option (jest ignores it per project): a test with two real TLJH installs takes
  // minutes here; this only stops a hung test, it never judges speed.
  testTimeout: 1_800_000,
  // The emulated instances' disks (e2e/.tmp) and the wheelhouse (e2e/.cache) hold whole Python
  // environments: nothing jest should crawl.
  modulePathIgnorePatterns: ['<rootDir>/e2e/.tmp', '<rootDir>/e2e/.cache'],
  watchPathIgnorePatterns: ['<rootDir>/e2e/.tmp', '<rootDir>/e2e/.cache'],
  testSequencer: '<rootDir>/e2e/harness/sequencer.cjs',
  projects: [
    { ...common, displayName: 'unit', testMatch: ['<rootDir>/__tests__/**/*.test.ts'] },
    {
      ...common,
      displayName: 'e2e',
      testMatch: ['<rootDir>/e2e/**/*.test.ts'],
      globalSetup: '<rootDir>/e2e/harness/global-setup.ts',
      globalTeardown: '<rootDir>/e2e/harness/global-teardown.ts',
    },
  ],
};
