import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // Integration tests start real processes (brokers, etcd, clients); give them room.
    testTimeout: 60_000,
    hookTimeout: 60_000,
    // Two cores: run files in parallel but not so many that process-heavy suites starve each other.
    pool: 'forks',
    poolOptions: { forks: { maxForks: 2, minForks: 1 } },
    // `npm test -- --coverage`: V8 coverage of the in-process code. Broker processes that tests
    // spawn are not measured, so the figures are what the in-process unit tests reach.
    coverage: {
      provider: 'v8',
      include: ['src/broker/**/*.ts', 'src/controller/**/*.ts'],
      // Generated gRPC types: declarations only, nothing to run.
      exclude: ['src/controller/grpc/generated/**'],
      reporter: ['text-summary', 'text', 'json-summary'],
      reportsDirectory: 'coverage',
    },
  },
});
