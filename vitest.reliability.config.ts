import { defineConfig } from 'vitest/config';

/**
 * `npm run test:reliability`: the standing probes of issue 15 (reliability/), on the same local
 * stack as the integration tests (the app factory in-process, the run's database, the Redis,
 * QStash and Graph stand-ins). Kept out of `npm test`: each probe sends thousands of requests.
 * Sizes: reliability/sizes.ts (`RELIABILITY_SIZE=full` for the large run).
 */
export default defineConfig({
  test: {
    include: ['reliability/**/*.test.ts'],
    globalSetup: ['test/global-setup.ts'],
    // One probe at a time: each counts rows in the shared database before and after, and on a
    // 2-core machine two probes would only slow each other down.
    fileParallelism: false,
    maxWorkers: 1,
    // A probe is thousands of requests; its time is printed on its summary line, not asserted.
    testTimeout: 1_800_000,
    hookTimeout: 300_000,
  },
});
