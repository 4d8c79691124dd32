/** Three layers: pure unit tests, time-skipping workflow tests (Java test server per file),
 * and integration/e2e tests against one real Temporal dev server and Kafka broker per run. */
const transform = { '^.+\\.(t|j)sx?$': ['@swc/jest', { jsc: { target: 'es2022' } }] };
const common = { transform, testEnvironment: 'node', moduleFileExtensions: ['ts', 'js', 'json'] };

module.exports = {
  // Integration tests drive real servers; a hung one still ends.
  testTimeout: 180_000,
  projects: [
    { ...common, displayName: 'unit', testMatch: ['<rootDir>/test/unit/**/*.test.ts', '<rootDir>/test/contract/**/*.test.ts'] },
    {
      ...common,
      displayName: 'workflows',
      testMatch: ['<rootDir>/test/workflows/**/*.test.ts', '<rootDir>/test/replay/**/*.test.ts'],
      globalSetup: '<rootDir>/test/helpers/global-setup-workflows.ts',
      setupFiles: ['<rootDir>/test/helpers/quiet-runtime.ts'],
    },
    {
      ...common,
      displayName: 'integration',
      testMatch: ['<rootDir>/test/integration/**/*.test.ts', '<rootDir>/test/e2e/**/*.test.ts'],
      globalSetup: '<rootDir>/test/helpers/global-setup-stack.ts',
      setupFiles: ['<rootDir>/test/helpers/quiet-runtime.ts'],
      globalTeardown: '<rootDir>/test/helpers/global-teardown-stack.ts',
    },
    // Not part of `npm test`: `npm run test:faults` starts its own servers and kills them (7-11 minutes).
    { ...common, displayName: 'faults', testMatch: ['<rootDir>/test/faults/**/*.test.ts'] },
    // Not part of `npm test`: `npm run test:cluster` builds and starts a Kafka cluster, a Temporal server and two of each
    // Preflight process, and kills parts of them (about 15 minutes; the first Go build of the server adds about 5).
    { ...common, displayName: 'cluster', testMatch: ['<rootDir>/test/cluster/**/*.test.ts'] },
  ],
};
