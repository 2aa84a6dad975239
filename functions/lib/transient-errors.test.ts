import { APICallError, RetryError } from 'ai';
import { describe, expect, it } from 'vitest';
import { failureKind, isTransientError } from './transient-errors';

const withCode = (code: string, message = code) => Object.assign(new Error(message), { code });
const apiError = (statusCode: number, isRetryable = statusCode >= 500 || statusCode === 429) =>
  new APICallError({
    message: `HTTP ${statusCode}`,
    url: 'https://ai.test',
    requestBodyValues: {},
    statusCode,
    isRetryable,
  });

describe('failureKind: transient or permanent, explicitly', () => {
  it.each([
    ['an abort timeout', new DOMException('The operation timed out.', 'TimeoutError'), 'timeout'],
    ['a connection reset', withCode('ECONNRESET'), 'network'],
    [
      'fetch failed around a refused socket',
      new TypeError('fetch failed', { cause: withCode('ECONNREFUSED') }),
      'network',
    ],
    ['undici connect timeout', withCode('UND_ERR_CONNECT_TIMEOUT'), 'timeout'],
    ['postgres.js connection closed', withCode('CONNECTION_CLOSED'), 'network'],
    [
      'drizzle around too many connections',
      new Error('Failed query', { cause: withCode('53300') }),
      'database unavailable',
    ],
    ['the database shutting down', withCode('57P01'), 'database unavailable'],
    ['the database starting up', withCode('57P03'), 'database unavailable'],
    ['a connection failure SQLSTATE', withCode('08006'), 'database unavailable'],
    ['a serialization failure', withCode('40001'), 'database busy'],
    ['a deadlock', withCode('40P01'), 'database busy'],
    ['a statement timeout', withCode('57014'), 'database busy'],
    ['the model provider at 429', apiError(429), 'rate limited'],
    ['the model provider at 503', apiError(503), 'provider unavailable'],
    [
      'the AI SDK giving up after retries',
      new RetryError({
        message: 'failed after 2 attempts',
        reason: 'maxRetriesExceeded',
        errors: [apiError(500), apiError(502)],
      }),
      'provider unavailable',
    ],
  ] as const)('%s → %s', (_label, err, kind) => {
    expect(failureKind(err)).toBe(kind);
    expect(isTransientError(err)).toBe(true);
  });

  it.each([
    ['a plain error', new Error('model configuration unreadable')],
    [
      'row-level security refusing a write',
      new Error('Failed query', { cause: withCode('42501') }),
    ],
    ['a unique violation', withCode('23505')],
    ['the model provider refusing the key (401)', apiError(401)],
    ['a bad request (400)', apiError(400)],
    ['not an error at all', 'boom'],
    ['null', null],
  ] as const)('%s → permanent', (_label, err) => {
    expect(failureKind(err)).toBe('permanent');
    expect(isTransientError(err)).toBe(false);
  });

  it('survives a cause cycle', () => {
    const a = new Error('a');
    const b = new Error('b', { cause: a });
    (a as { cause?: unknown }).cause = b;
    expect(failureKind(a)).toBe('permanent');
  });
});
