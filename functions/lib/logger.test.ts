import { describe, expect, it } from 'vitest';
import { createLogger } from './logger';

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
