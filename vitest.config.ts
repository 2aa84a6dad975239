import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['**/*.test.ts'],
    exclude: ['node_modules/**', 'dist/**', '.local/**', '.wrangler/**'],
    globalSetup: ['test/global-setup.ts'],
    // Integration tests talk to a real Postgres and local servers; the first import of the AI SDK
    // and drizzle takes seconds on a 2-core machine.
    testTimeout: 30_000,
    hookTimeout: 120_000,
    // The embedded Postgres serialises statements; a few files at a time keeps waits short.
    maxWorkers: 2,
    benchmark: { include: ['bench/**/*.bench.ts'] },
  },
});
