import { describe, expect, it, vi } from 'vitest';
import { failedQuery, PERSONAL } from '../../test/failed-query';
import { createLogger, safeErrorFields } from './logger';

describe('logger', () => {
  it('writes one JSON line with request and correlation ids, and redacts secrets and bodies', () => {
    const lines: string[] = [];
    const log = createLogger({ requestId: 'req-1' }, 'info', (l) => lines.push(l)).child({
      correlationId: 'corr-9',
    });
    log.info('sent', {
      accessToken: 'EAAG',
      content: 'hola, mi cita',
      nested: { appSecret: 's', status: 'ok' },
      count: 2,
    });
    log.debug('hidden');
    expect(lines).toHaveLength(1);
    const entry = JSON.parse(lines[0] ?? '{}');
    expect(entry).toMatchObject({
      level: 'info',
      msg: 'sent',
      requestId: 'req-1',
      correlationId: 'corr-9',
      count: 2,
    });
    expect(entry.accessToken).toBe('[redacted]');
    expect(entry.content).toBe('[redacted]');
    expect(entry.nested).toEqual({ appSecret: '[redacted]', status: 'ok' });
    expect(lines[0]).not.toContain('hola');
  });
});

describe('logger: each level through its console method', () => {
  it('writes info, warn and error with console.info/warn/error, never console.log (npm start hides console.log)', () => {
    const spies = {
      log: vi.spyOn(console, 'log').mockImplementation(() => {}),
      info: vi.spyOn(console, 'info').mockImplementation(() => {}),
      warn: vi.spyOn(console, 'warn').mockImplementation(() => {}),
      error: vi.spyOn(console, 'error').mockImplementation(() => {}),
    };
    try {
      const log = createLogger({ requestId: 'req-2' }, 'info');
      log.info('started');
      log.warn('slow');
      log.error('failed');
      const msgs = (spy: (typeof spies)['info']) =>
        spy.mock.calls.map((call) => JSON.parse(String(call[0])).msg);
      expect(msgs(spies.info)).toEqual(['started']);
      expect(msgs(spies.warn)).toEqual(['slow']);
      expect(msgs(spies.error)).toEqual(['failed']);
      expect(spies.log).not.toHaveBeenCalled();
    } finally {
      for (const spy of Object.values(spies)) spy.mockRestore();
    }
  });
});

describe('safeErrorFields', () => {
  const lines: string[] = [];
  const log = createLogger({}, 'info', (l) => lines.push(l));
  const personal = [PERSONAL.name, '+34600', 'Llámame', 'params:'];

  it("logs a failed query's name, SQLSTATE and the database's message, never its parameters", async () => {
    const err = await failedQuery('rls');
    // The leak this guards against: drizzle's own message lists the parameters.
    expect(err.message).toContain(PERSONAL.name);
    expect(err.message).toContain(PERSONAL.phone);
    lines.length = 0;
    log.error('unhandled error', safeErrorFields(err));
    expect(lines).toHaveLength(1);
    expect(JSON.parse(lines[0] ?? '{}')).toMatchObject({
      error: 'DrizzleQueryError',
      code: '42501',
      detail: expect.stringContaining('row-level security'),
    });
    for (const word of personal) expect(lines[0]).not.toContain(word);
  });

  it('withholds values a data error quotes, and parameters embedded in a wrapping error', async () => {
    const quoted = await failedQuery('invalid-uuid');
    expect((quoted.cause as Error).message).toContain(PERSONAL.phone);
    const wrapped = new Error(`could not store the article: ${(await failedQuery('rls')).message}`);
    lines.length = 0;
    log.error('quoted', safeErrorFields(quoted));
    log.error('wrapped', safeErrorFields(wrapped));
    expect(lines).toHaveLength(2);
    for (const line of lines) for (const word of personal) expect(line).not.toContain(word);
    expect(JSON.parse(lines[0] ?? '{}')).toMatchObject({
      error: 'DrizzleQueryError',
      code: '22P02',
      detail: 'invalid input syntax for type uuid: [value withheld]',
    });
    expect(JSON.parse(lines[1] ?? '{}')).toMatchObject({ error: 'Error' });
  });

  it('keeps ordinary errors readable and does not stringify thrown non-errors', () => {
    expect(safeErrorFields(new TypeError('fetch failed'))).toEqual({
      error: 'TypeError',
      detail: 'fetch failed',
    });
    expect(safeErrorFields(PERSONAL.phone)).toEqual({
      error: 'string',
      detail: 'a non-Error value was thrown',
    });
  });
});
