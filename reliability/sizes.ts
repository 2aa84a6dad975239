/**
 * How big each probe runs. `ci` (the default) is what CI runs on every submission: bounded so the
 * whole suite takes a few minutes on a 2-core machine, while still meeting the minimums
 * (10,000 fuzzed bodies, 1,000 redelivered bodies, Meta's 1,000-update batch). `full`
 * (`RELIABILITY_SIZE=full npm run test:reliability`) is for a run by hand before a release.
 */
export type SizeName = 'smoke' | 'ci' | 'full';

const sizes = {
  /** A quick look while changing a probe (`RELIABILITY_SIZE=smoke`); proves nothing. */
  smoke: {
    fuzzBodies: Number(process.env.RELIABILITY_FUZZ_BODIES ?? 400),
    redeliveryBodies: 60,
    redeliveryCopies: 3,
    redeliveryCustomers: 10,
    amplificationBatch: 100,
    amplificationSameSecond: 10,
    amplificationUnknownAccounts: 100,
    operatorRounds: 1,
    faultsMessages: 60,
    faultsSeconds: 6,
  },
  ci: {
    /** Webhook bodies through the app, half signed, half not. */
    fuzzBodies: 10_000,
    /** Distinct bodies, each posted `redeliveryCopies` times at once. */
    redeliveryBodies: 1_000,
    redeliveryCopies: 3,
    /** Customers the redelivered bodies come from (one conversation, one reply each). */
    redeliveryCustomers: 100,
    /** One body of this many messages of one customer (Meta batches up to 1,000). */
    amplificationBatch: 1_000,
    /** Separate webhooks of one customer, all stamped with the same provider second. */
    amplificationSameSecond: 100,
    /** Unknown accounts named in one body. */
    amplificationUnknownAccounts: 1_000,
    /** Forged identities per route are fixed; rounds repeat the whole matrix. */
    operatorRounds: 1,
    /** Customer messages (one per customer) posted at an even pace over `faultsSeconds`. */
    faultsMessages: 240,
    faultsSeconds: 15,
  },
  full: {
    fuzzBodies: 50_000,
    redeliveryBodies: 5_000,
    redeliveryCopies: 3,
    redeliveryCustomers: 500,
    amplificationBatch: 1_000,
    amplificationSameSecond: 500,
    amplificationUnknownAccounts: 1_000,
    operatorRounds: 3,
    faultsMessages: 500,
    faultsSeconds: 30,
  },
} as const satisfies Record<SizeName, Record<string, number>>;

const asked = process.env.RELIABILITY_SIZE;
export const sizeName: SizeName = asked === 'full' || asked === 'smoke' ? asked : 'ci';
export const size = sizes[sizeName];

/** Requests in flight at once against the in-process app. */
export const CONCURRENCY = Number(process.env.RELIABILITY_CONCURRENCY ?? 16);
