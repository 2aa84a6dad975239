/**
 * The p-th percentile of timings sorted ascending, as the benches print it (`12.3 ms`; `–` when
 * there are none): vitest reports p75/p99 but no p95, so the benches time each call themselves.
 */
export function percentile(sorted: number[], p: number, digits = 1): string {
  const value = sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)];
  return value === undefined ? '–' : `${value.toFixed(digits)} ms`;
}
