import { defineConfig, type TestProjectConfiguration } from 'vitest/config';

/**
 * The `unit` project: tests that need neither the run's database nor local servers started by
 * the global setup, so `npm run test:unit` is done in seconds. A new test file lands in
 * `integration` (always safe) until it is listed here; list it when it imports nothing from
 * `test/harness`, `test/fixtures` or `inject('databaseUrl')`. Everything under `core/` (pure
 * domain rules) is unit by definition.
 */
const unitTests = [
  'core/**/*.test.ts',
  'functions/agent/history.test.ts',
  'functions/agent/offline-model.test.ts',
  'functions/agent/opportunity-schedule.test.ts',
  'functions/lib/crypto.test.ts',
  'functions/lib/embeddings.test.ts',
  'functions/lib/graph.test.ts',
  'functions/lib/sliding-window.test.ts',
  'functions/providers/**/*.test.ts',
  'functions/webhooks/parse/**/*.test.ts',
  'dev/meta-payloads.test.ts',
  'dev/web-api-types.test.ts',
  'dev/stand-ins/embeddings.test.ts',
  'dev/stand-ins/gupshup.test.ts',
  'dev/stand-ins/meta-graph.test.ts',
  'dev/stand-ins/qstash.test.ts',
  'dev/stand-ins/ycloud.test.ts',
  'functions/providers/ycloud/**/*.test.ts',
  'web/widget/widget.test.ts',
];
/** The product as a whole: `npm start` and the bundled Worker in workerd… */
const e2eTests = ['test/e2e/**/*.test.ts', 'test/smoke/**/*.test.ts'];
/** …and the operator page in Chromium. */
const browserTests = ['test/browser/**/*.test.ts'];
// reliability/: the standing probes, run by `npm run test:reliability` (vitest.reliability.config.ts).
const exclude = ['node_modules/**', 'dist/**', '.local/**', '.wrangler/**', 'reliability/**'];

/** A project of the product as a whole, on the run's database. */
const wholeProduct = (name: string, include: string[]): TestProjectConfiguration => ({
  extends: true,
  test: {
    name,
    include,
    globalSetup: ['test/global-setup.ts'],
    // The page answers through workerd and a database on a shared 2-core machine (CI runs the
    // suites side by side): a screen that settles in a second alone can take a few under load,
    // and expect.poll's default 1 s made such waits flaky, not wrong.
    expect: { poll: { timeout: 10_000 } },
    benchmark: { include: [] },
  },
});

export default defineConfig({
  test: {
    exclude,
    // Integration tests talk to a real Postgres and local servers; the first import of the AI SDK
    // and drizzle takes seconds on a 2-core machine.
    testTimeout: 30_000,
    hookTimeout: 120_000,
    // The embedded Postgres serialises statements; a few files at a time keeps waits short.
    maxWorkers: 2,
    benchmark: { include: ['bench/**/*.bench.ts'] },
    projects: [
      // Benchmarks need the database: they run in the integration project only.
      { extends: true, test: { name: 'unit', include: unitTests, benchmark: { include: [] } } },
      {
        extends: true,
        test: {
          name: 'integration',
          include: ['**/*.test.ts'],
          exclude: [...exclude, ...unitTests, ...e2eTests, ...browserTests],
          // One migrated database per run (embedded, or a fresh one on DATABASE_URL's server).
          globalSetup: ['test/global-setup.ts'],
        },
      },
      wholeProduct('e2e', e2eTests),
      wholeProduct('browser', browserTests),
    ],
  },
});
