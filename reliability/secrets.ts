import { afterAll, beforeAll, vi } from 'vitest';
import { TEST_ENCRYPTION_KEY, TEST_GRAPH_TOKEN } from '../test/fixtures';
import { TEST_APP_SECRET, TEST_VERIFY_TOKEN, testBindings } from '../test/harness';
import { TEST_JWT_SECRET } from '../test/tokens';

/**
 * Every secret the app holds in the test stack (the bindings' keys and tokens) and the channel
 * credential every test account holds: none may ever appear in an answer or a log line.
 */
export function secretValues(): string[] {
  const bindings = testBindings();
  return [
    TEST_APP_SECRET,
    TEST_VERIFY_TOKEN,
    TEST_JWT_SECRET,
    TEST_ENCRYPTION_KEY,
    TEST_GRAPH_TOKEN,
    bindings.QSTASH_TOKEN,
    bindings.QSTASH_CURRENT_SIGNING_KEY,
    bindings.QSTASH_NEXT_SIGNING_KEY,
    bindings.UPSTASH_REDIS_REST_TOKEN,
  ].filter((s): s is string => typeof s === 'string' && s.length >= 8);
}

/** The secrets `text` contains (empty: none). */
export function leaksIn(text: string): string[] {
  return secretValues().filter((secret) => text.includes(secret));
}

/**
 * Captures every console line the app writes while a probe runs (kept, not printed: thousands of
 * dead-event warnings would bury the summary), for the leak check.
 */
export function captureLogs() {
  const lines: string[] = [];
  const methods = ['log', 'info', 'warn', 'error', 'debug'] as const;
  beforeAll(() => {
    for (const method of methods) {
      vi.spyOn(console, method).mockImplementation((...args: unknown[]) => {
        lines.push(args.map((a) => (typeof a === 'string' ? a : String(a))).join(' '));
      });
    }
  });
  afterAll(() => {
    for (const method of methods) vi.mocked(console[method]).mockRestore();
  });
  return {
    lines,
    /** Secrets found in the captured lines, with how many lines held each. */
    leaks() {
      const found = new Map<string, number>();
      for (const line of lines) {
        for (const secret of leaksIn(line)) found.set(secret, (found.get(secret) ?? 0) + 1);
      }
      return found;
    },
  };
}
