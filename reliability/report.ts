import { appendFileSync } from 'node:fs';
import { sizeName } from './sizes';

/**
 * Each probe's one summary line: what was sent, counts by outcome, what was lost or doubled.
 * Printed to stdout (CI shows it) and, with RELIABILITY_SUMMARY=<file>, appended there so a run's
 * lines can be collected after it (`.ci/run` prints them together at the end).
 */
export function summary(probe: string, fields: Record<string, string | number>) {
  const line = `[reliability] ${probe} (${sizeName}): ${Object.entries(fields)
    .map(([k, v]) => `${k}=${v}`)
    .join(' ')}`;
  process.stdout.write(`${line}\n`);
  const file = process.env.RELIABILITY_SUMMARY;
  if (file) appendFileSync(file, `${line}\n`);
  return line;
}

/** Counts by label, printed as `a:1,b:2`. */
export class Tally {
  private readonly counts = new Map<string, number>();
  add(label: string | number, n = 1) {
    const key = String(label);
    this.counts.set(key, (this.counts.get(key) ?? 0) + n);
  }
  get(label: string | number) {
    return this.counts.get(String(label)) ?? 0;
  }
  toString() {
    return (
      [...this.counts.entries()]
        .sort(([a], [b]) => a.localeCompare(b))
        .map(([k, v]) => `${k}:${v}`)
        .join(',') || 'none'
    );
  }
}

/** Runs `work` over `items`, `concurrency` at a time, in order of start. */
export async function inBatches<T, R>(
  items: readonly T[],
  concurrency: number,
  work: (item: T, index: number) => Promise<R>,
): Promise<R[]> {
  const results: R[] = new Array(items.length);
  let next = 0;
  const workers = Array.from({ length: Math.min(concurrency, items.length) }, async () => {
    while (next < items.length) {
      const i = next++;
      results[i] = await work(items[i] as T, i);
    }
  });
  await Promise.all(workers);
  return results;
}

/** Seconds since `start` (performance.now()), for the summary line only: never asserted. */
export const secondsSince = (start: number) => ((performance.now() - start) / 1000).toFixed(1);

/**
 * What the QStash stand-in holds after a run, by job kind: jobs published, deliveries beyond the
 * first (retries), and jobs that ended in the DLQ or are still waiting. Retries coming due all at
 * once (a wave) would show as retries here.
 */
export function jobStats(messages: Array<{ url: string; attempts: number; state: string }>): {
  published: Tally;
  retries: number;
  dlq: number;
  waiting: number;
} {
  const published = new Tally();
  let retries = 0;
  let dlq = 0;
  let waiting = 0;
  for (const m of messages) {
    published.add(new URL(m.url).pathname.replace('/jobs/', ''));
    retries += Math.max(0, m.attempts - 1);
    if (m.state === 'dlq') dlq++;
    if (m.state === 'pending' || m.state === 'failed') waiting++;
  }
  return { published, retries, dlq, waiting };
}
