/**
 * Which failures are worth trying again (a timeout, a dropped connection, a database that is
 * restarting or out of connections, a provider answering 429/5xx) and which will fail the same
 * way every time (a bad key, a refused request, a bug). Jobs retry the first kind with their
 * bounded backoff (functions/lib/jobs.ts) and act on the second at once, so a short outage never
 * hands a customer to a person for good (issue 15).
 *
 * Duck-typed on purpose: errors arrive wrapped (drizzle's DrizzleQueryError around postgres.js,
 * the AI SDK's RetryError around APICallError, fetch's TypeError around a socket error), from
 * more than one copy of a library, so `instanceof` would miss some.
 */

export type FailureKind =
  | 'timeout'
  | 'network'
  | 'database unavailable'
  | 'database busy'
  | 'rate limited'
  | 'provider unavailable'
  | 'permanent';

/** Node/undici/postgres.js codes for a connection that failed, dropped or timed out. */
const NETWORK_CODES = new Set([
  'ECONNRESET',
  'ECONNREFUSED',
  'ECONNABORTED',
  'EPIPE',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'EAI_AGAIN',
  'UND_ERR_SOCKET',
  'UND_ERR_CONNECT_TIMEOUT',
  'UND_ERR_HEADERS_TIMEOUT',
  'UND_ERR_BODY_TIMEOUT',
  'CONNECTION_CLOSED',
  'CONNECTION_ENDED',
  'CONNECTION_DESTROYED',
  'CONNECT_TIMEOUT',
]);

/** Postgres SQLSTATEs that a retry can outlive (the rest — constraint, RLS, syntax — cannot). */
function databaseKind(sqlState: string): FailureKind | null {
  // 08: connection exception; 57P01-03: shutting down / cannot connect now; 53: out of
  // connections, memory or disk.
  if (sqlState.startsWith('08') || /^57P0[123]$/.test(sqlState)) return 'database unavailable';
  if (sqlState.startsWith('53')) return 'database unavailable';
  // Serialization failure, deadlock, lock not available, statement timeout.
  if (['40001', '40P01', '55P03', '57014'].includes(sqlState)) return 'database busy';
  return null;
}

function kindOfOne(err: object): FailureKind | null {
  const e = err as { name?: unknown; code?: unknown; statusCode?: unknown; isRetryable?: unknown };
  if (e.name === 'TimeoutError') return 'timeout';
  if (typeof e.code === 'string') {
    if (NETWORK_CODES.has(e.code)) return e.code.includes('TIMEOUT') ? 'timeout' : 'network';
    if (/^[0-9A-Z]{5}$/.test(e.code)) {
      const kind = databaseKind(e.code);
      if (kind) return kind;
    }
  }
  if (typeof e.statusCode === 'number') {
    if (e.statusCode === 429) return 'rate limited';
    if (e.statusCode === 408) return 'timeout';
    if (e.statusCode >= 500) return 'provider unavailable';
  }
  if (e.isRetryable === true) return 'provider unavailable';
  return null;
}

/** What kind of failure `err` is: the first transient kind found along its causes, else permanent. */
export function failureKind(err: unknown): FailureKind {
  const seen = new Set<unknown>();
  const queue: unknown[] = [err];
  while (queue.length > 0) {
    const current = queue.shift();
    if (typeof current !== 'object' || current === null || seen.has(current)) continue;
    seen.add(current);
    const kind = kindOfOne(current);
    if (kind) return kind;
    const wrapper = current as { cause?: unknown; lastError?: unknown; errors?: unknown };
    queue.push(wrapper.cause, wrapper.lastError);
    if (Array.isArray(wrapper.errors)) queue.push(...wrapper.errors);
  }
  return 'permanent';
}

export function isTransientError(err: unknown): boolean {
  return failureKind(err) !== 'permanent';
}

/** The kind in words, for a handoff reason an operator reads. */
export const FAILURE_IN_WORDS: Record<FailureKind, string> = {
  timeout: 'it timed out',
  network: 'the connection failed',
  'database unavailable': 'the database was unavailable',
  'database busy': 'the database was busy',
  'rate limited': 'the AI provider was rate limiting',
  'provider unavailable': 'the AI provider was unavailable',
  permanent: 'repeated errors',
};
